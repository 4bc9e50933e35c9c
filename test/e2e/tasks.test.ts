// `ext5 tasks`, `ext5 mixtures` and `ext5 data download` as a user runs them (dist/ must be built).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
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
  let server: http.Server;
  let endpoint = '';
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
  const sha = createHash('sha256').update(body).digest('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-e2e-data-'));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = decodeURIComponent(req.url ?? '');
      if (url.startsWith('/api/datasets/aps/super_glue/tree/refs/convert/parquet/cb')) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify([
            {
              type: 'file',
              path: 'cb/validation/0000.parquet',
              size: 130,
              lfs: { oid: sha, size: body.length },
            },
          ]),
        );
      } else if (url === '/datasets/aps/super_glue/resolve/refs/convert/parquet/cb/validation/0000.parquet') {
        res.end(body);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a split into <data-dir>/<id>/<config>/<split>/ from HF_ENDPOINT', async () => {
    const r = await ext5(
      ['data', 'download', 'super_glue_cb', '--split', 'validation', '--data-dir', dir, '--json'],
      { HF_ENDPOINT: endpoint },
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

  it('reports a missing dataset (404) and a manual-download dataset clearly', async () => {
    const nf = await ext5(['data', 'download', 'super_glue_rte', '--data-dir', dir], {
      HF_ENDPOINT: endpoint,
    });
    expect(nf.code).toBe(1);
    expect(nf.stderr).toMatch(/HUB_NOT_FOUND.*not found on the Hub/);
    const manual = await ext5(['data', 'download', 'cogs', '--data-dir', dir]);
    expect(manual.code).toBe(1);
    expect(manual.stderr).toMatch(/MANUAL_DOWNLOAD[\s\S]*github.com\/najoungkim\/COGS[\s\S]*Target folder:/);
  });
});
