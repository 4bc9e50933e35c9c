/**
 * A local Hugging Face Hub for tests (unit and e2e): two HTTP servers on 127.0.0.1 at random ports, one the
 * Hub, one its CDN, answering as the real ones do (huggingface/huggingface_hub hf_api.py, file_download.py,
 * utils/_http.py describe the protocol):
 * - GET /api/{datasets|models}/{repo}/revision/{rev} → { id, sha } (the commit the branch points to now);
 * - GET /api/{type}s/{repo}/tree/{rev}/{dir}?recursive=true, `pageSize` entries a page, then
 *   `Link: <…>; rel="next"`; LFS entries carry lfs.oid (sha256) and lfs.size;
 * - GET|HEAD /[datasets/]{repo}/resolve/{rev}/{path}: LFS files answer 302 to the CDN (another port) with
 *   X-Repo-Commit, X-Linked-Etag, X-Linked-Size; small files answer 200 with ETag (their git oid);
 * - the CDN serves Range requests (206 + Content-Range);
 * - unknown repos: 401 + X-Error-Code RepoNotFound (as the Hub answers when it will not say whether a repo
 *   exists); unknown revisions: 404 RevisionNotFound; unknown files: 404 EntryNotFound; gated repos: 401
 *   GatedRepo without a token, 403 GatedRepo with a token that was not granted access;
 * - faults injected per URL: an answer status (429 with Retry-After, 5xx) a number of times, a body cut after
 *   N bytes, a stall, or a handler of the test's own (a hostile answer: a bad listing, an endless body…).
 * `startOrigin` starts a plain server on another loopback address (127.0.0.2): a second origin that logs
 * what reaches it, for checking that tokens stay with the Hub.
 * Branches move: setFiles() on an existing branch makes a new commit, and old commits stay readable.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type RepoType = 'dataset' | 'model';

export interface RepoFile {
  path: string;
  body: Buffer;
  /** Stored in LFS (default: true for files over 1 kB and for .parquet/.safetensors files). */
  lfs?: boolean;
}

export interface Fault {
  /** Which requests (a substring of the decoded URL path, or a test). */
  match: string | ((url: string) => boolean);
  on?: 'hub' | 'cdn';
  /** Answer this status instead. */
  status?: number;
  retryAfter?: string;
  /** Send this many body bytes, then cut the connection. */
  cutAfter?: number;
  /** Wait this long before answering (ms). */
  stallMs?: number;
  /** How many times (default 1). */
  times?: number;
  /** Answer with this instead (after any stall); it owns `res` and must end it or destroy its socket. */
  respond?: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;
}

export interface LoggedRequest {
  on: 'hub' | 'cdn';
  method: string;
  url: string;
  range?: string;
  auth?: string;
}

interface Repo {
  branches: Map<string, string>;
  commits: Map<string, Map<string, RepoFile>>;
  gated?: { granted: Set<string> };
  /** Tokens that can see a private repo. */
  private?: Set<string>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) =>
  createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
    .digest('hex');

function isLfs(f: RepoFile): boolean {
  return f.lfs ?? (f.body.length > 1024 || /\.(parquet|safetensors)$/.test(f.path));
}

export class LocalHub {
  endpoint = '';
  cdnUrl = '';
  pageSize = 1000;
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly blobs = new Map<string, Buffer>();
  private hub!: http.Server;
  private cdn!: http.Server;
  private counter = 0;

