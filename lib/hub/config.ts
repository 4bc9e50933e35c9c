/**
 * Where the Hub is, who we are to it, and whether we may reach it: the environment variables huggingface_hub
 * reads (huggingface/huggingface_hub src/huggingface_hub/constants.py and utils/_auth.py), with the same
 * names, defaults and precedence, so a machine set up for Python (`huggingface-cli login`, HF_HOME,
 * HF_HUB_OFFLINE…) behaves the same for ext5.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface HubOptions {
  /** Default: $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** An explicit token; always sent (even with HF_HUB_DISABLE_IMPLICIT_TOKEN). Default: see hubToken(). */
  token?: string;
  /** No network at all (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Seconds to wait for an answer (or for the next bytes of a body) on metadata requests (default $HF_HUB_ETAG_TIMEOUT or 10). */
  etagTimeoutS?: number;
  /** Seconds to wait for the next bytes of a file download (default $HF_HUB_DOWNLOAD_TIMEOUT or 10). */
  downloadTimeoutS?: number;
  /**
   * Seconds a metadata request (revision, listing page) may take in all, first byte to last, however steadily
   * bytes arrive; a download gets this plus its size over downloadMinRate (default $EXT5_HUB_REQUEST_DEADLINE
   * or 60).
   */
  requestDeadlineS?: number;
  /** Bytes per second a download attempt must average, which sets its deadline (default $EXT5_HUB_DOWNLOAD_MIN_RATE or 32768). */
  downloadMinRate?: number;
  /** The largest JSON answer read, in bytes after decompression (default $EXT5_HUB_MAX_JSON_BYTES or 64 MiB). */
  maxJsonBytes?: number;
  /** The most pages a listing may have (default $EXT5_HUB_MAX_PAGES or 10000). */
  maxListPages?: number;
  /** Retries of a request answered 429 or 5xx, or cut off (default 5). */
  maxRetries?: number;
  /** First wait before a retry in ms, doubled each time up to 8 s (default 1000); Retry-After wins when sent. */
  retryDelayMs?: number;
  /** The longest Retry-After honoured, in ms (default 60 s): a longer one becomes an error now, not a hang. */
  maxRetryAfterMs?: number;
}

/** huggingface_hub's truthiness for environment flags (constants.py _is_true). */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());
}

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The Hub endpoint: the option, else $HF_ENDPOINT, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(opts: HubOptions = {}): string {
  return (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(): string {
  if (process.env.HF_HOME) return process.env.HF_HOME;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

/** The model/dataset cache huggingface_hub uses: $HF_HUB_CACHE, else $HF_HOME/hub. */
export function hubCacheDir(): string {
  return process.env.HF_HUB_CACHE || process.env.HUGGINGFACE_HUB_CACHE || path.join(hfHome(), 'hub');
}

/** The file `huggingface-cli login` writes: $HF_TOKEN_PATH, else $HF_HOME/token. */
export function tokenPath(): string {
  return process.env.HF_TOKEN_PATH || path.join(hfHome(), 'token');
}

/**
 * The token huggingface_hub would find (utils/_auth.py get_token): $HF_TOKEN, then $HUGGING_FACE_HUB_TOKEN
 * when HF_TOKEN is unset or empty, then the token file; trimmed, so the newline a file or a shell adds
 * does not end up in the header. Empty means none.
 */
export function storedToken(): string | undefined {
  const fromEnv = (process.env.HF_TOKEN ?? '').trim() || (process.env.HUGGING_FACE_HUB_TOKEN ?? '').trim();
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(tokenPath(), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token to send: the explicit option, else (unless HF_HUB_DISABLE_IMPLICIT_TOKEN is set) the stored one.
 */
export function hubToken(opts: HubOptions = {}): string | undefined {
  if (opts.token !== undefined) return opts.token.trim() || undefined;
  if (envFlag('HF_HUB_DISABLE_IMPLICIT_TOKEN')) return undefined;
  return storedToken();
}

/** Request headers for the Hub (the Authorization header only when a token is to be sent). */
export function hubHeaders(opts: HubOptions = {}): Record<string, string> {
  const token = hubToken(opts);
  return { 'user-agent': 'ext5', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

/** Whether the network is off: the option, else $HF_HUB_OFFLINE. */
export function isOffline(opts: HubOptions = {}): boolean {
  return opts.offline ?? envFlag('HF_HUB_OFFLINE');
}

/** Metadata request timeout in ms (option, $HF_HUB_ETAG_TIMEOUT, 10 s as in huggingface_hub). */
export function etagTimeoutMs(opts: HubOptions = {}): number {
  return 1000 * (opts.etagTimeoutS ?? envNumber('HF_HUB_ETAG_TIMEOUT') ?? 10);
}

/** Download stall timeout in ms (option, $HF_HUB_DOWNLOAD_TIMEOUT, 10 s as in huggingface_hub). */
export function downloadTimeoutMs(opts: HubOptions = {}): number {
  return 1000 * (opts.downloadTimeoutS ?? envNumber('HF_HUB_DOWNLOAD_TIMEOUT') ?? 10);
}

/** The deadline of a whole metadata request in ms (option, $EXT5_HUB_REQUEST_DEADLINE, 60 s). */
export function requestDeadlineMs(opts: HubOptions = {}): number {
  return 1000 * (opts.requestDeadlineS ?? envNumber('EXT5_HUB_REQUEST_DEADLINE') ?? 60);
}

/**
 * The deadline of one download attempt that is to fetch `bytes`, in ms: the request deadline plus the time
 * `bytes` take at the minimum rate (option, $EXT5_HUB_DOWNLOAD_MIN_RATE bytes/s, 32 KiB/s). A cut attempt
 * resumes where it stopped, with a deadline for what is left.
 */
export function downloadDeadlineMs(bytes: number, opts: HubOptions = {}): number {
  const rate = opts.downloadMinRate ?? envNumber('EXT5_HUB_DOWNLOAD_MIN_RATE') ?? 32 * 1024;
  return requestDeadlineMs(opts) + Math.ceil((1000 * bytes) / rate);
}

/** The largest JSON answer read, in bytes (option, $EXT5_HUB_MAX_JSON_BYTES, 64 MiB). */
export function maxJsonBytes(opts: HubOptions = {}): number {
  return Math.floor(opts.maxJsonBytes ?? envNumber('EXT5_HUB_MAX_JSON_BYTES') ?? 64 * 1024 * 1024);
}

/** The most pages one listing may have (option, $EXT5_HUB_MAX_PAGES, 10000). */
export function maxListPages(opts: HubOptions = {}): number {
  return Math.floor(opts.maxListPages ?? envNumber('EXT5_HUB_MAX_PAGES') ?? 10_000);
}
