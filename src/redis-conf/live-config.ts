import { createHash } from 'node:crypto';
import { argText, splitConfArgs } from './args';
import { isLiveKey } from './live-keys';
import { RUNTIME_CONFIG_FILE, mergedRedisConfig } from './render';

/**
 * The split of redis.conf into what the agent in the pod applies live and what needs a
 * restart (docs/live-changes.md). Pure.
 *
 * - A key is applied live when Redis sets it live and it is not our wiring (live-keys.ts),
 *   and its value, read as Redis reads it, is plain text the agent can carry safely: at
 *   least one argument, UTF-8, no control character (so never a tab or a newline). Any
 *   other value of a live key counts as restart-only.
 * - Which live keys are set is restart-only too: a key dropped from spec.config gets
 *   Redis's default back only with a restart, so adding or removing a live key rolls the
 *   pods once; changing its value does not.
 */

/** The file the agent reads: one `key<TAB>value` line per live key, after a header with its hash. */
export const LIVE_CONFIG_FILE = 'live.conf';
/** Header of live.conf: `# live-config-hash <hex>`; the agent reports this hash once in force. */
export const LIVE_CONFIG_HASH_HEADER = '# live-config-hash ';

/**
 * The value `CONFIG SET` gets for a redis.conf value: its arguments as Redis splits them,
 * joined by one space (as Redis joins the arguments of `save` and the other multi-argument
 * keys); undefined when it is not plain text (see above).
 */
export function liveValue(value: string): string | undefined {
  const split = splitConfArgs(value);
  if (!split.ok || split.args.length === 0) return undefined;
  const args = split.args.map(argText);
  if (args.some((a) => a === undefined)) return undefined;
  const joined = args.join(' ');
  return /[\x00-\x1f\x7f\u0085\u2028\u2029]/.test(joined) ? undefined : joined;
}

export interface SplitConfig {
  /** Key → the CONFIG SET value, for the keys the agent applies, sorted by key. */
  readonly live: Readonly<Record<string, string>>;
  /** Key → value as written in redis.conf, for every other key (defaults included). */
  readonly restart: Readonly<Record<string, string>>;
}

/** The merged config (defaults overridden by `config`), split into live and restart-only keys. */
export function splitConfig(config: Readonly<Record<string, string>> = {}): SplitConfig {
  const merged = mergedRedisConfig(config);
  const live: Record<string, string> = {};
  const restart: Record<string, string> = {};
  for (const key of Object.keys(merged).sort()) {
    const value = isLiveKey(key) ? liveValue(merged[key]) : undefined;
    if (value === undefined) restart[key] = merged[key];
    else live[key] = value;
  }
  return { live, restart };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The body of live.conf (the hash covers exactly these bytes). */
function liveBody(live: Readonly<Record<string, string>>): string {
  return Object.keys(live).map((key) => `${key}\t${live[key]}\n`).join('');
}

/** live.conf: the hash header, then `key<TAB>value` per live key in sorted order. */
export function renderLiveConf(config: Readonly<Record<string, string>> = {}): string {
  const body = liveBody(splitConfig(config).live);
  return `${LIVE_CONFIG_HASH_HEADER}${sha256(body)}\n${body}`;
}

/** The hash live.conf carries in its header: what a pod reports once every live key is in force. */
export function liveConfigHash(config: Readonly<Record<string, string>> = {}): string {
  return sha256(liveBody(splitConfig(config).live));
}

/**
 * What a restart is needed for, as text: the restart-only lines of redis.conf as rendered,
 * the names of the live keys, the runtime include, and `wiring` (the agent's script): the
 * input of the pod template's config hash.
 */
export function restartOnlyConf(config: Readonly<Record<string, string>> = {}, wiring: readonly string[] = []): string {
  const { live, restart } = splitConfig(config);
  return [
    ...Object.keys(restart).map((key) => `${key} ${restart[key] === '' ? '""' : restart[key]}`),
    `# live keys: ${Object.keys(live).join(' ')}`,
    `include ${RUNTIME_CONFIG_FILE}`,
    ...wiring,
    '',
  ].join('\n');
}

/** The pod template's config hash: SHA-256 of restartOnlyConf. */
export function restartConfigHash(config: Readonly<Record<string, string>> = {}, wiring: readonly string[] = []): string {
  return sha256(restartOnlyConf(config, wiring));
}

/** One key whose value differs between two rendered redis.conf files. */
export interface ConfigChange {
  readonly key: string;
  /** As written in redis.conf; undefined when the key was not set. */
  readonly from?: string;
  readonly to?: string;
  /** The agent applies it without a restart (a live key set before and after, both values plain text). */
  readonly live: boolean;
}

/** `key value` per directive line of a rendered redis.conf (comments and the include left out). */
function directives(redisConf: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of redisConf.split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('include ')) continue;
    const space = line.indexOf(' ');
    out.set(space < 0 ? line : line.slice(0, space), space < 0 ? '' : line.slice(space + 1));
  }
  return out;
}

/** The keys that differ between the live ConfigMap's redis.conf and the desired one, sorted, each live or restart-only. */
export function configChanges(before: string | undefined, after: string): ConfigChange[] {
  if (before === undefined) return [];
  const a = directives(before);
  const b = directives(after);
  return [...new Set([...a.keys(), ...b.keys()])].sort()
    .filter((key) => a.get(key) !== b.get(key))
    .map((key) => {
      const from = a.get(key);
      const to = b.get(key);
      const live = isLiveKey(key) && from !== undefined && to !== undefined && liveValue(from) !== undefined && liveValue(to) !== undefined;
      return { key, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), live };
    });
}
