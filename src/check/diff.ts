import { formatPath, type FieldPath } from '../api/validate';
import { quote } from '../api/quote';

/** One field that differs between the committed object (`old`) and the synthesized one (`new`). */
export interface FieldChange {
  readonly path: FieldPath;
  /** Absent (`undefined`) when the field is new. */
  readonly old?: unknown;
  /** Absent (`undefined`) when the field was removed. */
  readonly new?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Every leaf-level difference between two parsed YAML values, or the first `limit` of
 * them. Objects are compared key by key (in sorted order, so the report is stable),
 * arrays index by index; a value whose type changed is one change. The limit bounds the
 * work too: a committed file with a million stray keys stops at the limit.
 */
export function diffValues(oldValue: unknown, newValue: unknown, path: FieldPath = [], limit = Infinity): FieldChange[] {
  const out: FieldChange[] = [];
  const walk = (a: unknown, b: unknown, at: FieldPath): void => {
    if (out.length >= limit) return;
    if (isObject(a) && isObject(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        if (out.length >= limit) return;
        walk(a[k], b[k], [...at, k]);
      }
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length) && out.length < limit; i++) walk(a[i], b[i], [...at, i]);
      return;
    }
    if (Object.is(a, b)) return;
    out.push({ path: at, ...(a === undefined ? {} : { old: a }), ...(b === undefined ? {} : { new: b }) });
  };
  walk(oldValue, newValue, path);
  return out;
}

/** Deep equality of parsed YAML values. */
export function sameValue(a: unknown, b: unknown): boolean {
  return diffValues(a, b, [], 1).length === 0;
}

const MAX_VALUE_LENGTH = 120;
/** Bound of the line diff's table (memory and time): a redis.conf against a redis.conf is a few thousand. */
const MAX_LCS_CELLS = 1_000_000;
/** Longest line shown from a multi-line text. */
const MAX_LINE_LENGTH = 240;

/** A value for one line of a report: strings quoted, objects as compact JSON, long ones shortened. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(absent)';
  return quote(value, MAX_VALUE_LENGTH);
}

/**
 * Lines of a readable change: `path: old → new`, or for two multi-line strings (such as
 * a redis.conf) the path followed by the changed lines, `- old` and `+ new`.
 */
export function formatFieldChange(change: FieldChange): string[] {
  const path = formatPath(change.path);
  if (typeof change.old === 'string' && typeof change.new === 'string' && (change.old.includes('\n') || change.new.includes('\n'))) {
    const lines = lineDiff(change.old, change.new);
    return path ? [`${path}:`, ...lines.map((l) => `  ${l}`)] : lines;
  }
  return [`${path ? `${path}: ` : ''}${formatValue(change.old)} → ${formatValue(change.new)}`];
}

/** The lines that differ between two texts (longest common subsequence), as `- line` / `+ line`. */
export function lineDiff(oldText: string, newText: string): string[] {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  if (a.length * b.length > MAX_LCS_CELLS) {
    // A committed text this long is not what synth wrote; a summary is enough to say so.
    return [`- (${a.length} lines, starting ${quote(a[0], MAX_VALUE_LENGTH)})`, `+ (${b.length} lines, starting ${quote(b[0], MAX_VALUE_LENGTH)})`];
  }
  // LCS table; the texts here are config files and annotations, small enough for O(n·m).
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`- ${visible(a[i++])}`);
    } else {
      out.push(`+ ${visible(b[j++])}`);
    }
  }
  return out;
}

/** Control characters (a stray `\r`, a tab) made visible. */
function visible(whole: string): string {
  const line = whole.length > MAX_LINE_LENGTH ? `${whole.slice(0, MAX_LINE_LENGTH - 1)}…` : whole;
  return line.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
