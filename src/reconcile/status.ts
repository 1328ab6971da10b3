import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Condition, RedisInstanceObject, RedisInstanceStatus, RedisPhase, ResolvedRedisInstance } from '../api/types';
import type { ValidationIssue } from '../api/validate';
import { primaryStatus } from './roles';
import type { Plan } from './plan';
import { canonicalJson, instanceRedisConfig } from '../render/instance';
import { liveConfigHash } from '../redis-conf/live-config';
import { configAppliedCondition } from './live-config';

/**
 * The status a RedisInstance should carry, from its spec, its live StatefulSet and what
 * this pass did. Pure: the clock comes in as `now`.
 *
 * Phases, by priority (docs/reconciler.md, "Status"): Terminated > Failed > Updating >
 * Creating > Pending > Running. Conditions follow the Kubernetes API conventions: one
 * entry per type (Ready, Progressing, Degraded; PrimaryAvailable with failover; ConfigApplied
 * with the pod agent), lastTransitionTime moves only when the
 * condition's status flips, reasons are CamelCase. History goes to Events.
 */

/**
 * Why Degraded is True while the instance is not Failed, strongest first: with several
 * problems the condition's reason is the first of them here, its message lists them all.
 */
export const DEGRADED_REASONS = [
  /** The auth Secret does not exist: the pods cannot start. */
  'SecretNotFound',
  /** The auth Secret lacks the key: the pods cannot start. */
  'SecretKeyMissing',
  /** The reconciler may not read Secrets there: a new password does not roll the pods. */
  'SecretsUnreadable',
  /** A claim is smaller than spec.storage.size and its StorageClass cannot grow it. */
  'ClaimsNotExpanded',
] as const;
export type DegradedReason = typeof DEGRADED_REASONS[number];

/** A problem that does not fail the instance: said in the message and the Degraded condition. */
export interface StatusWarning {
  readonly reason: DegradedReason;
  readonly message: string;
}

export interface StatusInput {
  readonly instance: RedisInstanceObject;
  /** The StatefulSet after this pass's action (the write's response), or as read. */
  readonly statefulSet?: V1StatefulSet;
  readonly plan?: Plan;
  /** Validation issues of the spec; non-empty means Failed. */
  readonly issues?: readonly (ValidationIssue | string)[];
  /** The action or a write failed (after retries). */
  readonly error?: string;
  /** Problems that do not fail the instance (e.g. the auth Secret is missing). */
  readonly warnings?: readonly StatusWarning[];
  /** The instance's pods (with the pod agent: status.primary and PrimaryAvailable from their role labels, ConfigApplied from their config-status annotations). */
  readonly pods?: readonly V1Pod[];
  /** The validated instance, when its spec is valid (failover settings for PrimaryAvailable). */
  readonly resolved?: ResolvedRedisInstance;
  /** The change waits for something first (the primary to move before a scale-down): Updating, with this message. */
  readonly waiting?: string;
  /** The instance was settled by this pass (nothing written but the status): kept in the status when Running. */
  readonly fingerprint?: string;
  readonly now: Date;
}

type ConditionDraft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** The status to write, or undefined when the current one already says the same. */
export function computeStatus(input: StatusInput): RedisInstanceStatus | undefined {
  const next = desiredStatus(input);
  return statusEqual(input.instance.status, next) ? undefined : next;
}

