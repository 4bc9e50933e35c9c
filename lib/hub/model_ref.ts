/**
 * Model names as users write them: a local folder, or a Hub id (`org/name`, pinned with `org/name@revision`
 * where the revision is a branch, tag or commit). The async form downloads into huggingface_hub's cache;
 * the sync form only reads it, so synchronous loaders (fromPretrained, a run's model.checkpoint) work on a
 * snapshot fetched before, online or offline.
 */
import * as fs from 'node:fs';
import { Ext5Error } from '../util/errors';
import { hubCacheDir } from './config';
import { cachedSnapshot, downloadModel, isHubId, repoCacheDir, type SnapshotOptions } from './snapshot';
import { checkRevision } from './validate';

/** Where a Hub id's snapshot comes from: revision (or `id@revision`), endpoint, token, offline, cache folder. */
export type HubModelOptions = Pick<
  SnapshotOptions,
  'revision' | 'endpoint' | 'token' | 'offline' | 'cacheDir' | 'progress' | 'stream'
>;

/** Splits a model loader's options into its own and the HubModelOptions (those given, no undefined keys). */
export function splitHubModelOptions<T extends object>(
  opts: T & HubModelOptions,
): [Omit<T, keyof HubModelOptions>, HubModelOptions] {
  const { revision, endpoint, token, offline, cacheDir, progress, stream, ...rest } = opts;
  const hub = Object.fromEntries(
    Object.entries({ revision, endpoint, token, offline, cacheDir, progress, stream }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as HubModelOptions;
  return [rest, hub];
}

/** A Hub model named by id, with the revision `id@revision` or an option pinned it to. */
export interface HubModelRef {
  repoId: string;
  revision: string;
}

/**
 * The Hub repo `spec` names, or undefined when it names a local path (an existing path always wins) or is
 * no id at all. `revision` (e.g. `--revision`) applies when the spec has no `@revision` of its own; giving
 * both, differently, is an error.
 */
export function parseHubRef(spec: string, revision?: string): HubModelRef | undefined {
  const at = spec.indexOf('@');
  const id = at < 0 ? spec : spec.slice(0, at);
  const own = at < 0 ? undefined : spec.slice(at + 1);
  if (!isHubId(id) || (at >= 0 && fs.existsSync(spec))) return undefined;
  if (own !== undefined) checkRevision(own, spec);
  if (own !== undefined && revision !== undefined && own !== revision) {
    throw new Ext5Error(
      'HUB_BAD_ID',
      `'${spec}' pins revision ${own} but revision ${revision} was also asked for`,
      'give the revision once',
    );
  }
  return { repoId: id, revision: own ?? revision ?? 'main' };
}

/** The cached snapshot a Hub id names (see parseHubRef), if there is one. */
export function cachedModelDir(spec: string, opts: Pick<SnapshotOptions, 'revision' | 'cacheDir'> = {}) {
  const ref = parseHubRef(spec, opts.revision);
  return ref ? cachedSnapshot(ref.repoId, ref.revision, opts.cacheDir) : undefined;
}

/**
 * The folder to load a model from, without the network: `spec` itself when it is not a Hub id, else its
 * cached snapshot.
 * @throws Ext5Error HUB_MODEL_NOT_CACHED for a Hub id that was never downloaded, saying how to.
 */
export function localModelDir(
  spec: string,
  opts: Pick<SnapshotOptions, 'revision' | 'cacheDir'> = {},
): string {
  const ref = parseHubRef(spec, opts.revision);
  return ref ? cachedRefDir(ref, spec, opts.cacheDir) : spec;
}

/**
 * The cached snapshot of a Hub model already parsed (see parseHubRef); `spec` is how the user wrote it.
 * @throws Ext5Error HUB_MODEL_NOT_CACHED when that revision was never downloaded, saying how to.
 */
export function cachedRefDir(ref: HubModelRef, spec: string, cacheDir?: string): string {
  const dir = cachedSnapshot(ref.repoId, ref.revision, cacheDir);
  if (dir) return dir;
  throw new Ext5Error(
    'HUB_MODEL_NOT_CACHED',
    `${spec} is a Hub model id and revision ${ref.revision} is not in the cache (${repoCacheDir(ref.repoId, cacheDir ?? hubCacheDir())}), and this synchronous loader does not download`,
    `download it first: \`await fromPretrainedAsync('${spec}')\` in code, or \`ext5 eval --checkpoint ${spec} …\` / \`ext5 predict --checkpoint ${spec} …\`, which download; or pass a local folder`,
  );
}

/**
 * The folder to load a model from: `spec` itself when it is not a Hub id, else its snapshot, downloaded
 * into the cache (config.json, safetensors weights, tokenizer files) or, offline, the cached one.
 * @example
 * const dir = await fetchModelDir('google-t5/t5-small@main');
 */
export async function fetchModelDir(spec: string, opts: SnapshotOptions = {}): Promise<string> {
  const ref = parseHubRef(spec, opts.revision);
  return ref ? fetchRefDir(ref, spec, opts) : spec;
}

/**
 * The snapshot of a Hub model already parsed (see parseHubRef), downloaded into the cache or, offline,
 * the cached one; `spec` is how the user wrote it (a mistyped local path reads as an id too).
 */
export async function fetchRefDir(
  ref: HubModelRef,
  spec: string,
  opts: SnapshotOptions = {},
): Promise<string> {
  try {
    return (await downloadModel(ref.repoId, { ...opts, revision: ref.revision })).dir;
  } catch (e) {
    // A mistyped local path looks like an id too: say that both readings were tried.
    if (e instanceof Ext5Error && ['HUB_REPO_NOT_FOUND', 'OFFLINE', 'HUB_OFFLINE_MODE'].includes(e.code)) {
      throw new Ext5Error(
        e.code,
        `${e.message} (and there is no local folder ${spec})`,
        `${e.hint ? `${e.hint.replace(/\.?\s*$/, '.')} Or` : 'Or'} check the local path.`,
      );
    }
    throw e;
  }
}
