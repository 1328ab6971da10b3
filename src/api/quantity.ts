/**
 * Kubernetes resource quantities (`1Gi`, `1024Mi`, `500m`, `1e3`), parsed exactly so that
 * equal amounts written differently compare equal. Values are held as a BigInt count of
 * nano-units, rounded up as the apiserver does.
 */

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** True when `value` is a syntactically valid Kubernetes quantity. */
export function isQuantity(value: unknown): value is string | number {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && QUANTITY.test(value);
}

/**
 * Longest quantity text and largest decimal exponent parsed. Kubernetes caps quantities at
 * 2^63; without a bound, `1e999999999` would make a BigInt of a billion digits.
 */
export const MAX_QUANTITY_LENGTH = 64;
const MAX_EXPONENT = 64;

/** The quantity in nano-units (1 = 1e-9), or undefined when it does not parse or is out of range (see MAX_QUANTITY_LENGTH). */
export function parseQuantity(value: string | number): bigint | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (text.length > MAX_QUANTITY_LENGTH) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  if (m[5] !== undefined && Math.abs(Number(m[5])) > MAX_EXPONENT) return undefined;
  const [, sign, number, binary, decimal, exponent] = m;
  const [whole, fraction = ''] = number.split('.');
  // value = digits * 10^(scale10) * 2^(scale2)
  let digits = BigInt((whole || '0') + fraction);
  let scale10 = -fraction.length + 9; // to nano-units
  let scale2 = 0;
  if (binary) scale2 = BINARY[binary];
  else if (decimal) scale10 += DECIMAL[decimal];
  else if (exponent) scale10 += Number(exponent);
  digits <<= BigInt(scale2);
  let nanos: bigint;
  if (scale10 >= 0) nanos = digits * 10n ** BigInt(scale10);
  else {
    const divisor = 10n ** BigInt(-scale10);
    nanos = digits / divisor + (digits % divisor === 0n ? 0n : 1n);
  }
  return sign === '-' ? -nanos : nanos;
}

/** Compare two quantities: negative, zero or positive like a sort comparator. */
export function compareQuantities(a: string | number, b: string | number): number {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) throw new Error(`not a quantity: ${x === undefined ? a : b}`);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when both are quantities of the same amount (`1Gi` and `1024Mi`). */
export function quantitiesEqual(a: string | number | undefined, b: string | number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  return x !== undefined && x === y;
}
