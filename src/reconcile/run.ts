import type {
  V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Secret, V1Service, V1ServiceAccount,
  V1StatefulSet, V1StorageClass,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { failoverModeOf, type RedisInstanceObject, type RedisPhase } from '../api/types';
import { MANAGED_BY, primaryServiceName, selectorLabels } from '../render/instance';
import { authSecret, desiredFor, type DesiredResult } from './desired';
import { roleAgentName } from '../render/role-agent';
import { applyRoleCorrections, movePrimary } from './role-writes';
import { primaryMove, roleLabelCorrections } from './roles';
import { execute, recordEvent, type EventRecord, type Planned } from './execute';
import { KubeApiError, oneLine, type KubeClient, type RequestCounts } from './kube';
import { Lease } from './lease';
import { DEFAULT_LEASE_NAME } from './permissions';
import { plan, planWrites, type LiveState, type Plan, type Reason } from './plan';
import { computeStatus, desiredStatus, type StatusWarning } from './status';

/**
 * One reconcile pass: LIST each kind once, plan every instance, and only if something must
 * be written take the Lease, LIST again, act per instance (one failure never stops the
 * others), write the status that changed, and give the Lease back.
 */

/** Children are found by this label; RedisInstances are listed without a selector (our CRD). */
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
/** The data claims carry the volumeClaimTemplate's labels (the pod selector labels); matched by name after. */
export const CLAIM_SELECTOR = Object.entries(selectorLabels('')).filter(([k]) => k === 'app.kubernetes.io/name').map(([k, v]) => `${k}=${v}`).join(',');

export interface PassOptions {
  readonly client: KubeClient;
  /** Namespace to reconcile; undefined for all namespaces (-A). */
  readonly namespace?: string;
  /** Plan and report only: no write at all, no Lease. */
  readonly dryRun?: boolean;
  /** Where the Lease lives. */
  readonly leaseNamespace: string;
  /** @default 'redis-gitops-reconciler' */
  readonly leaseName?: string;
  /** @default `<hostname>-<pid>-<random>` */
  readonly holderIdentity?: string;
  /** @default 60 */
  readonly leaseDurationSeconds?: number;
  /** Instances acted on at the same time. @default 8 */
  readonly concurrency?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Passed to execute (tests shorten the waits). */
  readonly goneDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long a pass waits for the primary to move before a scale-down. @default 30000 ms */
  readonly primaryMoveWaitMs?: number;
}

export interface InstanceResult {
  readonly namespace: string;
  readonly name: string;
  readonly action: Plan['action'];
  /** Fields that caused the action, old → new. */
  readonly reasons: readonly Reason[];
  /** Other writes: `patch ConfigMap/cache`, `expand PersistentVolumeClaim/redis-data-cache-0 1Gi → 2Gi`. */
  readonly writes: readonly string[];
  readonly message: string;
  /** The phase the status has (or, with --dry-run, would have). */
  readonly phase: RedisPhase;
  readonly statusChanged: boolean;
  /** Something failed after retries (the run exits 1). */
  readonly error?: string;
  /** Non-fatal problems (e.g. an Event could not be recorded, a Secret could not be read). */
  readonly warnings: readonly string[];
}

export interface PassResult {
  readonly instances: readonly InstanceResult[];
  /** Requests sent by verb, and in total. */
  readonly requests: RequestCounts & { readonly total: number; readonly writes: number };
  /** Set when another run holds the Lease: this run did nothing. */
  readonly leaseHeld?: { readonly holder: string; readonly until: string };
  /** An error that stopped the whole pass (a LIST failed after retries). */
  readonly error?: string;
  readonly dryRun: boolean;
}

interface World {
  readonly instances: RedisInstanceObject[];
  readonly statefulSets: Map<string, V1StatefulSet>;
  readonly configMaps: Map<string, V1ConfigMap>;
  readonly services: Map<string, V1Service>;
  readonly pdbs: Map<string, V1PodDisruptionBudget>;
  readonly pvcs: Map<string, V1PersistentVolumeClaim[]>;
  readonly secrets: Map<string, Map<string, V1Secret>>;
  readonly secretErrors: Map<string, string>;
  storageClasses?: V1StorageClass[];
  /** Listed only when some instance has failover. */
  readonly serviceAccounts: Map<string, V1ServiceAccount>;
  readonly roles: Map<string, V1Role>;
  readonly roleBindings: Map<string, V1RoleBinding>;
  /** By `namespace/instance` (the app.kubernetes.io/instance label). */
  readonly pods: Map<string, V1Pod[]>;
}

interface Assessed {
  readonly instance: RedisInstanceObject;
  readonly desired: DesiredResult;
  readonly live?: LiveState;
  readonly plan?: Plan;
  readonly warnings: readonly StatusWarning[];
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

function byKey<T extends { metadata?: { namespace?: string; name?: string } }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [key(item.metadata?.namespace, item.metadata?.name), item]));
}

