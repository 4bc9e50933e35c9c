// The TypeScript samples of README.md and docs/*.md (every ```ts block), for pack.test.ts to compile as a
// package user would: each one a file of its own in a CommonJS project (what `npm init -y` makes) that
// has the installed tarball, `tsc --strict --noEmit`. A sample is complete as written: it imports what it
// uses from 'ext5', awaits only inside an async function (CommonJS has no top-level await), and declares
// (`declare const x: T;`) what it takes from the surrounding text.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DocSample {
  /** The markdown file, relative to the repository root. */
  doc: string;
  /** The line of the opening fence (1-based). */
  line: number;
  /** A file name for the sample: docs_hub_md_L218.ts. */
  file: string;
  code: string;
}

export function docSamples(root: string): DocSample[] {
  const docs = [
    'README.md',
    ...fs
      .readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const out: DocSample[] = [];
  for (const doc of docs) {
    const text = fs.readFileSync(path.join(root, doc), 'utf8');
    // A fence may be indented (inside a list item); its body is indented as much.
    for (const m of text.matchAll(/^( *)```(?:ts|typescript)\n([\s\S]*?)^\1```/gm)) {
      const indent = m[1]!.length;
      const line = text.slice(0, m.index).split('\n').length;
      const code = m[2]!
        .split('\n')
        .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
        .join('\n');
      out.push({ doc, line, file: `${doc.replace(/[/.]/g, '_')}_L${line}.ts`, code });
    }
  }
  return out;
}
