// Lexical helpers for the prom-text scanner: character classes, blanks, label escaping, # EOF.

export const NAME_START = 1;
export const NAME_CHAR = 2;
export const LABEL_START = 4;
export const LABEL_CHAR = 8;

const CHAR_CLASS = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const digit = c >= 48 && c <= 57;
    if (letter || c === 95) table[c]! |= NAME_START | NAME_CHAR | LABEL_START | LABEL_CHAR;
    if (digit) table[c]! |= NAME_CHAR | LABEL_CHAR;
    if (c === 58) table[c]! |= NAME_START | NAME_CHAR;
  }
  return table;
})();

export const is = (c: number, cls: number) => c < 128 && (CHAR_CLASS[c]! & cls) !== 0;

export const SPACE = 32;
const TAB = 9;
export const HASH = 35;
export const QUOTE = 34;
export const BACKSLASH = 92;

/** Sets a label even when it is named __proto__ (a plain assignment would set the prototype). */
export function putLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else labels[name] = value;
}

/** True when the body ends with the OpenMetrics `# EOF` line. */
export function endsWithEof(text: string): boolean {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) <= SPACE) end--;
  return (
    end >= 5 && text.startsWith('# EOF', end - 5) && (end === 5 || text.charCodeAt(end - 6) === 10)
  );
}

export function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

export function skipBlanks(text: string, pos: number, end: number): number {
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  return pos;
}

export function tokenEnd(text: string, pos: number, end: number): number {
  while (pos < end && !isBlank(text.charCodeAt(pos))) pos++;
  return pos;
}

export function isMetricName(text: string, start: number, end: number): boolean {
  if (!is(text.charCodeAt(start), NAME_START)) return false;
  for (let i = start + 1; i < end; i++) if (!is(text.charCodeAt(i), NAME_CHAR)) return false;
  return true;
}

/** Undoes `\\`, `\"` and `\n`; any other escape is kept as written, as Prometheus does. */
export function unescape(text: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) !== BACKSLASH || i + 1 >= end) continue;
    const next = text.charCodeAt(i + 1);
    const replacement =
      next === BACKSLASH ? '\\' : next === QUOTE ? '"' : next === 110 ? '\n' : undefined;
    if (replacement !== undefined) {
      out += text.slice(from, i) + replacement;
      from = i + 2;
    }
    i++;
  }
  return out + text.slice(from, end);
}
