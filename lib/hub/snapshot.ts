/**
 * Model repositories from the Hub into huggingface_hub's cache, so that Python and ext5 share downloads
 * (huggingface/huggingface_hub src/huggingface_hub/file_download.py and _snapshot_download.py; the layout is
 * documented in its docs/source/en/guides/manage-cache.md):
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, ~/.cache/huggingface/hub)
 *     models--{org}--{name}/
 *       blobs/{etag}                 the bytes; an LFS file's etag is its sha256, another file's its git oid
 *       snapshots/{commit}/{path}    relative symlinks into ../../blobs
 *       refs/{revision}              the commit a branch or tag pointed to when last resolved
 *
 * Only safetensors weights are fetched: nothing here ever reads a pickle (pytorch_model.bin).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { type HubOptions, hubCacheDir, isOffline } from './config';
import { globToRegExp, listTree, resolveCommit, resolveUrl } from './datasets';
import { type DownloadOptions, downloadFile } from './file';
import { offlineModeError } from './http';
import { checkRevision, checkSegment, isCommit, type TreeEntry } from './validate';
import { HASH_CACHE } from './verify';

export interface SnapshotOptions
  extends HubOptions,
    Pick<DownloadOptions, 'progress' | 'stream' | 'retries'> {
  /** Branch, tag or commit (default 'main'). */
  revision?: string;
  /** Only files matching one of these globs (`*` within a path segment); default all. */
  allowPatterns?: string[];
  /** Default: hubCacheDir() ($HF_HUB_CACHE or $HF_HOME/hub). */
  cacheDir?: string;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;

/**
 * Whether `s` names a Hub repo (`org/name`) rather than a local path: a path that exists always wins, and
 * ids follow huggingface_hub's validate_repo_id (no `--`, no `..`, no leading or trailing `.` or `-`).
 */
export function isHubId(s: string): boolean {
  if (fs.existsSync(s)) return false;
  if (!REPO_ID.test(s) || s.includes('--') || s.includes('..')) return false;
  return s.split('/').every((p) => !/^[.-]|[.-]$/.test(p));
}

function checkId(repoId: string): void {
  if (!REPO_ID.test(repoId) || repoId.includes('--') || repoId.includes('..')) {
    throw new Ext5Error(
      'HUB_BAD_ID',
      `'${repoId}' is not a Hub repo id`,
      'a model id looks like org/name, e.g. google-t5/t5-small',
    );
  }
}

/** The cache folder of a model repo: `<cacheDir>/models--org--name`. */
export function repoCacheDir(repoId: string, cacheDir = hubCacheDir()): string {
  return path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

function refFile(repoDir: string, revision: string): string {
  return path.join(repoDir, 'refs', ...checkRevision(revision).split('/'));
}

/** Records that branch or tag `revision` resolved to `commit` (refs/<revision>), as huggingface_hub does. */
function writeRef(repoDir: string, revision: string, commit: string): void {
  if (isCommit(revision)) return;
  const file = refFile(repoDir, revision);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8').trim();
  } catch {
    current = undefined;
  }
  if (current === commit) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileDurable(file, commit);
}

/**
 * The cached snapshot folder of `revision` (via refs/<revision> for a branch or tag), if there is one.
 * @throws Ext5Error HUB_BAD_CACHE when refs/<revision> holds something other than a commit id.
 */
export function cachedSnapshot(
  repoId: string,
  revision = 'main',
  cacheDir = hubCacheDir(),
): string | undefined {
  const repoDir = repoCacheDir(repoId, cacheDir);
  let commit = isCommit(revision) ? revision : undefined;
  if (!commit) {
    const file = refFile(repoDir, revision);
    try {
      commit = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!isCommit(commit)) {
      throw new Ext5Error(
        'HUB_BAD_CACHE',
        `${file} should hold a commit id (40 hex digits) but holds ${JSON.stringify(commit.slice(0, 80))}`,
        `delete ${file} (the next download with a network writes it again)`,
      );
    }
  }
  const dir = path.join(repoDir, 'snapshots', commit);
  return fs.existsSync(dir) ? dir : undefined;
}

/** The files of a snapshot folder, as repo paths. */
function snapshotFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

const matches = (p: string, patterns?: string[]) =>
  !patterns || patterns.some((g) => globToRegExp(g).test(p));

/** Errors that mean "no network" (as opposed to an answer from the Hub): fall back to the cache. */
function isConnectionError(e: unknown): boolean {
  return e instanceof Ext5Error && (e.code === 'OFFLINE' || e.code === 'HUB_TIMEOUT');
}

let noticed = false;

/**
 * Says on stderr, once per process, that the Hub could not be reached and a cached snapshot is used
 * instead (each later fallback is silent: one line, not one per file or per repo).
 */
