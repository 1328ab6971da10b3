/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), parsed into exact
 * rationals so that `1Gi` == `1024Mi` and `1.5G` < `2Gi` compare correctly.
 */

export interface Quantity {
  num: bigint; // value = num / den
  den: bigint;
}

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

export function parseQuantity(input: string | number): Quantity | undefined {
  const s = String(input).trim();
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  const [, sign, digits, suffix = ''] = m;
  const [intPart, fracPart = ''] = digits.split('.');
  let num = BigInt((intPart || '0') + fracPart) * (sign === '-' ? -1n : 1n);
  let den = 10n ** BigInt(fracPart.length);
  if (suffix in BINARY) {
    num *= 1024n ** BigInt(BINARY[suffix]);
  } else {
    const exp = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { num, den };
}

/** -1, 0 or 1; throws on an unparseable quantity. */
export function compareQuantities(a: string | number, b: string | number): number {
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  if (!qa || !qb) throw new Error(`invalid quantity: ${qa ? b : a}`);
  const l = qa.num * qb.den;
  const r = qb.num * qa.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function isValidQuantity(v: unknown): boolean {
  return (typeof v === 'string' || typeof v === 'number') && parseQuantity(v) !== undefined;
}
