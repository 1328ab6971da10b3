import type { V1StatefulSet } from '@kubernetes/client-node';
import { KubeApiError, type KubeClient, oneLine } from './kube';
import type { Desired } from './desired';
import { summarize } from './format';
import { planWrites, type ChildWrite, type LiveState, type Plan } from './plan';

/**
 * Carries out one instance's plan against the API. Never deletes a PVC or a pod. Writes are
 * idempotent and ordered so that a crash at any point is healed by the next pass: the
 * ConfigMap and Services exist before the StatefulSet; a recreate orphan-deletes and then
 * creates (a missing StatefulSet is created next pass, and adopts the running pods); claims
 * are expanded after the StatefulSet asks for their new size (the next pass expands any
 * claim still smaller).
 */

export interface Planned {
  readonly desired: Desired;
  readonly live: LiveState;
  readonly plan: Plan;
}

export interface ExecuteOptions {
  /** Re-read the instance's objects and plan again, after a 409. */
  readonly refresh: () => Promise<Planned>;
  /** Conflicts (409) re-read and retried this many times. @default 3 */
  readonly conflictRetries?: number;
  /** How long to wait for an orphan-deleted StatefulSet to disappear. @default 30 attempts */
  readonly goneAttempts?: number;
  /** Delay between those checks. @default 200 ms */
  readonly goneDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface EventRecord {
  readonly reason: string;
  readonly type: 'Normal' | 'Warning';
  readonly message: string;
}

export interface ExecuteResult {
  /** The plan finally carried out (after any re-plan). */
  readonly plan: Plan;
  /** The StatefulSet as the last write returned it, or as read when it was not written. */
  readonly statefulSet?: V1StatefulSet;
  /** What was done, as Events to record on the instance. */
  readonly events: readonly EventRecord[];
  /** One line, when something failed after retries. */
  readonly error?: string;
}

class Replan extends Error {}

export async function execute(client: KubeClient, planned: Planned, options: ExecuteOptions): Promise<ExecuteResult> {
  const retries = options.conflictRetries ?? 3;
  let current = planned;
  const events: EventRecord[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const statefulSet = await executeOnce(client, current, events, options);
      return { plan: current.plan, statefulSet, events };
    } catch (caught) {
      let error = caught;
      const conflict = error instanceof Replan || (error instanceof KubeApiError && (error.conflict || error.alreadyExists));
      if (conflict && attempt < retries) {
        try {
          current = await options.refresh();
          if (!planWrites(current.plan)) return { plan: current.plan, statefulSet: current.live.statefulSet, events };
          continue;
        } catch (refreshError) {
          error = refreshError;
        }
      }
      const message = error instanceof Error ? oneLine(error) : String(error);
      events.push({ reason: 'Failed', type: 'Warning', message: `${current.plan.action === 'none' ? 'update of children' : current.plan.action} failed: ${message}` });
      return { plan: current.plan, statefulSet: current.live.statefulSet, events, error: message };
    }
  }
}

async function executeOnce(client: KubeClient, planned: Planned, events: EventRecord[], options: ExecuteOptions): Promise<V1StatefulSet | undefined> {
  const { desired, live, plan } = planned;
  if (plan.action === 'refuse') return live.statefulSet;
  const namespace = desired.resolved.namespace;
  const name = desired.resolved.name;
  const wanted = desired.objects.statefulSet;

  // Children first (ConfigMap and Services must exist before pods start), deletes last.
  const first = plan.childWrites.filter((w) => w.verb !== 'delete');
  const last = plan.childWrites.filter((w) => w.verb === 'delete');
  let statefulSet = live.statefulSet;
  for (const write of first) {
    const result = await writeChild(client, namespace, write);
    if (write.kind === 'StatefulSet' && result) statefulSet = result as V1StatefulSet;
  }

  switch (plan.action) {
    case 'create':
      statefulSet = await createStatefulSet(client, namespace, wanted);
      events.push({ reason: 'Created', type: 'Normal', message: `Created StatefulSet ${name} with ${wanted.spec?.replicas ?? 1} replica(s)${childSummary(first)}` });
      break;
    case 'rolling-update': {
      const patch = plan.statefulSetPatch as { metadata?: object } | undefined;
      // resourceVersion makes the patch conditional: if the StatefulSet moved since we read it, 409 → re-read, re-plan.
      statefulSet = await client.patch<V1StatefulSet>('StatefulSet', namespace, name, {
        ...patch, metadata: { ...patch?.metadata, resourceVersion: live.statefulSet?.metadata?.resourceVersion },
      });
      events.push({ reason: 'RollingUpdate', type: 'Normal', message: `Rolling update of StatefulSet ${name}: ${summarize(plan.reasons)}${childSummary(first)}` });
      break;
    }
    case 'recreate': {
      const uid = live.statefulSet?.metadata?.uid;
      // Orphan: the pods stay (and keep serving); the uid precondition makes sure we delete the one we planned for.
      await client.delete('StatefulSet', namespace, name, { propagationPolicy: 'Orphan', ...(uid ? { uid } : {}) });
      statefulSet = await createAfterDelete(client, namespace, withForeignMetadata(wanted, live.statefulSet), uid, options);
      events.push({ reason: 'Recreated', type: 'Normal', message: `Recreated StatefulSet ${name} (orphan delete; the pods were adopted): ${summarize(plan.reasons)}${childSummary(first)}` });
      break;
    }
    case 'none':
      if (first.length > 0) events.push({ reason: 'Synced', type: 'Normal', message: `Repaired drift: ${first.map(describeWrite).join('; ')}` });
      break;
  }

  if (plan.pvcExpansions.length > 0) {
    for (const expansion of plan.pvcExpansions) {
      await client.patch('PersistentVolumeClaim', namespace, expansion.name, { spec: { resources: { requests: { storage: expansion.to } } } });
    }
    events.push({ reason: 'ExpandedClaims', type: 'Normal', message: `Expanded claims: ${plan.pvcExpansions.map((e) => `${e.name} ${e.from} → ${e.to}`).join(', ')}` });
  }
  if (plan.claimsKeepingSize.length > 0 && (plan.action === 'recreate' || plan.action === 'create')) {
    events.push({ reason: 'ClaimsNotExpanded', type: 'Warning', message: plan.claimsKeepingSize.map((c) => `${c.name} keeps its size ${c.size}: ${c.why}`).join('; ') });
  }
  for (const write of last) await writeChild(client, namespace, write);
  if (last.length > 0 && plan.action !== 'none') {
    events.push({ reason: 'Synced', type: 'Normal', message: last.map(describeWrite).join('; ') });
  } else if (last.length > 0) {
    events.push({ reason: 'Synced', type: 'Normal', message: `Removed: ${last.map(describeWrite).join('; ')}` });
  }
  return statefulSet;
}