/** The full status this pass observes (always defined). */
export function desiredStatus(input: StatusInput): RedisInstanceStatus {
  const { instance, statefulSet: sts, plan, issues = [], error, warnings = [], now, waiting } = input;
  const generation = instance.metadata.generation;
  const specReplicas = typeof instance.spec?.replicas === 'number' ? instance.spec.replicas : 1;
  const want = sts?.spec?.replicas ?? specReplicas;
  const counts = {
    replicas: sts?.status?.replicas ?? 0,
    readyReplicas: sts?.status?.readyReplicas ?? 0,
    updatedReplicas: sts?.status?.updatedReplicas ?? 0,
  };
  const progress = `Updated: ${counts.updatedReplicas}/${want}, Ready: ${counts.readyReplicas}/${want}`;
  const rolloutInProgress = sts !== undefined && (
    (sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0)
    || counts.updatedReplicas < want
    || (sts.status?.currentRevision ?? '') !== (sts.status?.updateRevision ?? '')
    || counts.replicas !== want
  );
  const allReady = sts !== undefined && counts.readyReplicas >= want && !rolloutInProgress;
  const previous = instance.status?.phase;
  const creating = plan?.action === 'create' || (!allReady && (previous === undefined || previous === 'Unknown' || previous === 'Creating'));
  const notes: StatusWarning[] = [
    ...warnings,
    ...(plan?.claimsKeepingSize ?? []).map((c) => ({ reason: 'ClaimsNotExpanded' as const, message: `claim ${c.name} keeps its size ${c.size} (${c.why})` })),
  ];
  const noteText = notes.map((n) => n.message).join('; ');
  const withNotes = (message: string) => (notes.length > 0 ? `${message.replace(/\.?$/, '.')} Note: ${noteText}.` : message);

  let phase: RedisPhase;
  let message: string;
  let ready: ConditionDraft;
  let progressing: ConditionDraft;
  let degraded: ConditionDraft;
  const notProgressing = { type: 'Progressing', status: 'False', reason: 'UpToDate', message: 'No change in progress.' } as const;
  const strongest = DEGRADED_REASONS.find((reason) => notes.some((n) => n.reason === reason));
  const degradedByWarnings: ConditionDraft = strongest
    ? { type: 'Degraded', status: 'True', reason: strongest, message: noteText }
    : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'Nothing is wrong.' };

  if (instance.metadata.deletionTimestamp) {
    phase = 'Terminated';
    message = 'RedisInstance is being deleted; its claims are kept.';
    ready = { type: 'Ready', status: 'False', reason: 'Terminating', message };
    progressing = notProgressing;
    degraded = { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'Nothing is wrong.' };
  } else if (issues.length > 0 || plan?.action === 'refuse' || error !== undefined) {
    phase = 'Failed';
    const reason = issues.length > 0 ? 'InvalidSpec' : plan?.action === 'refuse' ? 'Refused' : 'ActionFailed';
    message = issues.length > 0
      ? `Invalid spec: ${issues.map((i) => (typeof i === 'string' ? i : `${i.path}: ${i.message}`)).join('; ')}`
      : plan?.action === 'refuse' ? plan.message : `${plan ? `${plan.action} failed` : 'Reconcile failed'}: ${error}`;
    // Ready still tells whether the pods that run serve traffic.
    ready = allReady
      ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `All replicas are ready. Ready: ${counts.readyReplicas}/${want}` }
      : { type: 'Ready', status: 'False', reason, message };
    progressing = { type: 'Progressing', status: 'False', reason, message };
    degraded = { type: 'Degraded', status: 'True', reason, message };
  } else if (waiting !== undefined) {
    phase = 'Updating';
    message = withNotes(waiting);
    ready = { type: 'Ready', status: 'False', reason: 'MovingPrimary', message };
    progressing = { type: 'Progressing', status: 'True', reason: 'MovingPrimary', message };
    degraded = degradedByWarnings;
  } else if (plan?.action === 'rolling-update' || plan?.action === 'recreate' || (rolloutInProgress && !creating)) {
    phase = 'Updating';
    message = withNotes(`StatefulSet is being updated. ${progress}`);
    // The same reason whether the update started in this pass or earlier, so a pass right
    // after the one that acted finds the status unchanged; the Event names the action.
    ready = { type: 'Ready', status: 'False', reason: 'Updating', message };
    progressing = { type: 'Progressing', status: 'True', reason: 'Updating', message };
    degraded = degradedByWarnings;
  } else if (creating) {
    phase = 'Creating';
    message = withNotes(`StatefulSet is being created. Ready: ${counts.readyReplicas}/${want}`);
    ready = { type: 'Ready', status: 'False', reason: 'Creating', message };
    progressing = { type: 'Progressing', status: 'True', reason: 'Creating', message };
    degraded = degradedByWarnings;
  } else if (!allReady) {
    phase = 'Pending';
    message = withNotes(`Waiting for replicas to become ready. Ready: ${counts.readyReplicas}/${want}`);
    ready = { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message };
    progressing = notProgressing;
    degraded = degradedByWarnings;
  } else {
    phase = 'Running';
    message = withNotes(`All replicas are ready. Ready: ${counts.readyReplicas}/${want}`);
    ready = { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `All replicas are ready. Ready: ${counts.readyReplicas}/${want}` };
    progressing = notProgressing;
    degraded = degradedByWarnings;
  }

  // Failover instances: who is the primary, from the role labels (never from Redis).
  const resolved = issues.length === 0 && !instance.metadata.deletionTimestamp ? input.resolved : undefined;
  const roles = resolved?.spec.failover ? primaryStatus(resolved, input.pods ?? []) : undefined;
  // Instances with the pod agent: whether the live config is in force on every pod, from their annotations.
  const configApplied = resolved?.spec.podAgent
    ? configAppliedCondition((input.pods ?? []).map((pod) => ({ name: pod.metadata?.name ?? '', annotations: pod.metadata?.annotations })), liveConfigHash(instanceRedisConfig(resolved.spec)))
    : undefined;
  const drafts = [ready, progressing, degraded, ...(roles ? [roles.condition] : []), ...(configApplied ? [configApplied] : [])];
  const conditions = drafts.map((draft) => condition(draft, instance.status?.conditions, generation, now));
  return {
    phase,
    ready: phase === 'Running',
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...counts,
    ...(roles?.primary ? { primary: roles.primary } : {}),
    conditions,
    ...(input.fingerprint && phase === 'Running' ? { fingerprint: input.fingerprint } : {}),
  };
}

/** lastTransitionTime moves only when the status of that condition type flips. */
function condition(draft: ConditionDraft, previous: readonly Condition[] | undefined, generation: number | undefined, now: Date): Condition {
  const before = previous?.find((c) => c.type === draft.type);
  const lastTransitionTime = before && before.status === draft.status && before.lastTransitionTime
    ? before.lastTransitionTime
    : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type: draft.type, status: draft.status, ...(generation !== undefined ? { observedGeneration: generation } : {}), lastTransitionTime, reason: draft.reason, message: draft.message };
}

/** Equal when everything but the timestamps is the same. */
export function statusEqual(a: RedisInstanceStatus | undefined, b: RedisInstanceStatus | undefined): boolean {
  const strip = (s: RedisInstanceStatus | undefined) => s && {
    ...s,
    conditions: [...(s.conditions ?? [])]
      .map(({ lastTransitionTime: _t, ...rest }) => rest)
      .sort((x, y) => x.type.localeCompare(y.type)),
  };
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}