async function readWorld(client: KubeClient, namespace: string | undefined): Promise<World> {
  const instances = await client.list<RedisInstanceObject>('RedisInstance', namespace);
  const world: World = {
    instances, statefulSets: new Map(), configMaps: new Map(), services: new Map(), pdbs: new Map(), pvcs: new Map(),
    secrets: new Map(), secretErrors: new Map(), serviceAccounts: new Map(), roles: new Map(), roleBindings: new Map(), pods: new Map(),
  };
  if (instances.length === 0) return world;
  if (instances.some((i) => failoverModeOf(i.spec) === 'sentinel')) await readFailoverWorld(client, namespace, world);
  const authNamespaces = [...new Set(instances.filter((i) => i.spec?.auth?.secretName).map((i) => i.metadata.namespace ?? 'default'))];
  const [statefulSets, configMaps, services, pdbs, pvcs] = await Promise.all([
    client.list<V1StatefulSet>('StatefulSet', namespace, MANAGED_SELECTOR),
    client.list<V1ConfigMap>('ConfigMap', namespace, MANAGED_SELECTOR),
    client.list<V1Service>('Service', namespace, MANAGED_SELECTOR),
    client.list<V1PodDisruptionBudget>('PodDisruptionBudget', namespace, MANAGED_SELECTOR),
    client.list<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, CLAIM_SELECTOR),
    ...authNamespaces.map(async (ns) => {
      try {
        world.secrets.set(ns, byKeyName(await client.list<V1Secret>('Secret', ns)));
      } catch (error) {
        // RBAC grants Secret reads only in the namespaces the construct lists.
        world.secretErrors.set(ns, error instanceof Error ? oneLine(error) : String(error));
      }
      return [];
    }),
  ]);
  for (const [k, v] of byKey(statefulSets)) world.statefulSets.set(k, v);
  for (const [k, v] of byKey(configMaps)) world.configMaps.set(k, v);
  for (const [k, v] of byKey(services)) world.services.set(k, v);
  for (const [k, v] of byKey(pdbs)) world.pdbs.set(k, v);
  for (const claim of pvcs) {
    const ns = claim.metadata?.namespace ?? '';
    const claims = world.pvcs.get(ns);
    if (claims) claims.push(claim);
    else world.pvcs.set(ns, [claim]);
  }
  return world;
}

/** What failover instances add: the role agents' RBAC and the pods (for their role labels). */
async function readFailoverWorld(client: KubeClient, namespace: string | undefined, world: World): Promise<void> {
  const [serviceAccounts, roles, roleBindings, pods] = await Promise.all([
    client.list<V1ServiceAccount>('ServiceAccount', namespace, MANAGED_SELECTOR),
    client.list<V1Role>('Role', namespace, MANAGED_SELECTOR),
    client.list<V1RoleBinding>('RoleBinding', namespace, MANAGED_SELECTOR),
    client.list<V1Pod>('Pod', namespace, MANAGED_SELECTOR),
  ]);
  for (const [k, v] of byKey(serviceAccounts)) world.serviceAccounts.set(k, v);
  for (const [k, v] of byKey(roles)) world.roles.set(k, v);
  for (const [k, v] of byKey(roleBindings)) world.roleBindings.set(k, v);
  for (const pod of pods) {
    const k = key(pod.metadata?.namespace, pod.metadata?.labels?.['app.kubernetes.io/instance']);
    world.pods.set(k, [...(world.pods.get(k) ?? []), pod]);
  }
}

function byKeyName(secrets: V1Secret[]): Map<string, V1Secret> {
  return new Map(secrets.map((s) => [s.metadata?.name ?? '', s]));
}

