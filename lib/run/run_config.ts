/**
 * Run configuration for `ext5 pretrain | finetune | eval`: one typed {@link RunConfig}, flat commented
 * defaults in the nanoT5 manner, loaded from a preset, a JSON or YAML file and `--set key.path=value`
 * overrides, in that order, and validated key by key with the source of every bad value in the message.
 *
 * Every key lives in one table, {@link CONFIG_KEYS} (lib/run/config_keys.ts), from which the
 * RunConfig type itself is computed: the type, the defaults, the validation, `--set` and
 * docs/configuration.md (via {@link renderConfigReference}) cannot drift apart. What a run builds
 * from a config (batch rows, schedule, optimizer and pipeline options) is derived in
 * lib/run/derive.ts.
 *
 * @example
 * const cfg = loadRunConfig({ preset: 'tiny-demo', set: ['training.steps=50'] });
 * cfg.training.steps;              // 50
 * JSON.stringify(cfg);             // what the run directory keeps as config.json
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { parseHubRef } from '../hub';
import { presetNames as modelPresetNames } from '../model/t5_presets';
import { makeSchedule } from '../optim/schedules';
import { closestName, didYouMean, Ext5Error } from '../util/errors';
import {
  CONFIG_KEYS,
  type ConfigKey,
  type ConfigSources,
  configKeyPaths,
  type KeyType,
  type RunConfig,
} from './config_keys';
import { batchRows, crossError, scheduleSpec } from './derive';
import { RUN_PRESETS, runPreset, runPresetNames } from './run_presets';

const KEY_BY_PATH: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.path, k]));
const SECTIONS: readonly string[] = [...new Set(CONFIG_KEYS.map((k) => k.path.split('.')[0]!))];

function clone<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === undefined) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Reads a dotted path of a config (`getPath(cfg, 'training.steps')`). */
export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const p of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A fresh copy of the defaults (the ExT5 pre-training recipe). */
export function defaultRunConfig(): RunConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) setPath(out, k.path, clone(k.default));
  return out as unknown as RunConfig;
}

