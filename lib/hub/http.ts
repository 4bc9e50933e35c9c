/**
 * One HTTP request to the Hub, the way huggingface_hub makes it (utils/_http.py http_backoff and
 * hf_raise_for_status; file_download.py for redirects and headers):
 * - 429 and 5xx answers and cut connections are retried with exponential backoff (1 s doubling to 8 s,
 *   5 retries), honouring `Retry-After`;
 * - every request has an idle timeout (no answer, or no next body bytes, within it aborts the attempt) and
 *   an overall deadline (so that a reply trickling one byte at a time ends too);
 * - redirects are followed by hand so that the first answer's `X-Repo-Commit`, `X-Linked-Etag`/`ETag` and
 *   `X-Linked-Size` are kept, and the token is not sent on to another origin (the CDN);
 * - bodies are read with a bound: JSON answers up to maxJsonBytes(), downloads up to what was promised;
 * - a failed answer becomes a clear error from its `X-Error-Code` (RepoNotFound, RevisionNotFound,
 *   EntryNotFound, GatedRepo) and `X-Error-Message`: the Hub answers 401 for a repo that does not exist too.
 */
import { Ext5Error } from '../util/errors';
import {
  envFlag,
  etagTimeoutMs,
  type HubOptions,
  hubEndpoint,
  hubHeaders,
  isOffline,
  maxJsonBytes,
  requestDeadlineMs,
} from './config';
import { badAnswer, headerSize } from './validate';

/** A successful answer, with what the Hub said before any redirect. */
export interface HubResponse {
  res: Response;
  /** The commit the revision resolved to (`X-Repo-Commit` of the first answer), when sent. */
  commit?: string;
  /** `X-Linked-Etag` (LFS files: their sha256), else `ETag`, without quotes. Never used as a path. */
  etag?: string;
  /** `X-Linked-Size`, else the Content-Length of an unencoded answer. */
  size?: number;
  /** The Content-Length of this answer's body when it is not encoded (gzip…): the bytes it promises. */
  length?: number;
  /**
   * The body's chunks (decoded); each one resets the idle timer. With `maxBytes`, a body that runs past it is
   * cut before the chunk that would pass it is handed out: HUB_TOO_LARGE, saying it was `expected`.
   */
  chunks(maxBytes?: number, expected?: string): AsyncIterable<Uint8Array>;
  /** The body as JSON, at most maxJsonBytes() of it. */
  json(): Promise<unknown>;
  /** Drops the body (and the timers). */
  cancel(): Promise<void>;
}

