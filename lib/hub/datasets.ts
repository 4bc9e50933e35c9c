/**
 * The Hugging Face Hub's dataset file listing and URLs, as huggingface_hub uses them
 * (huggingface/huggingface_hub src/huggingface_hub/hf_api.py list_repo_tree and repo_info,
 * file_download.py hf_hub_url):
 * - revision → commit: GET {endpoint}/api/{datasets|models}/{repo}/revision/{revision} answers `sha`; listing
 *   and downloads then use that commit, so a moving branch (refs/convert/parquet is rewritten on every
 *   re-conversion) cannot change under a download and give 404s or hash mismatches;
 * - listing: GET {endpoint}/api/datasets/{repo}/tree/{commit}/{path}?recursive=true, paginated by a
 *   `Link: <…>; rel="next"` header; LFS entries carry `lfs.oid` (the file's sha256) and `lfs.size`;
 * - download: GET {endpoint}/datasets/{repo}/resolve/{commit}/{path} (redirects to the CDN);
 * - Parquet exports (huggingface/dataset-viewer, the parquet-and-info job) live on `refs/convert/parquet`, as
 *   `{config}/{split}/NNNN.parquet`; a split too big to convert whole is exported partially as
 *   `{config}/partial-{split}/NNNN.parquet`, a split with very many files in `{config}/{split}-partK/`
 *   folders; older exports used `{config}/{name}-{split}[-NNNNN-of-NNNNN].parquet`.
 */
import { Ext5Error } from '../util/errors';
import { type HubOptions, hubEndpoint, maxListPages } from './config';
import { hubRequest } from './http';
import {
  checkCommit,
  checkSegment,
  checkTreeLayout,
  isCommit,
  nextLink,
  parseTreePage,
  type TreeEntry,
} from './validate';

export const PARQUET_REVISION = 'refs/convert/parquet';

/** A file to fetch: where it is in the repo, its URL, and what it must be. */
export interface RemoteFile {
  repo: string;
  /** The commit the listing was pinned to (or the revision as given, when it is a commit already). */
  revision: string;
  path: string;
  url: string;
  size?: number;
  sha256?: string;
}

export type RepoType = 'dataset' | 'model';

type ListOptions = HubOptions & { manualHint?: string };

export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function prefix(type: RepoType): string {
  return type === 'dataset' ? 'datasets/' : '';
}

