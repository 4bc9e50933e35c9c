/**
 * Where ext5's own files are (assets/, native/), found from this file so it works from lib/ (ts-jest)
 * and from dist/ (the built package). Loads nothing heavy: the task registry and the CLI use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from './errors';

/** The package root (the folder with ext5's package.json), from source or from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'ext5') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    dir = path.dirname(dir);
  }
  throw new Ext5Error('EXT5_LAYOUT', `cannot find ext5's package.json above ${__dirname}`);
}
