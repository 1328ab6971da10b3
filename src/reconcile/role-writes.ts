import type { V1Pod } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { FAILOVER_BELOW_ANNOTATION, FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, selectorLabels } from '../render/instance';
import type { KubeClient } from './kube';
import { ordinalOf, primaryPod, type PrimaryMove, type RoleCorrection } from './roles';

/**
 * The reconciler's writes to pods, for failover instances only: the role-label backstop
 * and the failover request before a scale-down (decisions in roles.ts). Never a pod
 * delete, never anything but one label or one annotation.
 */

/** Merge-patch each corrected role label; returns the pods with the patched ones replaced. */
export async function applyRoleCorrections(client: KubeClient, namespace: string, corrections: readonly RoleCorrection[], pods: readonly V1Pod[]): Promise<V1Pod[]> {
  const out = [...pods];
  for (const c of corrections) {
    const patched = await client.patch<V1Pod>('Pod', namespace, c.pod, { metadata: { labels: { [ROLE_LABEL]: c.to } } });
    const i = out.findIndex((p) => p.metadata?.name === c.pod);
    if (i >= 0 && patched?.metadata) out[i] = patched;
  }
  return out;
}

export interface MovePrimaryOptions {
  /** How long to wait, in this pass, for the role label to move. @default 30000 */
  readonly waitMs?: number;
  /** Between LISTs of the instance's pods. @default 1000 */
  readonly pollMs?: number;
  /**
   * A pending request older than this is made again (Sentinel refused it, or the agent was
   * down). @default the instance's failover timeout
   */
  readonly retryAfterMs?: number;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type MoveResult =
  | { readonly moved: true; readonly pods: V1Pod[] }
  /** `requested`: this call annotated the pod (else an earlier request is still pending). */
  | { readonly moved: false; readonly message: string; readonly requested: boolean };

/**
 * Ask the primary's role agent for a Sentinel failover (the annotation) unless a recent
 * request is pending, then LIST the instance's pods until the primary label is below
 * `move.below`, for at most `waitMs`.
 */
export async function movePrimary(client: KubeClient, resolved: ResolvedRedisInstance, move: PrimaryMove, pods: readonly V1Pod[], options: MovePrimaryOptions = {}): Promise<MoveResult> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const waitMs = options.waitMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const retryAfterMs = options.retryAfterMs ?? resolved.spec.failover?.failoverTimeoutMilliseconds ?? 60_000;
  const { namespace, name } = resolved;
  const requested = move.requestedAt ? Date.parse(move.requestedAt) : NaN;
  let requestedAt = move.requestedAt;
  const request = !Number.isFinite(requested) || now().getTime() - requested > retryAfterMs;
  if (request) {
    requestedAt = now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await client.patch('Pod', namespace, move.pod, { metadata: { annotations: { [FAILOVER_REQUESTED_ANNOTATION]: requestedAt, [FAILOVER_BELOW_ANNOTATION]: String(move.below) } } });
  }
  const selector = Object.entries(selectorLabels(name)).map(([k, v]) => `${k}=${v}`).join(',');
  const deadline = Date.now() + waitMs;
  let current = [...pods];
  for (;;) {
    if (!primaryMoveStillNeeded(resolved, move, current)) return { moved: true, pods: current };
    if (Date.now() >= deadline) break;
    await sleep(pollMs);
    current = await client.list<V1Pod>('Pod', namespace, selector);
  }
  return {
    moved: false,
    requested: request,
    message: `Waiting for the primary to move off ${move.pod} (${move.why}); Sentinel failover requested at ${requestedAt}. The change is applied once ${ROLE_LABEL}=primary is on an ordinal below ${move.below}.`,
  };
}

function primaryMoveStillNeeded(resolved: ResolvedRedisInstance, move: PrimaryMove, pods: readonly V1Pod[]): boolean {
  const primary = primaryPod(resolved.name, pods);
  return primary === undefined || ordinalOf(primary, resolved.name) >= move.below;
}
