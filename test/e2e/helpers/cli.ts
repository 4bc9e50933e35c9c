// Runs the built CLI (dist/bin/ext5.js) as a user would, and reports what it printed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..', '..');
export const cliPath = path.join(root, 'dist', 'bin', 'ext5.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** True when libtorch was mapped into the CLI process. */
  loadedLibtorch: boolean;
}

export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): CliResult {
  if (!fs.existsSync(cliPath)) {
    throw new Error(
      `${cliPath} is missing: build first (npx tsc -p tsconfig.build.json, or bash scripts/setup.sh)`,
    );
  }
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-cli-'));
  const report = path.join(reportDir, 'libs.json');
  try {
    const r = spawnSync(process.execPath, ['-r', path.join(__dirname, 'libs-at-exit.js'), cliPath, ...args], {
      cwd: opts.cwd ?? root,
      env: { ...process.env, ...opts.env, EXT5_LIBS_REPORT: report, FORCE_COLOR: '0' },
      input: opts.input,
      encoding: 'utf8',
      timeout: 120_000,
    });
    let loadedLibtorch = false;
    try {
      loadedLibtorch = JSON.parse(fs.readFileSync(report, 'utf8')).libtorch;
    } catch {
      // the process died before its exit handler ran
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, loadedLibtorch };
  } finally {
    fs.rmSync(reportDir, { recursive: true, force: true });
  }
}