/** How the expected type reads in an error: "a positive integer", "a number in (0, 1)", ... */
export function describeType(t: KeyType): string {
  const orNull = (s: string, nullable?: boolean) => (nullable ? `${s} or null` : s);
  switch (t.kind) {
    case 'int': {
      let s: string;
      if (t.min === 1 && t.max === undefined) s = 'a positive integer';
      else if (t.min === 0 && t.max === undefined) s = 'an integer >= 0';
      else if (t.min !== undefined && t.max !== undefined) s = `an integer in [${t.min}, ${t.max}]`;
      else if (t.min !== undefined) s = `an integer >= ${t.min}`;
      else s = 'an integer';
      return orNull(s, t.nullable);
    }
    case 'number': {
      let s: string;
      if (t.min !== undefined && t.max !== undefined) {
        s = `a number in ${t.openMin ? '(' : '['}${t.min}, ${t.max}${t.openMax ? ')' : ']'}`;
      } else if (t.min !== undefined) {
        s = t.min === 0 && t.openMin ? 'a positive number' : `a number ${t.openMin ? '>' : '>='} ${t.min}`;
      } else s = 'a number';
      return orNull(s, t.nullable);
    }
    case 'bool':
      return 'true or false';
    case 'string':
      return orNull(t.patternText ?? 'a string', t.nullable);
    case 'enum':
      return `one of ${t.values.map((v) => `'${v}'`).join(', ')}`;
    case 'string[]':
      return 'a list of strings';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Checks one value against its key's type; returns the (possibly normalised) value.
 * `fromSet` allows the comma-separated form of lists that `--set` gives.
 */
function checkValue(key: ConfigKey, value: unknown, source: string, fromSet: boolean): unknown {
  const t = key.type;
  const fail = (): never => {
    let hint: string | undefined;
    if (t.kind === 'enum' && typeof value === 'string') {
      const d = didYouMean(value, t.values);
      if (d) hint = `did you mean '${closestName(value, t.values)}'?`;
    }
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${key.path}: expected ${describeType(t)}, got ${show(value)} (from ${source})`,
      hint ?? `default: ${show(key.default)}. ${key.doc}`,
    );
  };
  if (value === null) {
    if ((t.kind === 'int' || t.kind === 'number' || t.kind === 'string') && t.nullable) return null;
    return fail();
  }
  switch (t.kind) {
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail();
      if (t.kind === 'int' && !Number.isInteger(value)) return fail();
      if (t.min !== undefined && (value < t.min || (t.kind === 'number' && t.openMin && value === t.min)))
        return fail();
      if (t.max !== undefined && (value > t.max || (t.kind === 'number' && t.openMax && value === t.max)))
        return fail();
      return value;
    }
    case 'bool':
      return typeof value === 'boolean' ? value : fail();
    case 'string':
      if (typeof value !== 'string' || value === '') return fail();
      if (t.pattern && !t.pattern.test(value)) return fail();
      return value;
    case 'enum':
      return typeof value === 'string' && t.values.includes(value) ? value : fail();
    case 'string[]':
      if (fromSet && typeof value === 'string') {
        return value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      }
      if (Array.isArray(value) && value.every((x) => typeof x === 'string' && x !== '')) return [...value];
      return fail();
  }
}

function unknownKey(dotted: string, source: string): Ext5Error {
  const section = dotted.split('.')[0]!;
  const inSection = CONFIG_KEYS.filter((k) => k.path.startsWith(`${section}.`)).map((k) => k.path);
  // Suggest within the section first (a misspelt key), then across all keys (a misspelt section).
  const guess =
    closestName(dotted, inSection.length > 0 ? inSection : configKeyPaths()) ??
    closestName(dotted, configKeyPaths());
  return new Ext5Error(
    'EXT5_CONFIG',
    `unknown config key '${dotted}' (from ${source})${guess ? ` (did you mean '${guess}'?)` : ''}`,
    inSection.length > 0
      ? `keys of '${section}': ${inSection.map((p) => p.slice(section.length + 1)).join(', ')}`
      : `sections: ${SECTIONS.join(', ')} (every key is in docs/configuration.md)`,
  );
}

/** A resolved configuration and the source of each value. */
export interface ResolvedRunConfig {
  config: RunConfig;
  sources: ConfigSources;
}

/**
 * Applies a nested object of values (a parsed file, a preset) onto `target`, key by key.
 * Unknown keys, wrong types and out-of-range values throw Ext5Error EXT5_CONFIG naming `source`.
 */
function applyObject(
  target: RunConfig,
  sources: ConfigSources,
  obj: unknown,
  source: string,
  prefix = '',
): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${prefix ? `${prefix.slice(0, -1)}: ` : ''}expected a mapping of keys, got ${show(obj)} (from ${source})`,
      prefix
        ? `write it as '${prefix.slice(0, -1)}: { key: value, ... }'`
        : 'a config file holds sections such as `training: { steps: 1000 }`',
    );
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const dotted = `${prefix}${k}`;
    const key = KEY_BY_PATH.get(dotted);
    if (key) {
      setPath(target as unknown as Record<string, unknown>, dotted, checkValue(key, v, source, false));
      sources[dotted] = source;
    } else if (CONFIG_KEYS.some((c) => c.path.startsWith(`${dotted}.`))) {
      applyObject(target, sources, v, source, `${dotted}.`);
    } else {
      throw unknownKey(dotted, source);
    }
  }
}

/** Applies a flat map of dotted paths (what presets hold). */
function applyFlat(
  target: RunConfig,
  sources: ConfigSources,
  flat: Readonly<Record<string, unknown>>,
  source: string,
): void {
  for (const [dotted, v] of Object.entries(flat)) {
    const key = KEY_BY_PATH.get(dotted);
    if (!key) throw unknownKey(dotted, source);
    setPath(target as unknown as Record<string, unknown>, dotted, checkValue(key, clone(v), source, false));
    sources[dotted] = source;
  }
}

/**
 * Parses one `--set key.path=value`. The value is JSON when it parses as JSON (numbers, true/false,
 * null, lists, quoted strings), otherwise the literal string.
 * @example
 * parseSetArg('training.steps=100');  // { path: 'training.steps', value: 100 }
 * parseSetArg('model.config=t5-v1_1-base'); // { path: 'model.config', value: 't5-v1_1-base' }
 */
export function parseSetArg(arg: string): { path: string; value: unknown } {
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `--set '${arg}': expected key.path=value`,
      'e.g. --set training.steps=1000 --set eval.tasks=super_glue_cb,super_glue_rte',
    );
  }
  const dotted = arg.slice(0, eq).trim();
  const raw = arg.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: the literal string
  }
  return { path: dotted, value };
}

/** The largest config file read (a run config is a few KiB; anything near this is not one). */
export const MAX_CONFIG_FILE_BYTES = 1 << 20;
/**
 * The most values a config file may hold once its YAML aliases are expanded. Aliases share their
 * target, so a few lines of nested aliases (a "billion laughs" document) stand for billions of
 * values that every later step (validation, copying, printing) would walk.
 */
export const MAX_CONFIG_VALUES = 100_000;