function liveFor(world: World, namespace: string, name: string): LiveState {
  const services = [name, primaryServiceName(name)]
    .map((n) => world.services.get(key(namespace, n)))
    .filter((s): s is V1Service => s !== undefined);
  return {
    statefulSet: world.statefulSets.get(key(namespace, name)),
    configMap: world.configMaps.get(key(namespace, name)),
    services,
    podDisruptionBudget: world.pdbs.get(key(namespace, name)),
    pvcs: world.pvcs.get(namespace) ?? [],
    ...(world.storageClasses ? { storageClasses: world.storageClasses } : {}),
    serviceAccount: world.serviceAccounts.get(key(namespace, roleAgentName(name))),
    role: world.roles.get(key(namespace, roleAgentName(name))),
    roleBinding: world.roleBindings.get(key(namespace, roleAgentName(name))),
    pods: world.pods.get(key(namespace, name)) ?? [],
  };
}

function assess(world: World, instance: RedisInstanceObject): Assessed {
  const namespace = instance.metadata.namespace ?? 'default';
  const { secretHash: hash, warning } = authSecret(instance, { secrets: world.secrets.get(namespace), error: world.secretErrors.get(namespace) });
  const warnings = warning ? [warning] : [];
  const desired = desiredFor(instance, { secretHash: hash });
  if (!desired.ok || instance.metadata.deletionTimestamp) return { instance, desired, warnings };
  const live = liveFor(world, namespace, instance.metadata.name);
  return { instance, desired, live, plan: plan(desired, live), warnings };
}

/** Plan every instance; LIST StorageClasses once if some plan considers an expansion. */
async function assessAll(client: KubeClient, world: World): Promise<Assessed[]> {
  let assessed = world.instances.map((i) => assess(world, i));
  if (assessed.some((a) => a.plan?.needsStorageClasses)) {
    world.storageClasses = await client.list<V1StorageClass>('StorageClass', undefined);
    assessed = assessed.map((a) => (a.plan?.needsStorageClasses ? assess(world, a.instance) : a));
  }
  return assessed;
}

function issuesOf(a: Assessed) {
  return a.desired.ok ? [] : a.desired.issues;
}

function needsWrite(a: Assessed, now: Date): boolean {
  if (a.plan && planWrites(a.plan)) return true;
  if (a.desired.ok && a.live && roleLabelCorrections(a.desired.resolved, a.live.pods ?? []).length > 0) return true;
  return computeStatus({ instance: a.instance, statefulSet: a.live?.statefulSet, plan: a.plan, issues: issuesOf(a), warnings: a.warnings, now, pods: a.live?.pods }) !== undefined;
}