function noticeCachedCopy(repoId: string, revision: string, dir: string, e: unknown): void {
  if (noticed) return;
  noticed = true;
  const why = e instanceof Ext5Error ? e.message : String(e);
  process.stderr.write(
    `ext5: the Hub cannot be reached (${why}); working from the cache (${repoId}@${revision}: commit ${path.basename(dir)})\n`,
  );
}

interface Listing {
  commit: string;
  entries: TreeEntry[];
}

async function listModel(repoId: string, revision: string, opts: HubOptions): Promise<Listing> {
  const commit = await resolveCommit(repoId, revision, opts, 'model');
  const entries = (await listTree(repoId, commit, '', opts, 'model')).filter((e) => e.type === 'file');
  return { commit, entries };
}

async function fetchFiles(
  repoId: string,
  revision: string,
  listing: Listing,
  files: TreeEntry[],
  opts: SnapshotOptions,
): Promise<string> {
  const repoDir = repoCacheDir(repoId, opts.cacheDir);
  const snap = path.join(repoDir, 'snapshots', listing.commit);
  writeRef(repoDir, revision, listing.commit);
  fs.mkdirSync(snap, { recursive: true });
  // Paths, oids and sizes were checked when listed (listTree, validate.ts).
  for (const e of files) {
    const link = path.join(snap, ...e.path.split('/'));
    const blobName = e.lfs?.oid ?? e.oid;
    if (!blobName) {
      throw new Ext5Error('HUB_BAD_ANSWER', `${repoId}: the listing gives no oid for ${e.path}`);
    }
    const blob = path.join(repoDir, 'blobs', blobName);
    const size = e.lfs?.size ?? e.size;
    const r = await downloadFile(
      {
        repo: repoId,
        revision: listing.commit,
        path: e.path,
        url: resolveUrl(repoId, listing.commit, e.path, opts, 'model'),
        ...(size !== undefined ? { size } : {}),
        ...(e.lfs?.oid ? { sha256: e.lfs.oid } : {}),
      },
      blob,
      { ...opts, partialSuffix: '.incomplete', hashCache: path.join(repoDir, HASH_CACHE) },
    );
    if (r.commit && r.commit !== listing.commit) {
      throw new Ext5Error(
        'HUB_COMMIT_MOVED',
        `${repoId}/${e.path}: the Hub served commit ${r.commit}, the listing was pinned to ${listing.commit}`,
        'run the command again',
      );
    }
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const target = path.relative(path.dirname(link), blob);
    let current: string | undefined;
    try {
      current = fs.readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current !== target) {
      fs.rmSync(link, { force: true });
      fs.symlinkSync(target, link);
    }
  }
  return snap;
}

/**
 * Downloads a model repo (or the files matching `allowPatterns`) into the shared cache and returns its
 * snapshot folder. Offline (HF_HUB_OFFLINE=1, `offline: true`, or no connection) it returns the cached
 * snapshot of `revision` instead, or a clear error when there is none.
 * @example
 * const dir = await snapshotDownload('google-t5/t5-small', { allowPatterns: ['config.json', '*.safetensors'] });
 */
export async function snapshotDownload(repoId: string, opts: SnapshotOptions = {}): Promise<string> {
  checkId(repoId);
  const revision = checkRevision(opts.revision ?? 'main');
  const offlineSnapshot = () => cachedSnapshot(repoId, revision, opts.cacheDir);
  if (isOffline(opts)) {
    const dir = offlineSnapshot();
    if (!dir)
      throw offlineModeError(
        `model ${repoId}@${revision}`,
        `nothing of it is cached in ${repoCacheDir(repoId, opts.cacheDir)}`,
      );
    return dir;
  }
  let listing: Listing;
  try {
    listing = await listModel(repoId, revision, opts);
  } catch (e) {
    const dir = isConnectionError(e) ? offlineSnapshot() : undefined;
    if (!dir) throw e;
    noticeCachedCopy(repoId, revision, dir, e);
    return dir;
  }
  const files = listing.entries.filter((e) => matches(e.path, opts.allowPatterns));
  return fetchFiles(repoId, revision, listing, files, opts);
}

/** The files of a T5 model repo ext5 loads, at a pinned commit. */
export interface ModelFiles {
  commit: string;
  /** config.json, the safetensors weights (one file, or the index and its shards), tokenizer files present. */
  files: string[];
}

const TOKENIZER_FILES = [
  'spiece.model',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'generation_config.json',
];

