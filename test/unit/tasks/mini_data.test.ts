// The built-in mini data shares skills across families the way ExMix does (scripts/make-mini-assets.py):
// the held-out tasks' skills are taught by mini_exmix in several other forms, and every record that
// carries a skill gets it right (sums add up, "more" names the larger count, labels follow the counts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MINI_HELD_OUT, MixtureRegistry, TaskRegistry } from '../../../lib/tasks';
import { MINI_SKILLS } from '../../../lib/tasks/mini';
import { packageRoot } from '../../../lib/util/package_root';

const NUM = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const n = (word: string | undefined): number => {
  const i = NUM.indexOf(word ?? '');
  if (i < 0) throw new Error(`not a count word: ${word}`);
  return i;
};
type Rec = Record<string, unknown>;
function records(task: string, split = 'train'): Rec[] {
  const f = path.join(packageRoot(), 'assets', 'mini', 'tasks', task, `${split}.jsonl`);
  return fs
    .readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
}
function match(s: unknown, re: RegExp): RegExpMatchArray {
  const m = String(s).match(re);
  if (!m) throw new Error(`${JSON.stringify(s)} does not match ${re}`);
  return m;
}

describe('mini data: skills shared across families', () => {
  const pool = MixtureRegistry.get('mini_exmix').taskNames();

  it('lists skills only for registered mini tasks', () => {
    for (const t of Object.keys(MINI_SKILLS)) expect(TaskRegistry.get(t).family).toBeDefined();
  });

  it.each(MINI_HELD_OUT)('%s: its skills are taught by mini_exmix in at least two other families', (h) => {
    const skills = MINI_SKILLS[h] ?? [];
    expect(skills.length).toBeGreaterThan(0);
    const family = TaskRegistry.get(h).family;
    for (const s of skills) {
      const families = new Set(
        pool
          .filter((t) => (MINI_SKILLS[t] ?? []).includes(s))
          .map((t) => TaskRegistry.get(t).family)
          .filter((f) => f !== family),
      );
      expect([s, families.size >= 2]).toEqual([s, true]);
    }
  });

  it('mini_nli_counts: compare is never shown in NLI form inside mini_exmix', () => {
    const nliPool = pool.filter((t) => TaskRegistry.get(t).family === 'nli');
    expect(nliPool.length).toBeGreaterThan(0);
    for (const t of nliPool) {
      expect(MINI_SKILLS[t] ?? []).not.toContain('compare');
      for (const r of records(t)) expect(`${r.premise} ${r.hypothesis}`).not.toMatch(/\b(more|fewer)\b/);
    }
  });
});

describe('mini data: records carry their skill correctly', () => {
  for (const split of ['train', 'validation']) {
    it(`${split}: word problems (held out) add and take away counts in words`, () => {
      const rs = records('mini_word_problems', split);
      expect(rs.length).toBeGreaterThan(0);
      for (const r of rs) {
        const m = match(r.problem, /has (\w+) \w+ and (buys|gives away) (\w+)/);
        const want = m[2] === 'buys' ? n(m[1]) + n(m[3]) : n(m[1]) - n(m[3]);
        expect(r.answer).toBe(String(want));
        expect(String(r.problem)).not.toMatch(/\d/);
      }
    });

    it(`${split}: nli_counts (held out) labels follow the counts`, () => {
      for (const r of records('mini_nli_counts', split)) {
        const p = match(r.premise, /There are (\w+) (\w+) and (\w+) (\w+) in/);
        const count: Record<string, number> = { [p[2] ?? '']: n(p[1]), [p[4] ?? '']: n(p[3]) };
        const h = match(r.hypothesis, /There are (more|fewer) (\w+) than (\w+) in/);
        const [x, y] = [count[h[2] ?? ''], count[h[3] ?? '']];
        if (x === undefined || y === undefined) expect(r.label).toBe('neutral');
        else expect(r.label).toBe((h[1] === 'more' ? x > y : x < y) ? 'entailment' : 'contradiction');
      }
    });
  }

  it('count: meeting summaries, bookings and count-story parses get the arithmetic right', () => {
    for (const r of records('mini_meeting_summary')) {
      const m = match(r.transcript, /I will bring (\w+) (\w+)\. .*I will bring (\w+) more/);
      expect(String(r.summary)).toMatch(new RegExp(` with ${n(m[1]) + n(m[3])} ${m[2]}\\.$`));
    }
    for (const r of records('mini_booking_dialog')) {
      const turns = r.turns as string[];
      const m = match(turns[2], /For (\w+) people .* Make it (\w+) (more people|people fewer)\./);
      const total = m[3] === 'more people' ? n(m[1]) + n(m[2]) : n(m[1]) - n(m[2]);
      expect(turns[3]).toMatch(new RegExp(`^Done: a table for ${total} at `));
    }
    const stories = records('mini_arith_expr').filter((r) => / has /.test(String(r.question)));
    expect(stories.length).toBeGreaterThan(100);
    for (const r of stories) {
      const m = match(r.question, /has (\w+) \w+ and (buys|gives away) (\w+)/);
      expect(r.expression).toBe(`(${n(m[1])} ${m[2] === 'buys' ? '+' : '-'} ${n(m[3])})`);
    }
  });

  it('compare: headlines and story answers name the larger count', () => {
    for (const r of records('mini_headline')) {
      const m = match(r.article, /sold (\w+) baskets of (\w+) and (\w+) baskets of (\w+)\./);
      const [more, less] = n(m[1]) > n(m[3]) ? [m[2], m[4]] : [m[4], m[2]];
      expect(String(r.headline)).toMatch(new RegExp(`sells more ${more} than ${less}$`));
    }
    let asked = 0;
    for (const r of records('mini_story_qa')) {
      const m = match(r.context, /There (\w+) found (\w+) (\w+) and (\w+) found (\w+) (\w+)\./);
      const answer = (r.answers as { text: string[] }).text[0];
      const first = n(m[2]) > n(m[5]);
      if (/^Who found more/.test(String(r.question))) expect(answer).toBe(first ? m[1] : m[4]);
      else if (/^Are there more/.test(String(r.question))) expect(answer).toBe(first ? m[3] : m[6]);
      else if (/^How many/.test(String(r.question))) expect(answer).toBe(String(n(m[2]) + n(m[5])));
      else continue;
      asked++;
    }
    expect(asked).toBeGreaterThan(200);
  });
});
