import type { FieldPath } from './validate';

/**
 * Values quoted in messages. Input can be hostile (a 3 MB string, an object that aliases
 * expand) or secret (a password typed into the wrong field), and messages travel far: to
 * CI logs, to a RedisInstance's status.message, to `plan`/`reconcile` output.
 */

/** Longest quote of a value in a message, ellipsis included. */
export const MAX_QUOTED_LENGTH = 80;

/**
 * JSON escapes control characters but not these: C1 controls (NEL), line and paragraph
 * separators, and bidirectional overrides, which break lines or reorder text in a log or
 * a terminal. Escaped as \uXXXX, so a message shows what is there.
 */
const INVISIBLE = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function jsonString(text: string): string {
  return JSON.stringify(text).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Compact JSON of `value`, cut at `max` characters with an ellipsis. It stops walking as
 * soon as the text is long enough, so a huge or deeply shared value costs what it shows.
 */
export function quote(value: unknown, max = MAX_QUOTED_LENGTH): string {
  let out = '';
  const full = () => out.length > max;
  const write = (v: unknown, depth: number): void => {
    if (full()) return;
    if (typeof v === 'string') {
      out += jsonString(v.length > max ? v.slice(0, max + 1) : v);
    } else if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      out += String(v);
    } else if (typeof v === 'bigint') {
      out += `${v}`;
    } else if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
      out += depth === 0 ? String(v) : 'null';
    } else if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ',';
        write(v[i], depth + 1);
      }
      out += ']';
    } else if (depth > 16) {
      out += '{…}';
    } else {
      out += '{';
      let first = true;
      for (const key in v as object) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        if (full()) break;
        out += `${first ? '' : ','}${jsonString(key.length > max ? key.slice(0, max + 1) : key)}:`;
        first = false;
        write((v as Record<string, unknown>)[key], depth + 1);
      }
      out += '}';
    }
  };
  write(value, 0);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/**
 * A key whose value may be a secret: Redis's own (`requirepass`, `masterauth`, `user`
 * lines hold passwords) and any name that says so (password, secret, token, auth,
 * credentials, private or API keys).
 */
const SECRET_NAME = /pass|secret|token|auth|credential|private|(^|[-_./])(api-?)?key$|apikey|^(master)?user$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Fields whose value a message must not show: config entries and metadata with secret-like keys. */
export function mayHoldSecret(path: FieldPath): boolean {
  const [root, map, key] = path;
  const userKeyed = (root === 'spec' && map === 'config') || (root === 'metadata' && (map === 'annotations' || map === 'labels'));
  return userKeyed && typeof key === 'string' && isSecretName(key);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

/** `value` quoted for a message about the field at `path`, or only its kind when the field may hold a secret. */
export function quoteField(value: unknown, path: FieldPath): string {
  return mayHoldSecret(path) ? `${kindOf(value)} (value not shown: the key may hold a secret)` : quote(value);
}