function pickFiles(repoId: string, names: Set<string>, shards: (index: string) => Promise<string[]>) {
  return (async () => {
    if (!names.has('config.json')) {
      throw new Ext5Error(
        'HUB_NOT_A_MODEL',
        `${repoId} has no config.json`,
        'name a transformers model repo (org/name)',
      );
    }
    let weights: string[];
    if (names.has('model.safetensors')) weights = ['model.safetensors'];
    else if (names.has('model.safetensors.index.json')) {
      const list = await shards('model.safetensors.index.json');
      const missing = list.filter((s) => !names.has(s));
      if (missing.length > 0) {
        throw new Ext5Error(
          'HUB_BAD_REPO',
          `${repoId}: model.safetensors.index.json names shards the repo lacks: ${missing.join(', ')}`,
        );
      }
      weights = ['model.safetensors.index.json', ...list];
    } else if (
      [...names].some((n) =>
        /^(pytorch_model.*\.bin(\.index\.json)?|tf_model\.h5|flax_model\.msgpack)$/.test(n),
      )
    ) {
      throw new Ext5Error(
        'HUB_NO_SAFETENSORS',
        `${repoId} has no safetensors weights (only PyTorch pickles or TF/Flax files, which ext5 never loads)`,
        'convert with transformers in Python: `AutoModelForSeq2SeqLM.from_pretrained(id).save_pretrained(dir, safe_serialization=True)`, then use dir (or push it to the Hub); or pick a revision that has model.safetensors (e.g. a refs/pr/N conversion PR)',
      );
    } else {
      throw new Ext5Error(
        'HUB_NO_WEIGHTS',
        `${repoId} has no model weights (model.safetensors or its index)`,
      );
    }
    return ['config.json', ...weights, ...TOKENIZER_FILES.filter((f) => names.has(f))];
  })();
}

function readShards(indexFile: string, repoId: string): string[] {
  let map: unknown;
  try {
    map = (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (e) {
    throw new Ext5Error(
      'HUB_BAD_REPO',
      `${repoId}: cannot read model.safetensors.index.json (${e instanceof Error ? e.message : e})`,
    );
  }
  if (!map || typeof map !== 'object')
    throw new Ext5Error('HUB_BAD_REPO', `${repoId}: model.safetensors.index.json has no weight_map`);
  const where = `weight_map of ${repoId}/model.safetensors.index.json`;
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards) {
    checkSegment(s, 'the shard', 'HUB_BAD_REPO', where);
    if (!(s as string).endsWith('.safetensors')) {
      throw new Ext5Error('HUB_BAD_REPO', `the shard '${s}' (${where}) is not a .safetensors file`);
    }
  }
  return (shards as string[]).sort();
}

/**
 * Which files of a model repo ext5 needs (see ModelFiles), at the commit `revision` points to; offline, from
 * the cached snapshot. A repo with only pytorch_model.bin is an error: pickles are never loaded.
 */
export async function resolveModelFiles(repoId: string, opts: SnapshotOptions = {}): Promise<ModelFiles> {
  checkId(repoId);
  const revision = checkRevision(opts.revision ?? 'main');
  let listing: Listing | undefined;
  if (!isOffline(opts)) {
    try {
      listing = await listModel(repoId, revision, opts);
    } catch (e) {
      const cached = isConnectionError(e) ? cachedSnapshot(repoId, revision, opts.cacheDir) : undefined;
      if (!cached) throw e;
      noticeCachedCopy(repoId, revision, cached, e);
    }
  }
  if (!listing) {
    const dir = cachedSnapshot(repoId, revision, opts.cacheDir);
    if (!dir)
      throw offlineModeError(
        `model ${repoId}@${revision}`,
        `nothing of it is cached in ${repoCacheDir(repoId, opts.cacheDir)}`,
      );
    const files = await pickFiles(repoId, new Set(snapshotFiles(dir)), async (idx) =>
      readShards(path.join(dir, idx), repoId),
    );
    return { commit: path.basename(dir), files };
  }
  const l = listing;
  const files = await pickFiles(repoId, new Set(l.entries.map((e) => e.path)), async (idx) => {
    const dir = await fetchFiles(
      repoId,
      revision,
      l,
      l.entries.filter((e) => e.path === idx),
      opts,
    );
    return readShards(path.join(dir, idx), repoId);
  });
  return { commit: l.commit, files };
}

/**
 * resolveModelFiles, then those files into the cache: the snapshot folder to load a T5 model from.
 * @example
 * const { dir } = await downloadModel('google-t5/t5-small');
 */
export async function downloadModel(
  repoId: string,
  opts: SnapshotOptions = {},
): Promise<ModelFiles & { dir: string }> {
  const m = await resolveModelFiles(repoId, opts);
  const revision = opts.revision ?? 'main';
  const dir = await snapshotDownload(repoId, {
    ...opts,
    revision: isOffline(opts) ? revision : m.commit,
    allowPatterns: m.files,
  });
  // The files were fetched at the pinned commit: record where the branch or tag pointed, so that offline
  // use and the synchronous loaders find this snapshot by its revision.
  if (path.basename(dir) === m.commit) writeRef(repoCacheDir(repoId, opts.cacheDir), revision, m.commit);
  return { ...m, dir };
}
