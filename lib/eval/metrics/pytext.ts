/**
 * Python string semantics that the reference scorers (sacreBLEU, rouge_score, T5's qa_utils) rely on.
 * JavaScript differs in small but score-changing ways: `str.split()` splits on a wider whitespace set
 * than `/\s/`, Python indexes strings by code point (JS by UTF-16 unit), and Python's `re` `\b` is
 * Unicode-aware while JS's is ASCII-only. These helpers reproduce the Python behaviour.
 */

/** The characters for which Python's `str.isspace()` is true (what `str.split()` splits on). */
const PY_WS_CLASS =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS_CLASS}]+`, 'g');
const PY_WS_LEADING = new RegExp(`^[${PY_WS_CLASS}]+`);
const PY_WS_TRAILING = new RegExp(`[${PY_WS_CLASS}]+$`);

/**
 * Python's `s.split()` with no argument: splits on runs of whitespace and drops empty strings.
 * @example pySplit(' a\u00a0 b\x1c c ') // ['a', 'b', 'c']
 */
export function pySplit(s: string): string[] {
  const out = s.split(PY_WS_RUN);
  if (out.length > 0 && out[0] === '') out.shift();
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Python's `s.rstrip()` with no argument. */
export function pyRstrip(s: string): string {
  return s.replace(PY_WS_TRAILING, '');
}

/** Python's `s.strip()` with no argument. */
export function pyStrip(s: string): string {
  return s.replace(PY_WS_LEADING, '').replace(PY_WS_TRAILING, '');
}

/** `' '.join(s.split())`: collapses every whitespace run to one space and trims. */
export function pyCollapseWhitespace(s: string): string {
  return pySplit(s).join(' ');
}

/** The code points of `s` (Python's view of a string's characters). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/**
 * Python's `format(x, '.Nf')`: fixed-point with round-half-even on the exact binary value.
 * JavaScript's `toFixed` rounds exact ties away from zero (0.125 -> '0.13' where Python gives '0.12').
 * @example pyFixed(0.125, 2) // '0.12'
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x.toFixed(digits);
  // toFixed(100) prints the exact decimal expansion of the double for |x| < 1e21, up to 100 places,
  // which is enough to see an exact tie at `digits` places.
  const exact = x.toFixed(Math.min(100, digits + 80));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (tail.length > 0 && tail[0] === '5' && /^50*$/.test(tail)) {
    const head = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
    const lastDigit = Number(head[head.length - 1]);
    if (lastDigit % 2 === 0) return head; // already even: round down (toward the even neighbour)
  }
  return x.toFixed(digits);
}