export interface RequestOptions extends HubOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Idle timeout in ms: the longest wait for an answer or the next body bytes (default: etagTimeoutMs()). */
  timeoutMs?: number;
  /**
   * The whole attempt's deadline in ms, from sending to the body's last byte (default requestDeadlineMs()).
   * A function gets the size the answer announces (X-Linked-Size or Content-Length) once its headers are in.
   */
  deadlineMs?: number | ((announced: number | undefined) => number);
  /** Appended to error hints (e.g. where to put the files by hand). */
  manualHint?: string;
  /** What the request is for, in error messages (e.g. "listing org/x@main"). */
  what?: string;
  /** Don't retry a cut connection (the caller resumes instead). */
  noNetworkRetry?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The wait a Retry-After header asks for (seconds or an HTTP date), in ms. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header.trim());
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function stripEtag(v: string | null): string | undefined {
  if (!v) return undefined;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

/** Turns a fetch failure (no HTTP answer) into a clear "offline" error. */
export function networkError(err: unknown, url: string, hint: string): Ext5Error {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new Ext5Error('OFFLINE', `cannot reach ${url} (${detail})`, hint);
}

/**
 * The error offline mode gives when something is not on disk. It names what turned offline mode on:
 * HF_HUB_OFFLINE (what a CLI user sets), else the `offline: true` option (only code passes it).
 * `hint` is one or more sentences of further advice.
 */
export function offlineModeError(what: string, hint = ''): Ext5Error {
  const byEnv = envFlag('HF_HUB_OFFLINE');
  return new Ext5Error(
    'HUB_OFFLINE_MODE',
    `${what}: ${byEnv ? 'HF_HUB_OFFLINE is set' : 'offline: true was passed'} and it is not on disk`,
    `${byEnv ? 'unset HF_HUB_OFFLINE' : 'pass offline: false'} to fetch it.${hint ? ` ${sentence(hint)}` : ''}`,
  );
}

/** `s` as a sentence: a capital first letter and a final period. */
export function sentence(s: string): string {
  const t = s.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/**
 * Maps a failed HTTP answer to a clear error. `errorCode`/`errorMessage` are the Hub's X-Error-Code and
 * X-Error-Message headers (absent on older servers and proxies).
 */
export function httpError(
  status: number,
  url: string,
  what: string,
  manualHint: string,
  errorCode?: string | null,
  errorMessage?: string | null,
): Ext5Error {
  const said = errorMessage ? `: ${errorMessage}` : '';
  const tail = manualHint ? ` ${manualHint}` : '';
  if (
    errorCode === 'RepoNotFound' ||
    (status === 401 && !errorCode && /not found/i.test(errorMessage ?? ''))
  ) {
    return new Ext5Error(
      'HUB_REPO_NOT_FOUND',
      `${what}: repository not found on the Hub (${status} for ${url})${said}`,
      `check the id (org/name). A private repo needs a token that can read it (HF_TOKEN or \`huggingface-cli login\`).${tail}`,
    );
  }
  if (errorCode === 'RevisionNotFound') {
    return new Ext5Error(
      'HUB_REVISION_NOT_FOUND',
      `${what}: revision not found on the Hub (${status} for ${url})${said}`,
      `check the branch, tag or commit.${tail}`,
    );
  }
  if (errorCode === 'EntryNotFound') {
    return new Ext5Error(
      'HUB_ENTRY_NOT_FOUND',
      `${what}: file not found in the repository (${status} for ${url})${said}`,
      `check the file name and the revision.${tail}`,
    );
  }
  if (errorCode === 'GatedRepo') {
    return new Ext5Error(
      'HUB_GATED',
      `${what}: the repository is gated (${status} for ${url})${said}`,
      `accept its terms on its Hub page, then set HF_TOKEN (or run \`huggingface-cli login\`) with a token of that account.${tail}`,
    );
  }
  if (status === 401 || status === 403) {
    return new Ext5Error(
      'HUB_AUTH',
      `${what}: the Hub answered ${status} for ${url}${said}`,
      `the token is missing, invalid or lacks access (the dataset may be gated or private): set HF_TOKEN (or run \`huggingface-cli login\`) with a token that can read it.${tail}`,
    );
  }
  if (status === 404) {
    return new Ext5Error(
      'HUB_NOT_FOUND',
      `${what}: not found on the Hub (404 for ${url})${said}`,
      `check the id, config and split.${tail}`,
    );
  }
  return new Ext5Error(
    'HUB_HTTP',
    `${what}: the Hub answered ${status} for ${url}${said}`,
    `try again later.${tail}`,
  );
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

const seconds = (ms: number) => `${Math.round(ms) / 1000} s`;

/** The origin the token belongs to: the endpoint's (undefined when the endpoint is no URL). */
function tokenOrigin(opts: HubOptions): string | undefined {
  try {
    return new URL(hubEndpoint(opts)).origin;
  } catch {
    return undefined;
  }
}

/**
 * GET (or HEAD) `url` with the Hub's headers, retries, timeouts and redirects; throws a clear Ext5Error
 * for anything but a 2xx (or a 416 to a Range request, returned so that the caller can judge its file).
 * The token goes only to the endpoint's origin: a redirect elsewhere drops it for the rest of the chain.
 * @example
 * const r = await hubRequest(`${hubEndpoint()}/api/models/org/name/revision/main`, { what: 'model info' });
 */
export async function hubRequest(url: string, opts: RequestOptions = {}): Promise<HubResponse> {
  const what = opts.what ?? 'request';
  const hint = opts.manualHint ?? '';
  if (isOffline(opts)) throw offlineModeError(`${what} (${url})`, hint);
  const maxRetries = opts.maxRetries ?? 5;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 60_000;
  const idleMs = opts.timeoutMs ?? etagTimeoutMs(opts);
  const deadlineOpt = opts.deadlineMs ?? requestDeadlineMs(opts);
  let delay = opts.retryDelayMs ?? 1000;
  const { authorization, ...plainHeaders } = { ...hubHeaders(opts), ...(opts.headers ?? {}) };
  const authOrigin = tokenOrigin(opts);
  const ranged = Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === 'range');
  for (let attempt = 0; ; attempt++) {
    const ctrl = new AbortController();
    const started = Date.now();
    let idle: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let deadlineMs = typeof deadlineOpt === 'number' ? deadlineOpt : deadlineOpt(undefined);
    let fired: 'idle' | 'deadline' | undefined;
    // unref: a caller that reads `res` itself (not chunks()) leaves them armed; that must not hold the process.
    const armIdle = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        fired ??= 'idle';
        ctrl.abort(new Error(`no answer for ${seconds(idleMs)}`));
      }, idleMs).unref();
    };
    const armDeadline = () => {
      if (deadline) clearTimeout(deadline);
      deadline = setTimeout(
        () => {
          fired ??= 'deadline';
          ctrl.abort(new Error(`not done within ${seconds(deadlineMs)}`));
        },
        Math.max(0, started + deadlineMs - Date.now()),
      ).unref();
    };
    const disarm = () => {
      if (idle) clearTimeout(idle);
      if (deadline) clearTimeout(deadline);
      idle = deadline = undefined;
    };
    const backoff = async (wait?: number) => {
      await sleep(wait ?? delay);
      delay = Math.min(delay * 2, 8000);
    };
    let current = url;
    const timeoutError = () =>
      fired === 'deadline'
        ? new Ext5Error(
            'HUB_TIMEOUT',
            `${what}: ${current} did not finish answering within ${seconds(deadlineMs)}`,
            `raise EXT5_HUB_REQUEST_DEADLINE (seconds), or lower EXT5_HUB_DOWNLOAD_MIN_RATE (bytes/s) for downloads, on a slow network.${hint ? ` ${hint}` : ''}`,
          )
        : new Ext5Error(
            'HUB_TIMEOUT',
            `${what}: no answer from ${current} within ${seconds(idleMs)}`,
            `raise HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT (seconds) on a slow network.${hint ? ` ${hint}` : ''}`,
          );
    let trusted = true;
    let first: Response | undefined;
    let res: Response;
    armDeadline();
    try {
      for (let hop = 0; ; hop++) {
        // Once a hop leaves the endpoint's origin the chain is in other hands: no token for any later hop.
        trusted &&= new URL(current).origin === authOrigin;
        armIdle();
        res = await fetch(current, {
          method: opts.method ?? 'GET',
          headers: trusted && authorization ? { ...plainHeaders, authorization } : plainHeaders,
          redirect: 'manual',
          signal: ctrl.signal,
        });
        first ??= res;
        const loc = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && loc && hop < 10) {
          await res.body?.cancel();
          let next: URL;
          try {
            next = new URL(loc, current);
          } catch {
            throw badAnswer('the Location header', loc, 'is no URL', current);
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            throw badAnswer('the Location header', loc, 'points to something that is not http(s)', current);
          }
          current = next.toString();
          continue;
        }
        break;
      }
    } catch (err) {
      disarm();
      if (err instanceof Ext5Error) throw err;
      // No server or no name (refused, unknown host) will not change in seconds; a reset or a stall may.
      const code = (err as { cause?: { code?: string } })?.cause?.code ?? '';
      const hopeless = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
      if (attempt < maxRetries && !opts.noNetworkRetry && !hopeless) {
        await backoff();
        continue;
      }
      throw ctrl.signal.aborted
        ? timeoutError()
        : networkError(
            err,
            current,
            `check the network (or HF_ENDPOINT); offline, set HF_HUB_OFFLINE=1 to use what is on disk. ${hint}`,
          );
    }
    if (RETRY_STATUS.has(res.status) && attempt < maxRetries) {
      disarm();
      await res.body?.cancel();
      const wait = retryAfterMs(res.headers.get('retry-after'));
      if (wait !== undefined && wait > maxRetryAfter) {
        throw new Ext5Error(
          'HUB_RATE_LIMITED',
          `${what}: the Hub asks to wait ${Math.round(wait / 1000)} s before retrying (${res.status} for ${current})`,
          `run the command again later; a token (HF_TOKEN) gets higher rate limits.${hint ? ` ${hint}` : ''}`,
        );
      }
      await backoff(wait);
      continue;
    }
    // 416 is for the caller to judge only when it asked for a range.
    if (!res.ok && !(res.status === 416 && ranged)) {
      disarm();
      await res.body?.cancel();
      throw httpError(
        res.status,
        current,
        what,
        hint,
        res.headers.get('x-error-code') ?? first?.headers.get('x-error-code'),
        res.headers.get('x-error-message') ?? first?.headers.get('x-error-message'),
      );
    }
    const f = first ?? res;
    const body = res.body;
    const fail = async (e: Ext5Error) => {
      disarm();
      await body?.cancel().catch(() => undefined);
      return e;
    };
    const encoding = (res.headers.get('content-encoding') ?? '').trim().toLowerCase();
    let length: number | undefined;
    let linked: number | undefined;
    try {
      length =
        encoding === '' || encoding === 'identity'
          ? headerSize(res.headers.get('content-length'), 'Content-Length', current)
          : undefined;
      linked = headerSize(f.headers.get('x-linked-size'), 'X-Linked-Size', url);
    } catch (e) {
      throw await fail(e as Ext5Error);
    }
    const size = linked ?? length;
    if (typeof deadlineOpt === 'function') {
      deadlineMs = deadlineOpt(size);
      armDeadline();
    }
    const commit = f.headers.get('x-repo-commit');
    const etag = stripEtag(f.headers.get('x-linked-etag') ?? f.headers.get('etag'));
    const out: HubResponse = {
      res,
      ...(commit ? { commit } : {}),
      ...(etag !== undefined ? { etag } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(length !== undefined ? { length } : {}),
      async *chunks(maxBytes?: number, expected = 'expected') {
        let n = 0;
        try {
          if (!body) return;
          armIdle();
          for await (const c of body as unknown as AsyncIterable<Uint8Array>) {
            n += c.length;
            if (maxBytes !== undefined && n > maxBytes) {
              throw new Ext5Error(
                'HUB_TOO_LARGE',
                `${what}: ${current} sent more than the ${maxBytes} bytes ${expected}; cut there`,
                `the server sends more than it promised: check HF_ENDPOINT (or --endpoint) and any proxy in between.${hint ? ` ${hint}` : ''}`,
              );
            }
            armIdle();
            yield c;
          }
        } catch (err) {
          if (err instanceof Ext5Error) throw err;
          if (ctrl.signal.aborted && fired) throw timeoutError();
          throw new Ext5Error(
            'OFFLINE',
            `${what}: the answer from ${current} broke off after ${n} bytes (${err instanceof Error ? err.message : String(err)})`,
            `check the network and run the command again.${hint ? ` ${hint}` : ''}`,
          );
        } finally {
          disarm();
        }
      },
      async json() {
        const limit = maxJsonBytes(opts);
        const parts: Uint8Array[] = [];
        for await (const c of out.chunks(limit, 'allowed for a JSON answer (EXT5_HUB_MAX_JSON_BYTES)'))
          parts.push(c);
        try {
          return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
        } catch {
          throw new Ext5Error('HUB_BAD_ANSWER', `${what}: ${current} did not answer JSON`);
        }
      },
      async cancel() {
        disarm();
        await body?.cancel();
      },
    };
    return out;
  }
}