/**
 * Reads a JSON or YAML config file (by extension; other extensions are tried as YAML, a superset of
 * JSON). An empty file, a file over {@link MAX_CONFIG_FILE_BYTES}, and a document that expands to
 * more than {@link MAX_CONFIG_VALUES} values are refused, naming the file.
 */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `config file '${file}' is not a regular file`,
        'pass a .yaml or .json file.',
      );
    }
    if (st.size > MAX_CONFIG_FILE_BYTES) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `config file '${file}' is ${st.size} bytes, more than a run config can be (${MAX_CONFIG_FILE_BYTES})`,
        'pass the run configuration file (a few keys per section; see docs/configuration.md).',
      );
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Ext5Error) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new Ext5Error(
      code === 'ENOENT' ? 'EXT5_FILE_NOT_FOUND' : 'EXT5_CONFIG',
      `cannot read config file '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'check the path (relative paths are from the current directory), or use --preset NAME.',
    );
  }
  const value = parseConfigText(file, text);
  if (value === null || value === undefined) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `config file '${file}' is empty (it holds no keys)`,
      'write the keys to change (e.g. `training: {steps: 1000}`), or leave out --config.',
    );
  }
  checkValueCount(value, file);
  return value;
}

function parseConfigText(file: string, text: string): unknown {
  if (/\.json$/i.test(file)) {
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      // Node reports a character offset; translate it to a line for people.
      const m = /position (\d+)/.exec(msg);
      const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${file}${line ? `:${line}` : ''}: not valid JSON (${msg})`,
        'fix the JSON syntax, or write the config as YAML (.yaml).',
      );
    }
  }
  try {
    return yaml.load(text, { filename: file });
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = e.mark ? `${file}:${e.mark.line + 1}:${e.mark.column + 1}` : file;
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${where}: not valid YAML (${e.reason ?? e.message})`,
      'check indentation (spaces, not tabs) and that every key is followed by ": ".',
    );
  }
}

/** Counts the values of a parsed document as its readers will walk them (shared aliases once per use), up to the limit. */
function checkValueCount(root: unknown, file: string): void {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++count > MAX_CONFIG_VALUES) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${file}: the document expands to more than ${MAX_CONFIG_VALUES} values (YAML aliases repeat what they point to)`,
        'write a run config with plain keys; aliases (*name) that nest other aliases multiply its size.',
      );
    }
    if (v !== null && typeof v === 'object') {
      for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push(x);
    }
  }
}

/** How a config is assembled: later sources override earlier ones. */
export interface LoadRunConfigOptions {
  /** A named run preset (`ext5-pretrain-small`, `tiny-demo`, ...); applied over the defaults. */
  preset?: string;
  /** A JSON or YAML file; may name its own base with a top-level `preset: NAME`. */
  file?: string;
  /** `key.path=value` strings, as given to `--set`. */
  set?: readonly string[];
  /** Nested values set by code (e.g. `{ run: { kind: 'finetune' } }`), applied after the file, before --set. */
  overrides?: unknown;
  /** Check that `model.config` names a preset or an existing file (default true). */
  checkPaths?: boolean;
}

/**
 * Builds a run configuration: defaults, then the preset, then the file, then `overrides`, then each
 * `--set`, then cross-key checks. Returns the config and the source of every value.
 * @throws Ext5Error EXT5_CONFIG naming the key, the expected type and the source of the bad value.
 */
export function resolveRunConfig(opts: LoadRunConfigOptions = {}): ResolvedRunConfig {
  const config = defaultRunConfig();
  const sources: ConfigSources = Object.fromEntries(CONFIG_KEYS.map((k) => [k.path, 'default']));
  let fileObj: unknown;
  let presetName = opts.preset;
  if (opts.file !== undefined) {
    fileObj = readConfigFile(opts.file);
    if (fileObj !== null && typeof fileObj === 'object' && !Array.isArray(fileObj)) {
      const { preset: filePreset, ...rest } = fileObj as Record<string, unknown>;
      if (filePreset !== undefined) {
        if (typeof filePreset !== 'string') {
          throw new Ext5Error(
            'EXT5_CONFIG',
            `preset: expected a preset name, got ${show(filePreset)} (from ${opts.file})`,
            `presets: ${runPresetNames().join(', ')}`,
          );
        }
        if (presetName !== undefined && presetName !== filePreset) {
          throw new Ext5Error(
            'EXT5_CONFIG',
            `${opts.file} names preset '${filePreset}' but --preset '${presetName}' was also given`,
            'give the preset in one place only.',
          );
        }
        presetName = filePreset;
      }
      fileObj = rest;
    }
  }
  if (presetName !== undefined) {
    applyFlat(config, sources, runPreset(presetName).values, `preset '${presetName}'`);
    if (config.run.name === null) {
      config.run.name = presetName;
      sources['run.name'] = `preset '${presetName}'`;
    }
  }
  if (opts.file !== undefined) {
    applyObject(config, sources, fileObj, opts.file);
    if (config.run.name === null) {
      config.run.name = path.basename(opts.file).replace(/\.(json|ya?ml)$/i, '');
      sources['run.name'] = opts.file;
    }
  }
  if (opts.overrides !== undefined) applyObject(config, sources, opts.overrides, 'code');
  for (const arg of opts.set ?? []) {
    const { path: dotted, value } = parseSetArg(arg);
    const key = KEY_BY_PATH.get(dotted);
    if (!key) throw unknownKey(dotted, '--set');
    setPath(config as unknown as Record<string, unknown>, dotted, checkValue(key, value, '--set', true));
    sources[dotted] = '--set';
  }
  checkCrossKeys(config, sources, opts.checkPaths ?? true);
  return { config, sources };
}

