/**
 * The Hugging Face Hub's dataset file listing and URLs, as huggingface_hub uses them
 * (huggingface/huggingface_hub src/huggingface_hub/hf_api.py list_repo_tree, file_download.py hf_hub_url):
 * - listing: GET {endpoint}/api/datasets/{repo}/tree/{revision}/{path}?recursive=true, paginated by a
 *   `Link: <…>; rel="next"` header; LFS entries carry `lfs.oid` (the file's sha256) and `lfs.size`;
 * - download: GET {endpoint}/datasets/{repo}/resolve/{revision}/{path} (redirects to the CDN);
 * - Parquet exports live on the `refs/convert/parquet` revision, as `{config}/{split}/NNNN.parquet`
 *   (older exports: `{config}/{name}-{split}[-NNNNN-of-NNNNN].parquet`).
 * HF_ENDPOINT overrides the endpoint and HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) is sent as a Bearer token,
 * as huggingface_hub does.
 */
import { Ext5Error } from '../util/errors';

export const PARQUET_REVISION = 'refs/convert/parquet';

export interface HubOptions {
  /** Default: $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Default: $HF_TOKEN or $HUGGING_FACE_HUB_TOKEN. */
  token?: string;
}

/** A file to fetch: where it is in the repo, its URL, and what it must be. */
export interface RemoteFile {
  repo: string;
  revision: string;
  path: string;
  url: string;
  size?: number;
  sha256?: string;
}

interface TreeEntry {
  type: string;
  path: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; size?: number };
}

/** The Hub endpoint: the option, else $HF_ENDPOINT, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(opts: HubOptions = {}): string {
  return (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** The token: the option, else $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN. */
export function hubToken(opts: HubOptions = {}): string | undefined {
  return opts.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN ?? undefined;
}

/** Request headers for the Hub (the Authorization header only when a token is set). */
export function hubHeaders(opts: HubOptions = {}): Record<string, string> {
  const token = hubToken(opts);
  return { 'user-agent': 'ext5', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** The download URL of a file of a dataset repo at a revision. */
export function resolveUrl(repo: string, revision: string, path: string, opts: HubOptions = {}): string {
  return `${hubEndpoint(opts)}/datasets/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** Turns a fetch failure (no HTTP answer) into a clear "offline" error. */
export function networkError(err: unknown, url: string, hint: string): Ext5Error {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new Ext5Error('OFFLINE', `cannot reach ${url} (${detail})`, hint);
}

/** Maps a failed HTTP answer to a clear error (401/403 token or gated, 404 id/config/split). */
export function httpError(status: number, url: string, what: string, manualHint: string): Ext5Error {
  if (status === 401 || status === 403) {
    return new Ext5Error(
      'HUB_AUTH',
      `${what}: the Hub answered ${status} for ${url}`,
      `the dataset may be gated or private: accept its terms on the Hub and set HF_TOKEN to a token that can read it. ${manualHint}`,
    );
  }
  if (status === 404) {
    return new Ext5Error(
      'HUB_NOT_FOUND',
      `${what}: not found on the Hub (404 for ${url})`,
      `check the dataset id, config and split. ${manualHint}`,
    );
  }
  return new Ext5Error(
    'HUB_HTTP',
    `${what}: the Hub answered ${status} for ${url}`,
    `try again later. ${manualHint}`,
  );
}

function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="next"/.exec(header);
  return m?.[1];
}

/** Lists the files under `dir` of a dataset repo at `revision` (recursive, all pages). */
export async function listTree(
  repo: string,
  revision: string,
  dir: string,
  opts: HubOptions & { manualHint?: string } = {},
): Promise<TreeEntry[]> {
  const hint = opts.manualHint ?? '';
  let url: string | undefined =
    `${hubEndpoint(opts)}/api/datasets/${repo}/tree/${encodeURIComponent(revision)}/${encodePath(dir)}?recursive=true`;
  const out: TreeEntry[] = [];
  while (url) {
    let res: Response;
    try {
      res = await fetch(url, { headers: hubHeaders(opts) });
    } catch (err) {
      throw networkError(
        err,
        url,
        `check the network (or HF_ENDPOINT); offline, put the files in place yourself. ${hint}`,
      );
    }
    if (!res.ok) throw httpError(res.status, url, `listing ${repo}@${revision}/${dir}`, hint);
    const page = (await res.json()) as unknown;
    if (!Array.isArray(page)) throw new Ext5Error('HUB_BAD_ANSWER', `listing ${url}: expected a JSON array`);
    out.push(...(page as TreeEntry[]));
    url = nextLink(res.headers.get('link'));
  }
  return out;
}

function toRemote(repo: string, revision: string, e: TreeEntry, opts: HubOptions): RemoteFile {
  const size = e.lfs?.size ?? e.size;
  return {
    repo,
    revision,
    path: e.path,
    url: resolveUrl(repo, revision, e.path, opts),
    ...(size !== undefined ? { size } : {}),
    ...(e.lfs?.oid ? { sha256: e.lfs.oid } : {}),
  };
}

/** The Parquet export files of one config and split (both the current and the older layout). */
export async function listParquetFiles(
  repo: string,
  config: string,
  split: string,
  opts: HubOptions & { manualHint?: string } = {},
): Promise<RemoteFile[]> {
  const entries = await listTree(repo, PARQUET_REVISION, config, opts);
  const oldLayout = new RegExp(
    `-${split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-\\d{5}-of-\\d{5})?\\.parquet$`,
  );
  return entries
    .filter((e) => e.type === 'file' && e.path.endsWith('.parquet'))
    .filter(
      (e) =>
        e.path.startsWith(`${config}/${split}/`) ||
        (e.path.split('/').length === 2 && oldLayout.test(e.path)),
    )
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((e) => toRemote(repo, PARQUET_REVISION, e, opts));
}

/** Converts a glob (`*` within a path segment, `?`) to a RegExp over the whole path. */
export function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** The repo files (on `main`) matching a glob such as `en/c4-train.*-of-01024.json.gz`. */
export async function listRepoFiles(
  repo: string,
  pattern: string,
  opts: HubOptions & { manualHint?: string; revision?: string } = {},
): Promise<RemoteFile[]> {
  const revision = opts.revision ?? 'main';
  const dir = pattern.includes('/') ? pattern.slice(0, pattern.lastIndexOf('/')) : '';
  const re = globToRegExp(pattern);
  const entries = await listTree(repo, revision, dir, opts);
  return entries
    .filter((e) => e.type === 'file' && re.test(e.path))
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((e) => toRemote(repo, revision, e, opts));
}
