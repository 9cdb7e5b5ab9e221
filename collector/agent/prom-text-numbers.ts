// Number parsing for the prom-text scanner: sample values (Go ParseFloat rules) and timestamps.

/** A Map, not an object: a value written `__proto__` must not find Object.prototype. */
const SPECIAL_VALUES = new Map<string, number>([
  ['nan', NaN],
  ['+nan', NaN],
  ['-nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
]);

/** Exact powers of ten: a double holds 10^0 … 10^22 without rounding. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** A float as Go's ParseFloat reads it: decimal, scientific, NaN and Inf in any case and sign. */
export function parseNumber(text: string, start: number, end: number): number | undefined {
  if (start === end) return undefined;
  const fast = parseSimpleDecimal(text, start, end);
  if (fast === fast) return fast;
  const c = text.charCodeAt(start);
  // Number() also reads "0x1f", "0b1" and "0o7": fine for the rare target that writes them.
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    const n = Number(text.slice(start, end));
    if (n === n) return n;
  }
  if (end - start > 9) return undefined;
  return SPECIAL_VALUES.get(text.slice(start, end).toLowerCase());
}

/**
 * Most values are short decimals: with at most 15 digits and a power of ten up to 22 both are
 * exact doubles, so one multiplication or division gives the correctly rounded result (Clinger's
 * fast path) without slicing a string for Number(). NaN means "not that simple, ask Number()".
 */
function parseSimpleDecimal(text: string, start: number, end: number): number {
  let pos = start;
  let c = text.charCodeAt(pos);
  const negative = c === 45;
  if (negative || c === 43) pos++;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  for (; pos < end; pos++) {
    c = text.charCodeAt(pos) - 48;
    if (c < 0 || c > 9) break;
    mantissa = mantissa * 10 + c;
    digits++;
  }
  if (pos < end && text.charCodeAt(pos) === 46) {
    for (pos++; pos < end; pos++) {
      c = text.charCodeAt(pos) - 48;
      if (c < 0 || c > 9) break;
      mantissa = mantissa * 10 + c;
      digits++;
      scale--;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  if (pos < end) {
    c = text.charCodeAt(pos);
    if (c !== 101 && c !== 69) return NaN;
    pos++;
    const expNegative = text.charCodeAt(pos) === 45;
    if (expNegative || text.charCodeAt(pos) === 43) pos++;
    if (pos === end || end - pos > 3) return NaN;
    let exponent = 0;
    for (; pos < end; pos++) {
      c = text.charCodeAt(pos) - 48;
      if (c < 0 || c > 9) return NaN;
      exponent = exponent * 10 + c;
    }
    scale += expNegative ? -exponent : exponent;
  }
  if (scale < -22 || scale > 22) return NaN;
  const value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
  return negative ? -value : value;
}

/** A Prometheus text timestamp: an integer of milliseconds (Go's ParseInt, so no exponent). */
export function parseMillis(text: string, start: number, end: number): number | undefined {
  let pos = start;
  const negative = text.charCodeAt(pos) === 45;
  if (negative || text.charCodeAt(pos) === 43) pos++;
  // Past 15 digits the value is no longer exact in a double (and no clock is there yet).
  if (pos === end || end - pos > 15) return undefined;
  let value = 0;
  for (; pos < end; pos++) {
    const digit = text.charCodeAt(pos) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** An OpenMetrics timestamp: seconds as a float, returned in whole milliseconds. */
export function parseSeconds(text: string, start: number, end: number): number | undefined {
  const seconds = parseNumber(text, start, end);
  if (seconds === undefined || !Number.isFinite(seconds)) return undefined;
  return Math.round(seconds * 1000);
}