/**
 * {@link resolveRunConfig} without the sources.
 * @example
 * loadRunConfig({ file: 'run.yaml', set: ['optimizer.schedule=cosine', 'optimizer.lr=0.01'] });
 */
export function loadRunConfig(opts: LoadRunConfigOptions = {}): RunConfig {
  return resolveRunConfig(opts).config;
}

/**
 * Validates a complete config object, e.g. a run directory's config.json read back for resuming.
 * Missing keys take their defaults; unknown keys are errors.
 */
export function validateRunConfig(obj: unknown, source: string, checkPaths = false): RunConfig {
  const config = defaultRunConfig();
  const sources: ConfigSources = {};
  applyObject(config, sources, obj, source);
  checkCrossKeys(config, sources, checkPaths);
  return config;
}

function checkCrossKeys(c: RunConfig, sources: ConfigSources, checkPaths: boolean): void {
  batchRows(c, sources);
  // Build the schedule once: its own checks (warm-up within decay, minLr <= peak) then hold for the run.
  try {
    makeSchedule(scheduleSpec(c), 'optimizer');
  } catch (err) {
    if (!(err instanceof Ext5Error)) throw err;
    const keys = ['optimizer.schedule', 'optimizer.lr', 'optimizer.warmupSteps', 'optimizer.decaySteps'];
    throw crossError(
      err.message,
      keys,
      sources,
      'adjust optimizer.warmupSteps, optimizer.decaySteps or optimizer.minLr.',
    );
  }
  if (checkPaths) {
    const m = c.model.config;
    const presets = modelPresetNames();
    // A Hub id (org/name[@revision]) names that repo's config.json, fetched when the run starts.
    if (!presets.includes(m) && !fs.existsSync(m) && !parseHubRef(m)) {
      const looksLikePath = m.includes('/') || m.endsWith('.json');
      throw new Ext5Error(
        'EXT5_CONFIG',
        `model.config: '${m}' is neither a model preset nor an existing file (from ${sources['model.config'] ?? 'default'})${looksLikePath ? '' : didYouMean(m, presets)}`,
        `model presets: ${presets.join(', ')}; or the path of a Hugging Face config.json, or a Hub model id (org/name).`,
      );
    }
  }
}

/** The resolved config as the run directory keeps it (config.json): pretty JSON with a final newline. */
export function serializeRunConfig(c: RunConfig): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

/** A YAML rendering of a config with each key's meaning as a comment (for `--print-config`, starter files). */
export function renderConfigYaml(c: RunConfig): string {
  const lines: string[] = [];
  let section = '';
  for (const k of CONFIG_KEYS) {
    const [sec, name] = [k.path.split('.')[0]!, k.path.slice(k.path.indexOf('.') + 1)];
    if (sec !== section) {
      if (section) lines.push('');
      lines.push(`${sec}:`);
      section = sec;
    }
    const v = getPath(c, k.path);
    const text = yaml.dump(v, { flowLevel: 0 }).trimEnd();
    lines.push(`  ${name}: ${text}  # ${k.doc.replace(/`/g, '')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Markdown table of every key (docs/configuration.md embeds exactly this; a test checks it). */
export function renderConfigReference(): string {
  const out: string[] = [];
  let section = '';
  for (const k of CONFIG_KEYS) {
    const sec = k.path.split('.')[0]!;
    if (sec !== section) {
      if (section) out.push('');
      out.push(`### ${sec}`, '', '| key | type | default | meaning |', '|---|---|---|---|');
      section = sec;
    }
    const def = JSON.stringify(k.default);
    out.push(
      `| \`${k.path}\` | ${describeType(k.type).replace(/\|/g, '\\|')} | \`${def}\` | ${k.doc.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

export { CONFIG_KEYS, type ConfigSources, configKeyPaths, RUN_PRESETS, type RunConfig, runPresetNames };
