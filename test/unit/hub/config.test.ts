// Tokens, cache folders, offline flag and timeouts from the environment, as huggingface_hub reads them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  downloadTimeoutMs,
  etagTimeoutMs,
  hubCacheDir,
  hubHeaders,
  hubToken,
  isHubId,
  isOffline,
  tokenPath,
} from '../../../lib/hub';

const VARS = [
  'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN',
  'HF_TOKEN_PATH',
  'HF_HOME',
  'HF_HUB_CACHE',
  'HUGGINGFACE_HUB_CACHE',
  'XDG_CACHE_HOME',
  'HF_HUB_DISABLE_IMPLICIT_TOKEN',
  'HF_HUB_OFFLINE',
  'HF_HUB_ETAG_TIMEOUT',
  'HF_HUB_DOWNLOAD_TIMEOUT',
];
const saved: Record<string, string | undefined> = {};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hubcfg-'));

beforeEach(() => {
  for (const v of VARS) {
    saved[v] = process.env[v];
    delete process.env[v];
  }
  // Never read the real ~/.cache/huggingface/token of the machine running the tests.
  process.env.HF_HOME = path.join(tmp, 'home');
});
afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('token', () => {
  it('takes HF_TOKEN first, trimmed', () => {
    process.env.HF_TOKEN = ' hf_a\n';
    process.env.HUGGING_FACE_HUB_TOKEN = 'hf_b';
    expect(hubToken()).toBe('hf_a');
    expect(hubHeaders().authorization).toBe('Bearer hf_a');
  });

  it('falls back to HUGGING_FACE_HUB_TOKEN when HF_TOKEN is unset or empty', () => {
    process.env.HUGGING_FACE_HUB_TOKEN = 'hf_b';
    expect(hubToken()).toBe('hf_b');
    process.env.HF_TOKEN = '';
    expect(hubToken()).toBe('hf_b');
    process.env.HF_TOKEN = '  ';
    expect(hubToken()).toBe('hf_b');
  });

  it('reads the file `huggingface-cli login` writes ($HF_HOME/token, or $HF_TOKEN_PATH), without its newline', () => {
    fs.mkdirSync(process.env.HF_HOME!, { recursive: true });
    fs.writeFileSync(path.join(process.env.HF_HOME!, 'token'), 'hf_file\n');
    expect(tokenPath()).toBe(path.join(process.env.HF_HOME!, 'token'));
    expect(hubToken()).toBe('hf_file');
    expect(hubHeaders().authorization).toBe('Bearer hf_file');
    const other = path.join(tmp, 'other-token');
    fs.writeFileSync(other, 'hf_path\r\n');
    process.env.HF_TOKEN_PATH = other;
    expect(hubToken()).toBe('hf_path');
    // The environment still wins over the file.
    process.env.HF_TOKEN = 'hf_env';
    expect(hubToken()).toBe('hf_env');
  });

  it('defaults HF_HOME to $XDG_CACHE_HOME/huggingface, then ~/.cache/huggingface', () => {
    delete process.env.HF_HOME;
    process.env.XDG_CACHE_HOME = path.join(tmp, 'xdg');
    expect(tokenPath()).toBe(path.join(tmp, 'xdg', 'huggingface', 'token'));
    expect(hubCacheDir()).toBe(path.join(tmp, 'xdg', 'huggingface', 'hub'));
    delete process.env.XDG_CACHE_HOME;
    expect(hubCacheDir()).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    process.env.HF_HUB_CACHE = '/x/hub';
    expect(hubCacheDir()).toBe('/x/hub');
  });

  it('sends no implicit token with HF_HUB_DISABLE_IMPLICIT_TOKEN, an explicit one still', () => {
    process.env.HF_TOKEN = 'hf_env';
    process.env.HF_HUB_DISABLE_IMPLICIT_TOKEN = '1';
    expect(hubToken()).toBeUndefined();
    expect(hubHeaders().authorization).toBeUndefined();
    expect(hubHeaders({ token: 'hf_explicit' }).authorization).toBe('Bearer hf_explicit');
    process.env.HF_HUB_DISABLE_IMPLICIT_TOKEN = 'false';
    expect(hubToken()).toBe('hf_env');
  });
});

describe('offline and timeouts', () => {
  it('reads HF_HUB_OFFLINE with huggingface_hub truthiness; the option wins', () => {
    expect(isOffline()).toBe(false);
    for (const v of ['1', 'true', 'YES', 'on']) {
      process.env.HF_HUB_OFFLINE = v;
      expect(isOffline()).toBe(true);
    }
    process.env.HF_HUB_OFFLINE = '0';
    expect(isOffline()).toBe(false);
    expect(isOffline({ offline: true })).toBe(true);
  });

  it('reads HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT (seconds, default 10)', () => {
    expect(etagTimeoutMs()).toBe(10_000);
    expect(downloadTimeoutMs()).toBe(10_000);
    process.env.HF_HUB_ETAG_TIMEOUT = '2.5';
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = '60';
    expect(etagTimeoutMs()).toBe(2500);
    expect(downloadTimeoutMs()).toBe(60_000);
    expect(etagTimeoutMs({ etagTimeoutS: 1 })).toBe(1000);
    process.env.HF_HUB_ETAG_TIMEOUT = 'soon';
    expect(etagTimeoutMs()).toBe(10_000);
  });
});

describe('isHubId', () => {
  it('tells org/name from a local path; a path that exists wins', () => {
    expect(isHubId('google-t5/t5-small')).toBe(true);
    expect(isHubId('org/name.v2_x')).toBe(true);
    for (const s of [
      't5-small',
      './org/name',
      '/abs/path',
      'a/b/c',
      'org/na--me',
      'org/..',
      'org/name.',
      '-org/x',
      '',
    ]) {
      expect([s, isHubId(s)]).toEqual([s, false]);
    }
    const cwd = process.cwd();
    fs.mkdirSync(path.join(tmp, 'org', 'model'), { recursive: true });
    process.chdir(tmp);
    try {
      expect(isHubId('org/model')).toBe(false);
      expect(isHubId('org/other')).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});
