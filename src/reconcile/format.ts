import type { ConfigChange } from '../redis-conf/live-config';
import { CONFIG_HASH_ANNOTATION } from '../render/instance';
import type { ChildWrite, Reason } from './children';
import type { PvcExpansion } from './claims';
import type { Rule } from './rules';

/**
 * Every text the plan gives people: reasons as `field old → new`, the one-line plan
 * messages, and the docs' decision table rendered from the rules. Pure.
 */

/** `field from → to; ...` for messages; hashes shortened. */
export function summarize(reasons: readonly Reason[]): string {
  return reasons.map((r) => {
    const field = r.field || r.object;
    if (r.from === undefined && r.to === undefined) return `${field} changed`;
    return `${field} ${reasonValue(r.from)} → ${reasonValue(r.to)}`;
  }).join('; ');
}

/** A reason's old or new value on one line of text: hashes shortened, objects as JSON. */
export function reasonValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return /^[0-9a-f]{64}$/.test(value) ? value.slice(0, 12) : value;
  return JSON.stringify(value);
}

/**
 * The lines of a redis.conf only in `before`, and those only in `after`, each joined with
 * '; ' (comments and blank lines left out): the from/to of a ConfigMap reason.
 */
export function changedLines(before: string, after: string): [string, string] {
  const a = before.split('\n').filter((l) => l && !l.startsWith('#'));
  const b = after.split('\n').filter((l) => l && !l.startsWith('#'));
  const setA = new Set(a);
  const setB = new Set(b);
  return [a.filter((l) => !setB.has(l)).join('; '), b.filter((l) => !setA.has(l)).join('; ')];
}

/** `patch ConfigMap/cache`. */
export function writeLine(write: ChildWrite): string {
  return `${write.verb} ${write.kind}/${write.name}`;
}

/** `expand PersistentVolumeClaim/redis-data-cache-0 1Gi → 2Gi`. */
export function expansionLine(e: PvcExpansion): string {
  return `expand PersistentVolumeClaim/${e.name} ${e.from} → ${e.to}`;
}

// ---------------------------------------------------------------------------------------
// Plan messages, one per action

export function createMessage(name: string, claims: number): string {
  return `create StatefulSet ${name}${claims > 0 ? ` (adopting ${claims} existing claim${claims === 1 ? '' : 's'})` : ''}`;
}

export function recreateMessage(name: string, cause: readonly Reason[]): string {
  return `recreate StatefulSet ${name} keeping its pods and claims: ${summarize(cause)}`;
}

const CONFIG_HASH_FIELD = `spec.template.metadata.annotations[${CONFIG_HASH_ANNOTATION}]`;

/** `maxmemory 100mb → 200mb (no restart)`, `databases 16 → 32 (restart)`. */
export function configChangeLine(change: ConfigChange): string {
  return `${change.key} ${change.from ?? '(unset)'} → ${change.to ?? '(unset)'} (${change.live ? 'no restart' : 'restart'})`;
}

/** `live: maxmemory 100mb → 200mb (no restart), ...`, or nothing. */
function liveLine(config: readonly ConfigChange[]): string[] {
  const live = config.filter((c) => c.live);
  return live.length > 0 ? [`live: ${live.map(configChangeLine).join(', ')}`] : [];
}

/**
 * The config hash stands for the restart-only keys that changed, each named (its hash
 * alone when only our wiring changed); the live keys follow, marked as such.
 */
export function rollingUpdateMessage(name: string, cause: readonly Reason[], config: readonly ConfigChange[] = []): string {
  const restart = config.filter((c) => !c.live);
  const shown = restart.length > 0 ? cause.filter((r) => r.field !== CONFIG_HASH_FIELD) : cause;
  const parts = [...(shown.length > 0 ? [summarize(shown)] : []), ...restart.map(configChangeLine)];
  return [`rolling update of StatefulSet ${name}: ${parts.join('; ')}`, ...liveLine(config)].join('; ');
}

/** Action none: `in sync`, or the live config changes and the other writes. */
export function inSyncMessage(writes: readonly ChildWrite[], expansions: readonly PvcExpansion[], config: readonly ConfigChange[] = []): string {
  const extra = [...writes.map(writeLine), ...expansions.map(expansionLine)];
  const live = liveLine(config);
  if (extra.length === 0 && live.length === 0) return 'in sync';
  return ['StatefulSet in sync', ...live, ...(extra.length > 0 ? [extra.join(', ')] : [])].join('; ');
}

export function shrinkRefusal(largest: string, desiredSize: string): string {
  return `Refused: storage cannot shrink from ${largest} to ${desiredSize} (spec.storage.size); nothing was changed. `
    + `Set spec.storage.size to at least ${largest}.`;
}

export function classChangeRefusal(desiredClass: string, claims: readonly { name: string; storageClassName: string }[]): string {
  const names = claims.map((c) => `${c.name} (${c.storageClassName})`).join(', ');
  return `Refused: spec.storage.storageClassName asks for "${desiredClass}" but bound claims cannot change class: ${names}; nothing was changed. `
    + 'Restore the previous storageClassName, or move the data to new claims yourself.';
}

// ---------------------------------------------------------------------------------------
// docs/reconciler.md

/** The decision table of docs/reconciler.md, one row per rule, in order (a test keeps the two equal). */
export function decisionTable(rules: readonly Rule[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| # | field | read and compared as | action |',
    '|---|---|---|---|',
    ...rules.map((r, i) => `| ${i + 1} | ${r.field ? `\`${cell(r.field)}\`` : '(the StatefulSet)'} | ${cell(r.compared)} | \`${r.action}\` |`),
  ].join('\n');
}
