import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Condition, ResolvedRedisInstance } from '../api/types';
import { FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, type Role } from '../render/instance';
import { keepsRoleLabel } from '../render/role-agent';
import { SENTINEL_CONTAINER_NAME } from '../render/sentinel';

/**
 * What the reconciler decides from the pods of a failover instance, without any network
 * path to Redis (docs/failover.md, "Reconciler"): which pod is the primary (status), role
 * labels it can correct, and whether a scale-down must first move the primary. Pure.
 *
 * What it can know: each pod's labels and annotations, its Ready condition (Redis ready
 * means "answers, and is a primary or a replica whose link is up"), which containers its
 * spec has and which of them are ready. What it cannot know: a pod's replication role
 * (only the pod's Redis knows; its role agent reads it every second).
 */

export type ConditionDraft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export const PRIMARY_CONDITION = 'PrimaryAvailable';

/** The ordinal of `<instance>-<n>`, or -1 for a pod of another name. */
export function ordinalOf(pod: V1Pod, instance: string): number {
  const name = pod.metadata?.name ?? '';
  const suffix = name.startsWith(`${instance}-`) ? name.slice(instance.length + 1) : '';
  return /^\d+$/.test(suffix) ? Number(suffix) : -1;
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function live(pods: readonly V1Pod[], instance: string): V1Pod[] {
  return pods
    .filter((p) => !p.metadata?.deletionTimestamp && ordinalOf(p, instance) >= 0)
    .sort((a, b) => ordinalOf(a, instance) - ordinalOf(b, instance));
}

const names = (pods: readonly V1Pod[]) => pods.map((p) => p.metadata!.name!).join(', ');
/** The pod's agent keeps its role label (a status-only agent, without failover, does not). */
const hasAgent = (pod: V1Pod) => keepsRoleLabel(pod.spec?.containers);

/** status.primary and the PrimaryAvailable condition of a failover instance. */
export function primaryStatus(resolved: ResolvedRedisInstance, allPods: readonly V1Pod[]): { primary?: string; condition: ConditionDraft } {
  const pods = live(allPods, resolved.name);
  const labelled = pods.filter((p) => p.metadata?.labels?.[ROLE_LABEL] === 'primary');
  const ready = labelled.filter(isReady);
  const type = PRIMARY_CONDITION;
  if (ready.length > 1) {
    return {
      condition: { type, status: 'False', reason: 'MultiplePrimaries', message: `Pods ${names(ready)} are all labelled primary and ready; <name>-primary sends writes to each of them. Sentinel demotes all but one; check each pod's role-agent log.` },
    };
  }
  if (ready.length === 0) {
    if (labelled.length > 0) {
      return {
        ...(labelled.length === 1 ? { primary: labelled[0].metadata!.name! } : {}),
        condition: { type, status: 'False', reason: 'PrimaryNotReady', message: `The pod labelled primary (${names(labelled)}) is not ready: writes fail until it is back or Sentinel promotes a replica.` },
      };
    }
    return { condition: { type, status: 'False', reason: 'NoPrimary', message: `No pod is labelled ${ROLE_LABEL}=primary${pods.length > 0 ? ` (pods: ${names(pods)})` : ''}: writes through ${resolved.name}-primary fail.` } };
  }
  const primary = ready[0].metadata!.name!;
  const quorum = resolved.spec.failover?.quorum ?? 0;
  // Sentinel readiness is known only where the kubelet reports container statuses.
  const reporting = pods.filter((p) => (p.status?.containerStatuses ?? []).some((c) => c.name === SENTINEL_CONTAINER_NAME));
  const sentinels = reporting.filter((p) => p.status!.containerStatuses!.some((c) => c.name === SENTINEL_CONTAINER_NAME && c.ready));
  if (reporting.length > 0 && sentinels.length < quorum) {
    return { primary, condition: { type, status: 'True', reason: 'NoSentinelQuorum', message: `${primary} is the primary, but only ${sentinels.length} Sentinel(s) are ready and the quorum is ${quorum}: a failover could not happen now.` } };
  }
  const unlinked = pods.filter((p) => p !== ready[0] && !isReady(p));
  if (unlinked.length > 0) {
    return { primary, condition: { type, status: 'True', reason: 'ReplicasNotLinked', message: `${primary} is the primary; ${names(unlinked)} not ready (a replica is ready only while its link to the primary is up).` } };
  }
  const replicas = pods.length - 1;
  return { primary, condition: { type, status: 'True', reason: 'PrimaryReady', message: `${primary} is the primary; ${replicas} replica${replicas === 1 ? '' : 's'} linked.` } };
}

export interface RoleCorrection {
  readonly pod: string;
  readonly from?: string;
  readonly to: Role;
  readonly why: string;
}

/**
 * Role labels the reconciler corrects on every pass, as a backstop to the role agents:
 * - a pod without a role agent (it was created before failover was turned on) has the
 *   role its configuration fixed: pod 0 primary, the others replicas of pod 0;
 * - a pod labelled primary that is not ready while exactly one other pod labelled primary
 *   is ready: it lost the role (its agent relabels it as soon as its Redis answers).
 * A pod with a role agent and no label, or the only primary not ready, is left alone:
 * only its Redis knows.
 */
export function roleLabelCorrections(resolved: ResolvedRedisInstance, allPods: readonly V1Pod[]): RoleCorrection[] {
  if (!resolved.spec.failover) return [];
  const pods = live(allPods, resolved.name);
  const out: RoleCorrection[] = [];
  for (const pod of pods.filter((p) => !hasAgent(p))) {
    const to: Role = ordinalOf(pod, resolved.name) === 0 ? 'primary' : 'replica';
    const from = pod.metadata?.labels?.[ROLE_LABEL];
    if (from !== to) out.push({ pod: pod.metadata!.name!, from, to, why: 'no role agent: the role its configuration fixed (pod 0 primary)' });
  }
  const primaries = pods.filter((p) => p.metadata?.labels?.[ROLE_LABEL] === 'primary' && !out.some((c) => c.pod === p.metadata!.name && c.to !== 'primary'));
  const ready = primaries.filter(isReady);
  if (ready.length === 1) {
    for (const pod of primaries.filter((p) => p !== ready[0] && hasAgent(p))) {
      out.push({ pod: pod.metadata!.name!, from: 'primary', to: 'replica', why: `not ready while ${ready[0].metadata!.name} is the ready primary` });
    }
  }
  return out;
}

/** The pod labelled primary: the ready one, else the only one; undefined when there is none or it is ambiguous. */
export function primaryPod(instance: string, allPods: readonly V1Pod[]): V1Pod | undefined {
  const labelled = live(allPods, instance).filter((p) => p.metadata?.labels?.[ROLE_LABEL] === 'primary');
  const ready = labelled.filter(isReady);
  return ready.length === 1 ? ready[0] : ready.length === 0 && labelled.length === 1 ? labelled[0] : undefined;
}

export interface PrimaryMove {
  /** The pod that holds the primary and must lose it first. */
  readonly pod: string;
  /** The primary must end on an ordinal below this. */
  readonly below: number;
  /** The pod's failover request, when one is pending. */
  readonly requestedAt?: string;
  readonly why: string;
}

/**
 * Before a change removes the primary's pod (a scale-down below its ordinal) or turns
 * failover off (pod 0 then is the primary by configuration), the primary must move:
 * undefined when it need not (or no pod is labelled primary: then there is nothing to
 * keep, and waiting would not help).
 */
export function primaryMove(resolved: ResolvedRedisInstance, liveStatefulSet: V1StatefulSet | undefined, allPods: readonly V1Pod[]): PrimaryMove | undefined {
  if (!liveStatefulSet) return undefined;
  const liveReplicas = liveStatefulSet.spec?.replicas ?? 1;
  const liveFailover = keepsRoleLabel(liveStatefulSet.spec?.template?.spec?.containers);
  if (!liveFailover) return undefined;
  const turningOff = !resolved.spec.failover;
  const below = turningOff ? 1 : resolved.spec.replicas;
  if (!turningOff && resolved.spec.replicas >= liveReplicas) return undefined;
  const primary = primaryPod(resolved.name, allPods);
  if (!primary || ordinalOf(primary, resolved.name) < below) return undefined;
  const why = turningOff
    ? `failover is being turned off, and then pod 0 is the primary by configuration`
    : `scaling from ${liveReplicas} to ${resolved.spec.replicas} removes ${primary.metadata!.name}`;
  const requestedAt = primary.metadata?.annotations?.[FAILOVER_REQUESTED_ANNOTATION];
  return { pod: primary.metadata!.name!, below, ...(requestedAt ? { requestedAt } : {}), why };
}
