import { argText, singleConfArg, splitConfArgs, yesNo } from './args';

/**
 * What `spec.config` may hold: the checks on each key and value, as data. validate.ts
 * runs them; the CRD states the key rules in CEL (x-kubernetes-validations), and a test
 * keeps both in step. Value rules need Redis's tokenizer, so only synth and the
 * reconciler's validation enforce them.
 */

/**
 * Keys that would break how redis-gitops wires the pod (listening address, data
 * directory, replication, logging to stdout, config includes, renamed commands the
 * probes need).
 */
export const MANAGED_CONFIG_KEYS: readonly string[] = Object.freeze([
  'bind', 'port', 'dir', 'include', 'rename-command', 'daemonize', 'replicaof', 'slaveof', 'logfile', 'unixsocket',
]);
/** Keys that are secrets, or users, which belong in a Secret (spec.auth). */
export const SECRET_CONFIG_KEYS: readonly string[] = Object.freeze([
  'requirepass', 'masterauth', 'masteruser', 'aclfile', 'user',
]);
/** Every cluster-mode directive (and the `cluster-slave-*` aliases). */
export const CLUSTER_CONFIG_PREFIX = 'cluster-';
/**
 * Keys that open DEBUG, MODULE LOAD and CONFIG SET of protected configs (`dir`,
 * `dbfilename`: writing files where Redis can) to clients: allowed only with spec.auth.
 */
export const AUTH_ONLY_CONFIG_KEYS: readonly string[] = Object.freeze([
  'enable-debug-command', 'enable-module-command', 'enable-protected-configs',
]);
/** Loads native code into redis-server: refused unless the module is in the chart's allowlist. */
export const MODULE_CONFIG_KEY = 'loadmodule';
/** Directives redis-gitops reads itself (the AOF migration step): one UTF-8 argument each. */
export const READ_CONFIG_KEYS: readonly string[] = Object.freeze(['appendonly', 'dbfilename', 'appendfilename', 'appenddirname']);

const CONFIG_KEY = /^[a-z][a-z0-9-]{0,63}$/;
/**
 * Unicode line breaks. Redis reads them as ordinary bytes of the value (checked against
 * redis-server), but editors and YAML 1.1 readers show a new line there: a reviewer would
 * see a second directive that Redis does not read. `"\xe2\x80\xa8"` still spells U+2028.
 */
const UNICODE_BREAKS = /[\u0085\u2028\u2029]/;

export interface ConfigPolicy {
  /** Module paths `loadmodule` may name (set in TypeScript, never in instance YAML). */
  readonly allowedModules?: readonly string[];
  /** `cluster`: read from the apiserver (the module allowlist is the chart's, not applied). */
  readonly origin: 'source' | 'cluster';
  /** spec.auth is set. */
  readonly auth: boolean;
}

export interface ConfigIssue {
  /** Path under the spec: `['spec', 'config', key]`. */
  readonly path: readonly string[];
  readonly message: string;
}

/** One key rule: a message when it refuses the key, else undefined. The first match wins. */
type KeyRule = (key: string, value: string, policy: ConfigPolicy) => string | undefined;

const KEY_RULES: readonly KeyRule[] = [
  (key) => (CONFIG_KEY.test(key) ? undefined : /[\x00-\x1F\x7F]/.test(key)
    ? 'key must not contain newlines or other control characters'
    : 'key must be a lower-case redis.conf directive name (letters, digits and \'-\')'),
  (key) => (MANAGED_CONFIG_KEYS.includes(key) ? `"${key}" is managed by redis-gitops and cannot be set in config` : undefined),
  (key) => (SECRET_CONFIG_KEYS.includes(key) ? `"${key}" would put a secret in the ConfigMap; use spec.auth (a Secret) instead` : undefined),
  (key) => (key.startsWith(CLUSTER_CONFIG_PREFIX)
    ? `"${key}": cluster mode is not supported yet (with cluster-enabled yes, Redis answers PING, so pods turn Ready, but every command fails with CLUSTERDOWN)`
    : undefined),
  (key, _value, policy) => (AUTH_ONLY_CONFIG_KEYS.includes(key) && !policy.auth
    ? `"${key}" lets clients run DEBUG, MODULE LOAD or CONFIG SET dir/dbfilename; it may be set only together with spec.auth`
    : undefined),
  (key, value, policy) => (key === MODULE_CONFIG_KEY && policy.origin === 'source' ? moduleIssue(value, policy.allowedModules ?? []) : undefined),
];

function moduleIssue(value: string, allowed: readonly string[]): string | undefined {
  const split = splitConfArgs(value);
  if (!split.ok || split.args.length === 0) return undefined; // the value rules report it
  const path = argText(split.args[0]);
  if (path !== undefined && allowed.includes(path)) return undefined;
  const shown = path === undefined ? 'a path that is not UTF-8 text' : JSON.stringify(path.slice(0, 80));
  return `"loadmodule" runs native code in redis-server (and in \`check --redis-server\`); a module is allowed only when the chart's TypeScript lists its path in allowedModules, and ${shown} is not listed${allowed.length ? '' : ' (none are)'}`;
}

/** Value rules: how Redis reads the value (args.ts). */
function valueIssue(key: string, value: string): string | undefined {
  const split = splitConfArgs(value);
  if (!split.ok) return `Redis would refuse this line at start-up: ${split.error}`;
  if (UNICODE_BREAKS.test(value)) {
    return 'must not contain U+0085, U+2028 or U+2029 (shown as a line break by editors and YAML 1.1); inside double quotes, write the bytes as \\x escapes';
  }
  if (READ_CONFIG_KEYS.includes(key)) {
    const arg = singleConfArg(value);
    if (split.args.length !== 1) return `must be exactly one argument as Redis splits it (quote a value that holds spaces), got ${split.args.length}`;
    if (arg === undefined) return 'must be UTF-8 text once Redis reads its escapes (the AOF migration step gets it as an env var)';
    if (key === 'appendonly' && yesNo(arg) === undefined) return `must be yes or no, got ${JSON.stringify(arg.slice(0, 80))}`;
  }
  if (key === MODULE_CONFIG_KEY && split.args.length === 0) return 'must name the module\'s path';
  return undefined;
}

/** Every problem with spec.config's keys and values, for validate.ts. */
export function configIssues(config: unknown, policy: ConfigPolicy): ConfigIssue[] {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return [];
  const out: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const path = ['spec', 'config', key];
    const text = typeof value === 'string' ? value : undefined;
    const refused = KEY_RULES.reduce<string | undefined>((found, rule) => found ?? rule(key, text ?? '', policy), undefined);
    // A value that is not a string is the schema's to report.
    const message = refused ?? (text === undefined ? undefined : valueIssue(key, text));
    if (message) out.push({ path, message });
  }
  return out;
}
