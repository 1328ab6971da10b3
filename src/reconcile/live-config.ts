import type { Condition } from '../api/types';

/**
 * The ConfigApplied condition: whether the live config of the spec is in force on every
 * pod, from what each pod reports (docs/live-changes.md). The config agent writes a
 * one-line status file; the role agent publishes it as the pod annotation
 * `redis.github.com/config-status`; the reconciler reads the pods it already lists, so it
 * needs no network path to Redis. Pure.
 */

export const CONFIG_STATUS_ANNOTATION = 'redis.github.com/config-status';
export const CONFIG_APPLIED_CONDITION = 'ConfigApplied';

/** Longest annotation value read, and longest Redis error quoted: the annotation is written in the pod. */
const MAX_STATUS_LENGTH = 8192;
const MAX_ERROR_LENGTH = 300;
/** Pods named in a message before `and N more`. */
const MAX_PODS_NAMED = 5;

/** One pod's report, parsed from the status line (tab-separated `name=value` fields). */
export interface AgentStatus {
  /** The live-config hash (live.conf's header) the agent last applied. */
  readonly config?: string;
  /** `current`, `rotating until <epoch seconds>`, or `refused <Redis's error>`. */
  readonly auth?: string;
  /** The live keys Redis refused in that config, each with Redis's error; their old values stay in force. */
  readonly refused: readonly { readonly key: string; readonly error: string }[];
}

/** Parse the agent's status line; fields this version does not know are ignored. */
export function parseAgentStatus(line: string): AgentStatus {
  let config: string | undefined;
  let auth: string | undefined;
  const refused: { key: string; error: string }[] = [];
  for (const field of line.slice(0, MAX_STATUS_LENGTH).replace(/\n+$/, '').split('\t')) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'config') config = value;
    else if (name === 'auth') auth = value;
    else if (name === 'refused') {
      const space = value.indexOf(' ');
      refused.push(space < 0 ? { key: value, error: '' } : { key: value.slice(0, space), error: value.slice(space + 1, space + 1 + MAX_ERROR_LENGTH) });
    }
  }
  return { config, auth, refused };
}

export interface PodReport {
  readonly name: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

type ConditionDraft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

function named(pods: readonly string[]): string {
  const shown = pods.slice(0, MAX_PODS_NAMED).join(', ');
  return pods.length > MAX_PODS_NAMED ? `${shown} and ${pods.length - MAX_PODS_NAMED} more` : shown;
}

/** Printable, one line: the report comes from inside a pod. */
function clean(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, ' ');
}

/**
 * ConfigApplied for an instance's pods and the live-config hash the spec renders
 * (liveConfigHash). Strongest first: a refused value (False, Refused), a refused password
 * (False, PasswordRefused), pods that have not reported this config yet (Unknown, Pending:
 * the kubelet has not updated their volume, or their agent has not written yet), else True
 * (Applied). Unknown without pods.
 */
export function configAppliedCondition(pods: readonly PodReport[], liveConfigHash: string): ConditionDraft {
  const type = CONFIG_APPLIED_CONDITION;
  if (pods.length === 0) return { type, status: 'Unknown', reason: 'NoPods', message: 'no pods report their config yet' };
  const reports = [...pods].sort((a, b) => a.name.localeCompare(b.name)).map((pod) => {
    const line = pod.annotations?.[CONFIG_STATUS_ANNOTATION];
    return { pod: pod.name, status: line === undefined ? undefined : parseAgentStatus(line) };
  });
  const short = liveConfigHash.slice(0, 12);
  const refusing = reports.filter((r) => r.status?.config === liveConfigHash && r.status.refused.length > 0);
  if (refusing.length > 0) {
    const lines = refusing.slice(0, MAX_PODS_NAMED).map((r) => `${r.pod} refused ${r.status!.refused.map((k) => `${clean(k.key)} (${clean(k.error)})`).join(', ')}`);
    const more = refusing.length > MAX_PODS_NAMED ? `; and ${refusing.length - MAX_PODS_NAMED} more pods` : '';
    return { type, status: 'False', reason: 'Refused', message: `live config ${short}: ${lines.join('; ')}${more}; the previous values stay in force there` };
  }
  const passwordRefused = reports.filter((r) => r.status?.auth?.startsWith('refused'));
  if (passwordRefused.length > 0) {
    const first = clean(passwordRefused[0].status!.auth!.slice('refused'.length).trim());
    return {
      type, status: 'False', reason: 'PasswordRefused',
      message: `the new password was not applied on ${named(passwordRefused.map((r) => r.pod))} (${first}); the old one stays in force there`,
    };
  }
  const pending = reports.filter((r) => r.status?.config !== liveConfigHash);
  if (pending.length > 0) {
    return { type, status: 'Unknown', reason: 'Pending', message: `live config ${short} not yet reported by ${named(pending.map((r) => r.pod))}` };
  }
  const rotating = reports.filter((r) => r.status?.auth?.startsWith('rotating'));
  const grace = rotating.length > 0 ? `; the old password is still accepted on ${named(rotating.map((r) => r.pod))} (grace period)` : '';
  return { type, status: 'True', reason: 'Applied', message: `live config ${short} in force on ${reports.length}/${reports.length} pods${grace}` };
}