function writesOf(p: Plan | undefined): string[] {
  if (!p) return [];
  return [
    ...p.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`),
    ...p.pvcExpansions.map((e) => `expand PersistentVolumeClaim/${e.name} ${e.from} → ${e.to}`),
  ];
}

function messageOf(a: Assessed): string {
  if (!a.desired.ok) return `invalid spec: ${a.desired.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  if (a.instance.metadata.deletionTimestamp) return 'being deleted';
  return a.plan?.message ?? '';
}

function counts(client: KubeClient): PassResult['requests'] {
  return { ...client.counts, total: client.total, writes: client.writes };
}

/** Run one pass. Never throws for API errors: they are in the result. */
export async function runPass(options: PassOptions): Promise<PassResult> {
  const { client } = options;
  const now = options.now ?? (() => new Date());
  const dryRun = options.dryRun ?? false;
  let world: World;
  try {
    world = await readWorld(client, options.namespace);
  } catch (error) {
    return { instances: [], requests: counts(client), error: error instanceof Error ? oneLine(error) : String(error), dryRun };
  }
  const assessed = await assessAll(client, world).catch((error) => error as Error);
  if (assessed instanceof Error) return { instances: [], requests: counts(client), error: oneLine(assessed), dryRun };

  const at = now();
  if (dryRun || !assessed.some((a) => needsWrite(a, at))) {
    // Nothing to write (or not allowed to): report what is, or what would be done. No Lease.
    const instances = assessed.map((a): InstanceResult => {
      const input = { instance: a.instance, statefulSet: a.live?.statefulSet, plan: a.plan, issues: issuesOf(a), warnings: a.warnings, now: at, pods: a.live?.pods };
      return {
        namespace: a.instance.metadata.namespace ?? 'default',
        name: a.instance.metadata.name,
        action: a.plan?.action ?? 'none',
        reasons: a.plan?.reasons ?? [],
        writes: writesOf(a.plan),
        message: messageOf(a),
        phase: desiredStatus(input).phase ?? 'Unknown',
        statusChanged: computeStatus(input) !== undefined,
        warnings: a.warnings.map((w) => w.message),
      };
    });
    return { instances, requests: counts(client), dryRun };
  }

  const leaseNamespace = options.leaseNamespace;
  const leaseName = options.leaseName ?? DEFAULT_LEASE_NAME;
  let lease: Lease;
  try {
    const taken = await Lease.acquire(client, {
      namespace: leaseNamespace, name: leaseName, now,
      holderIdentity: options.holderIdentity ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      durationSeconds: options.leaseDurationSeconds ?? 60,
    });
    if (!taken.acquired) {
      return { instances: [], requests: counts(client), leaseHeld: { holder: taken.holder, until: taken.until.toISOString() }, dryRun };
    }
    lease = taken.lease;
  } catch (error) {
    return { instances: [], requests: counts(client), error: `cannot take the Lease ${leaseNamespace}/${leaseName}: ${error instanceof Error ? oneLine(error) : String(error)}`, dryRun };
  }

  // Released before the counts are taken, so the release is counted too.
  let outcome: Omit<PassResult, 'requests'>;
  try {
    outcome = await actWithLease(client, lease, options, now, dryRun);
  } finally {
    await lease.release();
  }
  return { ...outcome, requests: counts(client) };
}

async function actWithLease(client: KubeClient, lease: Lease, options: PassOptions, now: () => Date, dryRun: boolean): Promise<Omit<PassResult, 'requests'>> {
  // The world may have moved while we waited for the Lease: read and plan again.
  let world: World;
  let assessed: Assessed[];
  try {
    world = await readWorld(client, options.namespace);
    assessed = await assessAll(client, world);
  } catch (error) {
    return { instances: [], error: error instanceof Error ? oneLine(error) : String(error), dryRun };
  }
  const instances = await mapLimit(assessed, options.concurrency ?? 8, async (a): Promise<InstanceResult> => {
    try {
      await lease.keep();
      return await reconcileInstance(client, world, a, options, now);
    } catch (error) {
      // Losing the Lease (or a bug) stops this instance, never the others' report.
      const message = error instanceof Error ? oneLine(error) : String(error);
      return {
        namespace: a.instance.metadata.namespace ?? 'default', name: a.instance.metadata.name, action: a.plan?.action ?? 'none',
        reasons: a.plan?.reasons ?? [], writes: [], message, phase: a.instance.status?.phase ?? 'Unknown', statusChanged: false, error: message, warnings: a.warnings.map((w) => w.message),
      };
    }
  });
  return { instances, dryRun };
}

async function reconcileInstance(client: KubeClient, world: World, a: Assessed, options: PassOptions, now: () => Date): Promise<InstanceResult> {
  const namespace = a.instance.metadata.namespace ?? 'default';
  const name = a.instance.metadata.name;
  const warnings = a.warnings.map((w) => w.message);
  let finalPlan = a.plan;
  let statefulSet = a.live?.statefulSet;
  let error: string | undefined;
  const events: EventRecord[] = [];

  const desired = a.desired;
  let live = a.live;
  let pods = a.live?.pods;
  let waiting: string | undefined;
  if (desired.ok && a.plan && live) {
    // Failover instances: the role-label backstop, then no change that drops the primary's pod blindly.
    try {
      const corrections = roleLabelCorrections(desired.resolved, pods ?? []);
      if (corrections.length > 0) {
        pods = await applyRoleCorrections(client, namespace, corrections, pods ?? []);
        events.push({ reason: 'RoleLabels', type: 'Normal', message: `Corrected role labels: ${corrections.map((c) => `${c.pod} ${c.from ?? '(none)'} → ${c.to} (${c.why})`).join('; ')}` });
      }
      const move = planWrites(a.plan) ? primaryMove(desired.resolved, live.statefulSet, pods ?? []) : undefined;
      if (move) {
        const moved = await movePrimary(client, desired.resolved, move, pods ?? [], { waitMs: options.primaryMoveWaitMs, sleep: options.sleep, now });
        if (moved.moved) {
          live = await refreshLive(client, world, namespace, name);
          pods = live.pods;
          finalPlan = plan(desired, live);
        } else {
          waiting = moved.message;
          if (moved.requested) events.push({ reason: 'MovingPrimary', type: 'Normal', message: moved.message });
        }
      }
    } catch (e) {
      error = e instanceof Error ? oneLine(e) : String(e);
    }
  }

  if (desired.ok && finalPlan && live && planWrites(finalPlan) && !waiting && !error) {
    const refresh = async (): Promise<Planned> => {
      const live = await refreshLive(client, world, namespace, name);
      return { desired, live, plan: plan(desired, live) };
    };
    const result = await execute(client, { desired, live, plan: finalPlan }, {
      refresh, goneDelayMs: options.goneDelayMs, sleep: options.sleep,
    });
    finalPlan = result.plan;
    statefulSet = result.statefulSet ?? statefulSet;
    error = result.error;
    events.push(...result.events);
  }

  const at = now();
  const input = { instance: a.instance, statefulSet, plan: finalPlan, issues: issuesOf(a), warnings: a.warnings, error, now: at, pods, waiting };
  const status = computeStatus(input);
  const phase = (status ?? desiredStatus(input)).phase ?? 'Unknown';
  if (status) {
    try {
      await client.patchStatus(namespace, name, status);
      // Failures that are not actions get their Event when the status turns Failed.
      if (status.phase === 'Failed' && a.instance.status?.phase !== 'Failed' && events.length === 0) {
        events.push({ reason: finalPlan?.action === 'refuse' ? 'Refused' : 'InvalidSpec', type: 'Warning', message: status.message ?? 'Failed' });
      }
    } catch (e) {
      // The instance may be gone since we read it.
      if (!(e instanceof KubeApiError && e.notFound)) {
        const message = e instanceof Error ? oneLine(e) : String(e);
        error = error ? `${error}; ${message}` : message;
      }
    }
  }
  for (const event of events) {
    const failed = await recordEvent(client, a.instance, event, at);
    if (failed) warnings.push(`Event ${event.reason} not recorded: ${failed}`);
  }
  return {
    namespace, name,
    action: finalPlan?.action ?? 'none',
    reasons: finalPlan?.reasons ?? [],
    writes: waiting ? [] : writesOf(finalPlan),
    message: error ? `${finalPlan?.message ?? ''} — failed: ${error}` : waiting ?? messageOf({ ...a, plan: finalPlan }),
    phase,
    statusChanged: status !== undefined,
    ...(error ? { error } : {}),
    warnings,
  };
}

/** After a 409: GET the instance's objects by name (rare, so not a LIST). */
async function refreshLive(client: KubeClient, world: World, namespace: string, name: string): Promise<LiveState> {
  const [statefulSet, configMap, service, primary, podDisruptionBudget, pvcs] = await Promise.all([
    client.get<V1StatefulSet>('StatefulSet', namespace, name),
    client.get<V1ConfigMap>('ConfigMap', namespace, name),
    client.get<V1Service>('Service', namespace, name),
    client.get<V1Service>('Service', namespace, primaryServiceName(name)),
    client.get<V1PodDisruptionBudget>('PodDisruptionBudget', namespace, name),
    client.list<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, `app.kubernetes.io/instance=${name}`),
  ]);
  const instance = world.instances.find((i) => i.metadata.name === name && (i.metadata.namespace ?? 'default') === namespace);
  const failover = instance !== undefined && failoverModeOf(instance.spec) === 'sentinel';
  const agent = roleAgentName(name);
  const [serviceAccount, role, roleBinding, pods] = failover ? await Promise.all([
    client.get<V1ServiceAccount>('ServiceAccount', namespace, agent),
    client.get<V1Role>('Role', namespace, agent),
    client.get<V1RoleBinding>('RoleBinding', namespace, agent),
    client.list<V1Pod>('Pod', namespace, Object.entries(selectorLabels(name)).map(([k, v]) => `${k}=${v}`).join(',')),
  ]) : [undefined, undefined, undefined, []];
  return {
    statefulSet, configMap, podDisruptionBudget,
    services: [service, primary].filter((s): s is V1Service => s !== undefined),
    pvcs,
    ...(world.storageClasses ? { storageClasses: world.storageClasses } : {}),
    serviceAccount, role, roleBinding, pods,
  };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
