// `ext5 tasks`, `ext5 mixtures` and `ext5 data download` as a user runs them (dist/ must be built).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalHub } from '../helpers/hub_server';
import { writeParquet } from '../unit/data/sources/parquet_writer';

const BIN = path.join(__dirname, '..', '..', 'dist', 'bin', 'ext5.js');

function ext5(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('ext5 tasks / mixtures', () => {
  it('lists the tasks as JSON, filtered by family', async () => {
    const all = await ext5(['tasks', 'list', '--json']);
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as Array<{
      name: string;
      family: string | null;
      verified: string | null;
    }>;
    expect(rows.length).toBeGreaterThanOrEqual(107 + 17);
    // Each row says how its source was checked (null = not checked).
    expect(
      rows.every((r) => r.verified === null || (typeof r.verified === 'string' && r.verified !== '')),
    ).toBe(true);
    expect(rows.find((r) => r.name === 'super_glue_boolq')?.verified).toMatch(/dataset_infos\.json/);
    const nli = JSON.parse((await ext5(['tasks', 'list', '--family', 'nli', '--json'])).stdout) as Array<{
      family: string;
    }>;
    expect(nli.every((r) => r.family === 'nli')).toBe(true);
  });

  it('says which datasets are not on the Hub and which read a loading script era Parquet export', async () => {
    const list = await ext5(['tasks', 'list', '--family', 'classification']);
    const row = list.stdout.split('\n').find((l) => l.startsWith('gpt2_output_detection '));
    expect(row).toMatch(/ github\.com\/openai\/gpt-2-output-dataset \(not a Hub dataset; manual\)$/);
    const rows = JSON.parse((await ext5(['tasks', 'list', '--json'])).stdout) as Array<{
      name: string;
      verified: string | null;
      home: string | null;
    }>;
    const by = new Map(rows.map((r) => [r.name, r]));
    expect(by.get('gpt2_output_detection')?.home).toBe('https://github.com/openai/gpt-2-output-dataset');
    expect(by.get('super_glue_boolq')?.home).toBeNull();
    for (const name of [
      'reddit_tifu_long',
      'wikisql',
      'empathetic_dialogues_emotion',
      'rainbow_physicaliqa',
      'rainbow_socialiqa',
    ])
      expect({ name, verified: by.get(name)?.verified }).toEqual({
        name,
        verified: expect.stringMatching(/export the Hub made while the dataset used a loading script/),
      });
  });

  it('inspects a built-in task with token lengths from the built-in vocabulary', async () => {
    const r = await ext5([
      'tasks',
      'inspect',
      'mini_word_problems',
      '-n',
      '2',
      '--split',
      'validation',
      '--vocab',
      'mini',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.source).toBe('data');
    expect(out.items).toHaveLength(2);
    expect(out.items[0].examples[0].inputs).toMatch(/^math problem: /);
    expect(out.items[0].tokenLengths[0].inputs).toBeGreaterThan(5);
  });

  it('inspects a span-corruption task as training sees it: sentinels in the inputs, the spans as targets', async () => {
    const r = await ext5([
      'tasks',
      'inspect',
      'mini_c4_span_corruption',
      '-n',
      '2',
      '--vocab',
      'mini',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.note).toMatch(/span-corrupted as in training/);
    for (const item of out.items) {
      const ex = item.examples[0];
      expect(ex.targets).not.toBe(item.record.text);
      expect(ex.inputs).toMatch(/<extra_id_0>/);
      expect(ex.targets).toMatch(/^<extra_id_0> /);
      // Every sentinel of the inputs opens one span of the targets.
      const sentinels = (s: string) => s.match(/<extra_id_\d+>/g) ?? [];
      expect(sentinels(ex.targets)).toEqual(sentinels(ex.inputs));
      expect(item.tokenLengths[0].inputs).toBeLessThanOrEqual(128);
      expect(item.tokenLengths[0].targets).toBeGreaterThan(1);
    }
  });

  it('loads no native addon (no libtorch) for list, inspect and mixtures', async () => {
    const script = `
      const { main } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'main.js'))});
      (async () => {
        for (const argv of [['tasks', 'list', '--json'], ['tasks', 'inspect', 'mini_topic', '--json'], ['mixtures', 'inspect', 'ext5_pretrain', '--json']]) await main(argv);
        const loaded = Object.keys(require.cache).filter((k) => k.endsWith('.node') || k.includes('/lib/native/'));
        process.stderr.write('NATIVE:' + JSON.stringify(loaded));
      })();`;
    const r = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['-e', script], { maxBuffer: 1 << 24 }, (_e, _o, stderr) => resolve(stderr));
    });
    expect(r).toContain('NATIVE:[]');
  });

  it('suggests the closest name on a typo and exits 1', async () => {
    const r = await ext5(['tasks', 'inspect', 'super_glue_boolk']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown task 'super_glue_boolk' (did you mean 'super_glue_boolq'?)");
  });

  it('shows mixture shares, and ext5_pretrain with other R and K', async () => {
    const r = await ext5(['mixtures', 'inspect', 'ext5_pretrain', '--R', '4', '--json']);
    expect(r.code).toBe(0);
    const c4 = JSON.parse(r.stdout).tasks.find((t: { task: string }) => t.task === 'c4_span_corruption');
    expect(c4.share).toBeCloseTo(0.8, 10);
    const list = await ext5(['mixtures', 'list']);
    expect(list.stdout).toMatch(/^mini_exmix\s+14 tasks/m);
  });
});

describe('ext5 data download', () => {
  let hub: LocalHub;
  // A real Parquet file in super_glue/cb's layout (INT64 label, as the Hub export has it).
  const body = writeParquet(
    [
      { name: 'premise', type: 'string' },
      { name: 'hypothesis', type: 'string' },
      { name: 'idx', type: 'int32' },
      { name: 'label', type: 'int64' },
    ],
    [{ premise: 'It rained all day.', hypothesis: 'It was dry.', idx: 0, label: 1 }],
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-e2e-data-'));
  // No token of the machine running the tests reaches the local Hub.
  const env = (extra: Record<string, string> = {}) => ({
    HF_ENDPOINT: hub.endpoint,
    HF_HOME: path.join(dir, 'hf-home'),
    HF_TOKEN: '',
    HUGGING_FACE_HUB_TOKEN: '',
    ...extra,
  });

  beforeAll(async () => {
    hub = await LocalHub.start();
    hub.setFiles('dataset', 'aps/super_glue', 'refs/convert/parquet', [
      { path: 'cb/validation/0000.parquet', body },
    ]);
  });
  afterAll(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a split into <data-dir>/<id>/<config>/<split>/ from HF_ENDPOINT', async () => {
    const r = await ext5(
      ['data', 'download', 'super_glue_cb', '--split', 'validation', '--data-dir', dir, '--json'],
      env(),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = path.join(dir, 'aps', 'super_glue', 'cb', 'validation', '0000.parquet');
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(JSON.parse(r.stdout).files[0]).toMatchObject({ path: file, status: 'downloaded' });
    const inspect = await ext5([
      'tasks',
      'inspect',
      'super_glue_cb',
      '--split',
      'validation',
      '--data-dir',
      dir,
      '--json',
    ]);
    expect(inspect.code).toBe(0);
    const item = JSON.parse(inspect.stdout).items[0];
    expect(item.record.label).toBe(1);
    expect(item.examples[0]).toMatchObject({
      inputs: 'cb hypothesis: It was dry. premise: It rained all day.',
      targets: 'contradiction',
    });
  });

  it('reports a missing export, a missing repository and a manual-download dataset clearly', async () => {
    const nf = await ext5(['data', 'download', 'super_glue_rte', '--data-dir', dir], env());
    expect(nf.code).toBe(1);
    expect(nf.stderr).toMatch(
      /HUB_NO_FILES\]: task super_glue_rte: the Hub lists no Parquet export for aps\/super_glue config rte/,
    );
    expect(nf.stderr).toMatch(
      /hint: check config rte and split \w+ on https:\/\/huggingface\.co\/datasets\/aps\/super_glue: .*loading script.*put them .* in /,
    );
    const repo = await ext5(['data', 'download', 'gem_dart', '--data-dir', dir], env());
    expect(repo.code).toBe(1);
    expect(repo.stderr).toMatch(/HUB_REPO_NOT_FOUND.*repository not found on the Hub \(401/);
    const manual = await ext5(['data', 'download', 'cogs', '--data-dir', dir]);
    expect(manual.code).toBe(1);
    expect(manual.stderr).toMatch(/MANUAL_DOWNLOAD[\s\S]*github.com\/najoungkim\/COGS[\s\S]*Target folder:/);
  });

  it('downloads a whole benchmark (--benchmark superglue) with the total first, then works offline', async () => {
    const configs = ['boolq', 'cb', 'copa', 'multirc', 'record', 'rte', 'wic', 'wsc.fixed'];
    hub.setFiles(
      'dataset',
      'aps/super_glue',
      'refs/convert/parquet',
      // Config i's file holds i + 1 rows, which the download records (the Parquet footer's count).
      configs.map((c, i) => ({
        path: `${c}/validation/0000.parquet`,
        body: writeParquet(
          [{ name: 'idx', type: 'int32' }],
          Array.from({ length: i + 1 }, (_, idx) => ({ idx })),
        ),
      })),
    );
    const bench = path.join(dir, 'bench');
    const r = await ext5(
      [
        'data',
        'download',
        '--benchmark',
        'superglue',
        '--split',
        'validation',
        '--data-dir',
        bench,
        '--no-progress',
      ],
      env(),
    );
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toMatch(/^8 files, .* in all, .* to download$/);
    expect(r.stdout).toMatch(/^8 files \(\d+ bytes\)/m);
    const off = await ext5(
      [
        'data',
        'download',
        '--benchmark',
        'superglue',
        '--split',
        'validation',
        '--data-dir',
        bench,
        '--json',
      ],
      env({ HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' }),
    );
    expect(off.code).toBe(0);
    const rep = JSON.parse(off.stdout);
    expect(rep.files.map((f: { status: string }) => f.status)).toEqual(Array(8).fill('present'));
    expect(rep.plan.every((p: { fromDisk: boolean }) => p.fromDisk)).toBe(true);
    expect(rep.plan.map((p: { rows: number }) => p.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const bad = await ext5(['data', 'download', '--benchmark', 'superglu'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/E_UNKNOWN_BENCHMARK.*did you mean 'superglue'/);
    // --mixture names a mixture only; one of <name>, --benchmark, --mixture.
    const mix = await ext5(['data', 'download', '--mixture', 'mini_exmix', '--dry-run'], env());
    expect(mix.code).toBe(0);
    expect(mix.stderr).toMatch(/^0 files, 0 B in all/);
    const notMix = await ext5(['data', 'download', '--mixture', 'super_glue_cb'], env());
    expect(notMix.stderr).toMatch(/UNKNOWN_MIXTURE/);
    const two = await ext5(['data', 'download', 'super_glue_cb', '--benchmark', 'superglue'], env());
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/E_ARG.*only one of/);
  }, 30_000);
});