/** The download URL of a file of a repo at a revision. */
export function resolveUrl(
  repo: string,
  revision: string,
  path: string,
  opts: HubOptions = {},
  type: RepoType = 'dataset',
): string {
  return `${hubEndpoint(opts)}/${prefix(type)}${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** The commit a branch or tag points to now (a commit id is returned as is). */
export async function resolveCommit(
  repo: string,
  revision: string,
  opts: ListOptions = {},
  type: RepoType = 'dataset',
): Promise<string> {
  if (isCommit(revision)) return revision;
  const url = `${hubEndpoint(opts)}/api/${type}s/${repo}/revision/${encodeURIComponent(revision)}`;
  const r = await hubRequest(url, { ...opts, what: `resolving ${repo}@${revision}` });
  const info = (await r.json()) as { sha?: unknown } | null;
  if (info?.sha !== undefined) return checkCommit(info.sha, 'sha', url);
  if (r.commit !== undefined) return checkCommit(r.commit, 'X-Repo-Commit', url);
  throw new Ext5Error('HUB_BAD_ANSWER', `${url}: no commit (sha) in the answer`);
}

/**
 * Lists the files under `dir` of a repo at `revision` (recursive, all pages); pin `revision` first. Every
 * entry is checked (validate.ts); a page that repeats, or more than maxListPages() pages, is HUB_PAGINATION.
 */
export async function listTree(
  repo: string,
  revision: string,
  dir: string,
  opts: ListOptions = {},
  type: RepoType = 'dataset',
): Promise<TreeEntry[]> {
  let url: string | undefined =
    `${hubEndpoint(opts)}/api/${type}s/${repo}/tree/${encodeURIComponent(revision)}${dir ? `/${encodePath(dir)}` : ''}?recursive=true`;
  const first = url;
  const out: TreeEntry[] = [];
  const seen = new Set<string>();
  const maxPages = maxListPages(opts);
  while (url) {
    if (seen.has(url)) {
      throw new Ext5Error(
        'HUB_PAGINATION',
        `listing ${repo}@${revision}: the next page ${url} repeats an earlier one (after ${seen.size} pages)`,
        'the server is not paginating as the Hub does: check HF_ENDPOINT (or --endpoint)',
      );
    }
    if (seen.size >= maxPages) {
      throw new Ext5Error(
        'HUB_PAGINATION',
        `listing ${repo}@${revision}: more than ${maxPages} pages, starting at ${first}`,
        'raise EXT5_HUB_MAX_PAGES if the repository really has that many files',
      );
    }
    seen.add(url);
    const r = await hubRequest(url, { ...opts, what: `listing ${repo}@${revision}/${dir}` });
    out.push(...parseTreePage(await r.json(), url));
    url = nextLink(r.res.headers.get('link'), url);
  }
  checkTreeLayout(out, first);
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

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const byPath = (a: { path: string }, b: { path: string }) =>
  a.path.localeCompare(b.path, 'en', { numeric: true });

/** The Parquet export of one config and split, and whether the Hub exported only part of the split. */
export interface ParquetExport {
  commit: string;
  files: RemoteFile[];
  /** True when the split was too big to convert whole (`partial-{split}/`): the files hold its first rows. */
  partial: boolean;
}

/**
 * The Parquet export files of one config and split, pinned to the commit refs/convert/parquet points to
 * now: the current layout (whole, partial, or in -partK folders) or the older one.
 */
export async function listParquetExport(
  repo: string,
  config: string,
  split: string,
  opts: ListOptions = {},
): Promise<ParquetExport> {
  checkSegment(config, 'the config', 'HUB_BAD_ID', repo);
  checkSegment(split, 'the split', 'HUB_BAD_ID', repo);
  const commit = await resolveCommit(repo, PARQUET_REVISION, opts);
  // No folder for the config is no export of it (the caller says so, naming config and split).
  const listed = await listTree(repo, commit, config, opts).catch((e: unknown) => {
    if (e instanceof Ext5Error && e.code === 'HUB_ENTRY_NOT_FOUND') return [];
    throw e;
  });
  const entries = listed.filter((e) => e.type === 'file' && e.path.endsWith('.parquet'));
  const c = reEscape(config);
  const s = reEscape(split);
  const whole = new RegExp(`^${c}/${s}(-part\\d+)?/[^/]+\\.parquet$`);
  const partial = new RegExp(`^${c}/partial-${s}(-part\\d+)?/[^/]+\\.parquet$`);
  const old = new RegExp(`^${c}/[^/]*-${s}(-\\d{5}-of-\\d{5})?\\.parquet$`);
  let picked = entries.filter((e) => whole.test(e.path) || old.test(e.path));
  let isPartial = false;
  if (picked.length === 0) {
    picked = entries.filter((e) => partial.test(e.path));
    isPartial = picked.length > 0;
  }
  return {
    commit,
    partial: isPartial,
    files: picked.sort(byPath).map((e) => toRemote(repo, commit, e, opts)),
  };
}

/** The Parquet export files of one config and split (see listParquetExport). */
export async function listParquetFiles(
  repo: string,
  config: string,
  split: string,
  opts: ListOptions = {},
): Promise<RemoteFile[]> {
  return (await listParquetExport(repo, config, split, opts)).files;
}

/**
 * The local name of an export file inside its split folder: its own name, with the `-partK` folder folded
 * in (`part00003-0000.parquet`) so that the files of several parts do not overwrite each other.
 */
export function localParquetName(remotePath: string): string {
  const parts = remotePath.split('/');
  const base = parts.at(-1)!;
  const m = /-part(\d+)$/.exec(parts.at(-2) ?? '');
  return m ? `part${m[1]!.padStart(5, '0')}-${base}` : base;
}

/** Converts a glob (`*` within a path segment, `?`) to a RegExp over the whole path. */
export function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** The repo files (on `main`, pinned to its commit) matching a glob such as `en/c4-train.*-of-01024.json.gz`. */
export async function listRepoFiles(
  repo: string,
  pattern: string,
  opts: ListOptions & { revision?: string } = {},
): Promise<RemoteFile[]> {
  const commit = await resolveCommit(repo, opts.revision ?? 'main', opts);
  const dir = pattern.includes('/') ? pattern.slice(0, pattern.lastIndexOf('/')) : '';
  const re = globToRegExp(pattern);
  const entries = await listTree(repo, commit, dir, opts);
  return entries
    .filter((e) => e.type === 'file' && re.test(e.path))
    .sort(byPath)
    .map((e) => toRemote(repo, commit, e, opts));
}