/**
 * The new StatefulSet keeps the labels and annotations others put on the old one (Argo CD's
 * tracking id, its sync wave, kubectl's last-applied configuration); ours win.
 */
function withForeignMetadata(wanted: V1StatefulSet, old: V1StatefulSet | undefined): V1StatefulSet {
  if (!old?.metadata) return wanted;
  return {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      labels: { ...old.metadata.labels, ...wanted.metadata?.labels },
      annotations: { ...old.metadata.annotations, ...wanted.metadata?.annotations },
    },
  };
}

function describeWrite(write: ChildWrite): string {
  const fields = write.reasons.map((r) => r.field).filter(Boolean);
  return `${write.verb} ${write.kind}/${write.name}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}`;
}

function childSummary(writes: readonly ChildWrite[]): string {
  const other = writes.filter((w) => w.kind !== 'StatefulSet');
  return other.length > 0 ? `; also ${other.map((w) => `${w.verb} ${w.kind}/${w.name}`).join(', ')}` : '';
}

async function writeChild(client: KubeClient, namespace: string, write: ChildWrite): Promise<unknown> {
  switch (write.verb) {
    case 'create':
      try {
        return await client.create(write.kind, namespace, write.body);
      } catch (error) {
        // Someone (Argo CD, another run) created it since we read: re-read and compare.
        if (error instanceof KubeApiError && error.alreadyExists) throw new Replan(error.message);
        throw error;
      }
    case 'patch':
      return client.patch(write.kind, namespace, write.name, write.patch);
    case 'delete':
      return client.delete(write.kind, namespace, write.name, write.uid ? { uid: write.uid } : {});
    case 'replace':
      await client.delete(write.kind, namespace, write.name, write.uid ? { uid: write.uid } : {});
      return client.create(write.kind, namespace, write.body);
  }
}

async function createStatefulSet(client: KubeClient, namespace: string, body: V1StatefulSet): Promise<V1StatefulSet> {
  try {
    return await client.create<V1StatefulSet>('StatefulSet', namespace, body);
  } catch (error) {
    if (error instanceof KubeApiError && error.alreadyExists) throw new Replan(error.message);
    throw error;
  }
}

/**
 * Create the StatefulSet again once the orphan-deleted one is gone (the garbage collector
 * first removes the pods' ownerReferences, then the object). If another one appears in
 * between, plan again.
 */
async function createAfterDelete(client: KubeClient, namespace: string, body: V1StatefulSet, oldUid: string | undefined, options: ExecuteOptions): Promise<V1StatefulSet> {
  const attempts = options.goneAttempts ?? 30;
  const delay = options.goneDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const name = body.metadata!.name!;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.create<V1StatefulSet>('StatefulSet', namespace, body);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.alreadyExists)) throw error;
      const existing = await client.get<V1StatefulSet>('StatefulSet', namespace, name);
      if (existing && existing.metadata?.uid !== oldUid) throw new Replan('another StatefulSet was created meanwhile');
      if (attempt >= attempts) {
        throw new Error(`StatefulSet ${namespace}/${name} is still being deleted after ${attempts} checks; the next pass creates it`);
      }
      await sleep(delay);
    }
  }
}