  static async start(): Promise<LocalHub> {
    const h = new LocalHub();
    h.hub = http.createServer((req, res) => void h.serveHub(req, res));
    h.cdn = http.createServer((req, res) => void h.serveCdn(req, res));
    const listen = (s: http.Server) =>
      new Promise<string>((r) =>
        s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
      );
    h.endpoint = await listen(h.hub);
    h.cdnUrl = await listen(h.cdn);
    return h;
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  /** Sets the files of `branch` (a new commit); returns the commit id. */
  setFiles(type: RepoType, id: string, branch: string, files: RepoFile[]): string {
    const key = `${type}:${id}`;
    const repo = this.repos.get(key) ?? { branches: new Map(), commits: new Map() };
    this.repos.set(key, repo);
    const commit = createHash('sha1')
      .update(`${key}@${branch}#${this.counter++}`)
      .digest('hex');
    const map = new Map<string, RepoFile>();
    for (const f of files) {
      map.set(f.path, f);
      if (isLfs(f)) this.blobs.set(sha256(f.body), f.body);
    }
    repo.commits.set(commit, map);
    repo.branches.set(branch, commit);
    return commit;
  }

  /** Makes a repo gated: only `granted` tokens may download its files. */
  gate(type: RepoType, id: string, granted: string[] = []): void {
    this.repo(type, id).gated = { granted: new Set(granted) };
  }

  /** Makes a repo private: without one of `tokens` it answers as an unknown repo does. */
  makePrivate(type: RepoType, id: string, tokens: string[]): void {
    this.repo(type, id).private = new Set(tokens);
  }

  /** The listing entry the Hub gives for a file (lfs.oid is its sha256). */
  static entry(f: RepoFile) {
    return isLfs(f)
      ? {
          type: 'file',
          path: f.path,
          size: f.body.length,
          oid: gitOid(f.body),
          lfs: { oid: sha256(f.body), size: f.body.length, pointerSize: 134 },
        }
      : { type: 'file', path: f.path, size: f.body.length, oid: gitOid(f.body) };
  }

  requests(on?: 'hub' | 'cdn', contains?: string): LoggedRequest[] {
    return this.log.filter((l) => (!on || l.on === on) && (!contains || l.url.includes(contains)));
  }

  private repo(type: RepoType, id: string): Repo {
    const r = this.repos.get(`${type}:${id}`);
    if (!r) throw new Error(`LocalHub: no ${type} ${id}`);
    return r;
  }

  private fault(on: 'hub' | 'cdn', url: string): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => (f.on ?? 'hub') === on && (typeof f.match === 'string' ? url.includes(f.match) : f.match(url)),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async applyFault(
    on: 'hub' | 'cdn',
    url: string,
    res: http.ServerResponse,
    req: http.IncomingMessage,
  ): Promise<Fault | undefined> {
    const f = this.fault(on, url);
    if (!f) return undefined;
    // unref: a stalled answer must not keep the test process alive after close().
    if (f.stallMs) await new Promise((r) => setTimeout(r, f.stallMs).unref());
    if (f.respond) {
      await f.respond(req, res);
      return f;
    }
    if (f.status) {
      if (f.retryAfter !== undefined) res.setHeader('retry-after', f.retryAfter);
      res.statusCode = f.status;
      res.end('injected');
      return f;
    }
    return f.cutAfter !== undefined ? f : undefined;
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string): void {
    res.statusCode = status;
    res.setHeader('x-error-code', code);
    res.setHeader('x-error-message', message);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: message }));
  }

  private async serveHub(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const u = new URL(raw, this.endpoint);
    const url = decodeURIComponent(u.pathname);
    const auth = req.headers.authorization;
    this.log.push({
      on: 'hub',
      method: req.method ?? 'GET',
      url: decodeURIComponent(raw),
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(auth ? { auth } : {}),
    });
    if (await this.applyFault('hub', url, res, req).then((f) => f?.status || f?.respond)) return;
    const token = auth?.replace(/^Bearer /, '');
    // /api/{type}s/{org}/{name}/{revision|tree}/{rev}[/{path}]
    const api = /^\/api\/(datasets|models)\/([^/]+\/[^/]+)\/(revision|tree)\/(.+)$/.exec(url);
    const dl = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/(.+)$/.exec(url);
    const type: RepoType | undefined = api
      ? api[1] === 'datasets'
        ? 'dataset'
        : 'model'
      : dl
        ? dl[1]
          ? 'dataset'
          : 'model'
        : undefined;
    const id = api?.[2] ?? dl?.[2];
    const repo = type && id ? this.repos.get(`${type}:${id}`) : undefined;
    if (!type || !id) return this.error(res, 404, 'NotFound', 'Not Found');
    if (!repo || (repo.private && !(token && repo.private.has(token)))) {
      return this.error(res, 401, 'RepoNotFound', 'Repository not found');
    }
    const rest = api ? api[4]! : dl![3]!;
    // Revisions may contain slashes (refs/convert/parquet): take the longest known branch, or a commit.
    let rev: string | undefined;
    let commit: string | undefined;
    for (const [b, c] of repo.branches) {
      if ((rest === b || rest.startsWith(`${b}/`)) && (!rev || b.length > rev.length)) {
        rev = b;
        commit = c;
      }
    }
    const head = rest.split('/')[0]!;
    if (!rev && repo.commits.has(head)) {
      rev = head;
      commit = head;
    }
    if (!rev || !commit)
      return this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rest.split('/')[0]}`);
    const files = repo.commits.get(commit)!;
    const sub = rest.slice(rev.length).replace(/^\//, '');
    if (api?.[3] === 'revision') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ id, sha: commit, siblings: [...files.keys()].map((rfilename) => ({ rfilename })) }),
      );
      return;
    }
    if (api) {
      const all = [...files.values()]
        .filter((f) => !sub || f.path.startsWith(`${sub}/`))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
      if (sub && all.length === 0)
        return this.error(res, 404, 'EntryNotFound', `${sub} does not exist on "${rev}"`);
      const dirs = new Set<string>();
      for (const f of all) {
        const parts = f.path.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      }
      const entries = [
        ...[...dirs]
          .filter((d) => !sub || d.startsWith(`${sub}/`))
          .map((d) => ({ type: 'directory', path: d, oid: gitOid(Buffer.from(d)), size: 0 })),
        ...all.map((f) => LocalHub.entry(f)),
      ];
      const cursor = Number(u.searchParams.get('cursor') ?? '0');
      const page = entries.slice(cursor, cursor + this.pageSize);
      if (cursor + this.pageSize < entries.length) {
        const next = new URL(u.toString());
        next.searchParams.set('cursor', String(cursor + this.pageSize));
        res.setHeader('link', `<${this.endpoint}${next.pathname}${next.search}>; rel="next"`);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(page));
      return;
    }
    const f = files.get(sub);
    if (!f) return this.error(res, 404, 'EntryNotFound', `${sub} does not exist on "${rev}"`);
    if (repo.gated && !(token && repo.gated.granted.has(token))) {
      return this.error(
        res,
        token ? 403 : 401,
        'GatedRepo',
        `Access to model ${id} is restricted and you are not in the authorized list.`,
      );
    }
    res.setHeader('x-repo-commit', commit);
    if (isLfs(f)) {
      const sha = sha256(f.body);
      res.setHeader('x-linked-etag', `"${sha}"`);
      res.setHeader('x-linked-size', String(f.body.length));
      res.setHeader('etag', `"${gitOid(f.body)}"`);
      res.statusCode = 302;
      res.setHeader('location', `${this.cdnUrl}/blob/${sha}?sig=local`);
      res.end();
      return;
    }
    res.setHeader('etag', `"${gitOid(f.body)}"`);
    res.setHeader('content-length', String(f.body.length));
    res.end(req.method === 'HEAD' ? undefined : f.body);
  }

  private async serveCdn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = decodeURIComponent(new URL(req.url ?? '/', this.cdnUrl).pathname);
    const auth = req.headers.authorization;
    this.log.push({
      on: 'cdn',
      method: req.method ?? 'GET',
      url,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(auth ? { auth } : {}),
    });
    const fault = await this.applyFault('cdn', url, res, req);
    if (fault?.status || fault?.respond) return;
    const body = this.blobs.get(url.replace(/^\/blob\//, ''));
    if (!body) {
      res.statusCode = 404;
      res.end('no such blob');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.statusCode = 416;
        res.setHeader('content-range', `bytes */${body.length}`);
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${body.length - 1}/${body.length}`);
    }
    const part = body.subarray(start);
    res.setHeader('content-length', String(part.length));
    res.setHeader('accept-ranges', 'bytes');
    if (fault?.cutAfter !== undefined) {
      res.write(part.subarray(0, fault.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : part);
  }
}

/** A plain server on another loopback address: a second origin, logging each request and its token. */
export interface Origin {
  url: string;
  readonly log: LoggedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a server on `host` (a loopback address: 127.0.0.2 is another origin than the Hub's 127.0.0.1)
 * answering with `handler`, default an empty JSON listing.
 */
export async function startOrigin(
  host: '127.0.0.1' | '127.0.0.2',
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('[]');
  },
): Promise<Origin> {
  const log: LoggedRequest[] = [];
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    log.push({ on: 'cdn', method: req.method ?? 'GET', url: req.url ?? '/', ...(auth ? { auth } : {}) });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    log,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** sha256 of a buffer (hex), for expectations. */
export { sha256 as sha256Hex };
