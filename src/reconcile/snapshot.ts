import type {
  V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Secret, V1Service,
  V1ServiceAccount, V1StatefulSet, V1StorageClass,
} from '@kubernetes/client-node';
import { podAgentOf, type RedisInstanceObject } from '../api/types';
import { MANAGED_BY, primaryServiceName, roleAgentName, selectorLabels } from '../render/names';
import { DATA_VOLUME } from '../render/pod';
import { oneLine, type KubeClient } from './kube';
import type { LiveState } from './plan';

/**
 * The read step of a pass: one paginated LIST per kind (never a GET per instance), handed
 * on a namespace at a time, and the live objects of one instance taken from it. After a
 * 409 the instance's objects are read again by name.
 */

/** Children are found by this label; RedisInstances are listed without a selector (our CRD). */
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
/** The data claims carry the volumeClaimTemplate's labels (the pod selector labels); matched by name after. */
export const CLAIM_SELECTOR = Object.entries(selectorLabels('')).filter(([k]) => k === 'app.kubernetes.io/name').map(([k, v]) => `${k}=${v}`).join(',');

/**
 * What one read of the cluster returned for one namespace: the pass reads every kind page
 * by page, in the apiserver's key order (namespace, then name), and hands on each
 * namespace as soon as every kind has been read past it, so memory holds one namespace
 * and a page per kind, not the whole cluster.
 */
export interface Snapshot {
  readonly namespace: string;
  readonly instances: readonly RedisInstanceObject[];
  /** By `namespace/name`. */
  readonly statefulSets: ReadonlyMap<string, V1StatefulSet>;
  readonly configMaps: ReadonlyMap<string, V1ConfigMap>;
  readonly services: ReadonlyMap<string, V1Service>;
  readonly podDisruptionBudgets: ReadonlyMap<string, V1PodDisruptionBudget>;
  /** The namespace's data claims, by the instance their name says (`redis-data-<instance>-<ordinal>`). */
  readonly claims: ReadonlyMap<string, readonly V1PersistentVolumeClaim[]>;
  /** The namespace's Secrets by name, when it has instances with `spec.auth`. */
  readonly secrets?: ReadonlyMap<string, V1Secret>;
  /** Why the namespace's Secrets could not be listed (RBAC grants them only where the construct says). */
  readonly secretError?: string;
  /** Every StorageClass; read only when some plan considers an expansion. */
  readonly storageClasses?: readonly V1StorageClass[];
  /**
   * Namespaces with instances that run the pod agent (spec.podAgent, on with failover): the
   * agents' RBAC by `namespace/name`, and the pods by instance (role labels, config status).
   */
  readonly failover?: {
    readonly serviceAccounts: ReadonlyMap<string, V1ServiceAccount>;
    readonly roles: ReadonlyMap<string, V1Role>;
    readonly roleBindings: ReadonlyMap<string, V1RoleBinding>;
    readonly pods: ReadonlyMap<string, readonly V1Pod[]>;
  };
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;
const namespaceOf = (item: { metadata?: { namespace?: string } }) => item.metadata?.namespace ?? '';
/**
 * Namespaces in the order the apiserver lists them: by key, `<namespace>/<name>`, so `a-b`
 * comes before `a` ('-' sorts before '/').
 */
const before = (a: string, b: string) => `${a}/` < `${b}/`;

function byKey<T extends { metadata?: { namespace?: string; name?: string } }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [key(item.metadata?.namespace, item.metadata?.name), item]));
}

const CLAIM_NAME = new RegExp(`^${DATA_VOLUME}-(.+)-\\d+$`);

/**
 * Claims grouped by instance name, so planning an instance does not scan every claim of
 * its namespace. The plan still matches them by name (instanceClaims).
 */
function byInstance(claims: readonly V1PersistentVolumeClaim[]): Map<string, V1PersistentVolumeClaim[]> {
  const out = new Map<string, V1PersistentVolumeClaim[]>();
  for (const claim of claims) {
    const instance = CLAIM_NAME.exec(claim.metadata?.name ?? '')?.[1];
    if (instance === undefined) continue;
    const list = out.get(instance);
    if (list) list.push(claim);
    else out.set(instance, [claim]);
  }
  return out;
}

/** One kind's LIST, read a page at a time into a buffer of what has not been handed on yet. */
class KindStream<T extends { metadata?: { namespace?: string; name?: string } }> {
  private buffer: T[] = [];
  private done = false;
  constructor(private readonly pages: AsyncIterator<T[]>) {}

  /** True once every object of `namespace` is in the buffer (the LIST went past it, or ended). */
  private complete(namespace: string): boolean {
    return this.done || (this.buffer.length > 0 && before(namespace, namespaceOf(this.buffer[this.buffer.length - 1])));
  }

  async readPast(namespace: string): Promise<void> {
    while (!this.complete(namespace)) {
      const next = await this.pages.next();
      if (next.done) this.done = true;
      else this.buffer.push(...next.value);
    }
  }

  /** The first namespace in the buffer (reading a page if it is empty), or undefined at the end. */
  async firstNamespace(): Promise<string | undefined> {
    while (this.buffer.length === 0 && !this.done) {
      const next = await this.pages.next();
      if (next.done) this.done = true;
      else this.buffer.push(...next.value);
    }
    return this.buffer.length > 0 ? namespaceOf(this.buffer[0]) : undefined;
  }

  /** Hand on the objects of `namespace`, dropping those of namespaces before it (no instance there). */
  take(namespace: string): T[] {
    let start = 0;
    while (start < this.buffer.length && before(namespaceOf(this.buffer[start]), namespace)) start++;
    let end = start;
    while (end < this.buffer.length && namespaceOf(this.buffer[end]) === namespace) end++;
    const taken = this.buffer.slice(start, end);
    this.buffer = this.buffer.slice(end);
    return taken;
  }
}

/**
 * LIST every kind a pass needs (`namespace` undefined for all namespaces) and yield one
 * Snapshot per namespace that has RedisInstances, in order. Throws when a LIST fails
 * after retries. The child kinds are read only when there is at least one instance, and
 * `beforeChildren` runs once just before they are (the pass sights the Lease there).
 */
export async function* readSnapshots(client: KubeClient, namespace: string | undefined, beforeChildren?: () => Promise<void>): AsyncGenerator<Snapshot> {
  const instances = new KindStream(client.pages<RedisInstanceObject>('RedisInstance', namespace));
  let next = await instances.firstNamespace();
  if (next === undefined) return;
  await beforeChildren?.();
  const statefulSets = new KindStream(client.pages<V1StatefulSet>('StatefulSet', namespace, MANAGED_SELECTOR));
  const configMaps = new KindStream(client.pages<V1ConfigMap>('ConfigMap', namespace, MANAGED_SELECTOR));
  const services = new KindStream(client.pages<V1Service>('Service', namespace, MANAGED_SELECTOR));
  const podDisruptionBudgets = new KindStream(client.pages<V1PodDisruptionBudget>('PodDisruptionBudget', namespace, MANAGED_SELECTOR));
  const claims = new KindStream(client.pages<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, CLAIM_SELECTOR));
  const all = [instances, statefulSets, configMaps, services, podDisruptionBudgets, claims] as const;
  while (next !== undefined) {
    const ns = next;
    await Promise.all(all.map((stream) => stream.readPast(ns)));
    const here = instances.take(ns);
    let secrets: Map<string, V1Secret> | undefined;
    let secretError: string | undefined;
    if (here.some((i) => i.spec?.auth?.secretName)) {
      try {
        secrets = new Map((await client.list<V1Secret>('Secret', ns)).map((s) => [s.metadata?.name ?? '', s]));
      } catch (error) {
        // RBAC grants Secret reads only in the namespaces the construct lists.
        secretError = error instanceof Error ? oneLine(error) : String(error);
      }
    }
    const failover = here.some((i) => podAgentOf(i.spec)) ? await readFailover(client, ns) : undefined;
    yield {
      namespace: ns,
      instances: here,
      ...(failover ? { failover } : {}),
      statefulSets: byKey(statefulSets.take(ns)),
      configMaps: byKey(configMaps.take(ns)),
      services: byKey(services.take(ns)),
      podDisruptionBudgets: byKey(podDisruptionBudgets.take(ns)),
      claims: byInstance(claims.take(ns)),
      ...(secrets ? { secrets } : {}),
      ...(secretError ? { secretError } : {}),
    };
    next = await instances.firstNamespace();
  }
}

/**
 * What a namespace with pod-agent instances adds: the agents' ServiceAccounts, Roles and
 * RoleBindings, and the pods (role labels, config status). Four LISTs in that namespace,
 * like the Secrets: rare enough not to stream.
 */
async function readFailover(client: KubeClient, namespace: string): Promise<NonNullable<Snapshot['failover']>> {
  const [serviceAccounts, roles, roleBindings, pods] = await Promise.all([
    client.list<V1ServiceAccount>('ServiceAccount', namespace, MANAGED_SELECTOR),
    client.list<V1Role>('Role', namespace, MANAGED_SELECTOR),
    client.list<V1RoleBinding>('RoleBinding', namespace, MANAGED_SELECTOR),
    client.list<V1Pod>('Pod', namespace, MANAGED_SELECTOR),
  ]);
  const byInstanceLabel = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const instance = pod.metadata?.labels?.['app.kubernetes.io/instance'] ?? '';
    byInstanceLabel.set(instance, [...(byInstanceLabel.get(instance) ?? []), pod]);
  }
  return { serviceAccounts: byKey(serviceAccounts), roles: byKey(roles), roleBindings: byKey(roleBindings), pods: byInstanceLabel };
}

/** Every StorageClass (one more LIST, only in a pass where a claim must grow). */
export async function readStorageClasses(client: KubeClient): Promise<V1StorageClass[]> {
  return client.list<V1StorageClass>('StorageClass', undefined);
}

/** What exists for one instance, from the snapshot. */
export function liveFor(snapshot: Snapshot, namespace: string, name: string): LiveState {
  const services = [name, primaryServiceName(name)]
    .map((n) => snapshot.services.get(key(namespace, n)))
    .filter((s): s is V1Service => s !== undefined);
  return {
    statefulSet: snapshot.statefulSets.get(key(namespace, name)),
    configMap: snapshot.configMaps.get(key(namespace, name)),
    services,
    podDisruptionBudget: snapshot.podDisruptionBudgets.get(key(namespace, name)),
    pvcs: snapshot.claims.get(name) ?? [],
    ...(snapshot.storageClasses ? { storageClasses: snapshot.storageClasses } : {}),
    ...(snapshot.failover ? {
      serviceAccount: snapshot.failover.serviceAccounts.get(key(namespace, roleAgentName(name))),
      role: snapshot.failover.roles.get(key(namespace, roleAgentName(name))),
      roleBinding: snapshot.failover.roleBindings.get(key(namespace, roleAgentName(name))),
      pods: snapshot.failover.pods.get(name) ?? [],
    } : {}),
  };
}

/** After a 409: GET the instance's objects by name (rare, so not a LIST), and LIST its claims. */
export async function readLive(client: KubeClient, snapshot: Snapshot, namespace: string, name: string): Promise<LiveState> {
  const [statefulSet, configMap, service, primary, podDisruptionBudget, pvcs] = await Promise.all([
    client.get<V1StatefulSet>('StatefulSet', namespace, name),
    client.get<V1ConfigMap>('ConfigMap', namespace, name),
    client.get<V1Service>('Service', namespace, name),
    client.get<V1Service>('Service', namespace, primaryServiceName(name)),
    client.get<V1PodDisruptionBudget>('PodDisruptionBudget', namespace, name),
    client.list<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, `app.kubernetes.io/instance=${name}`),
  ]);
  const instance = snapshot.instances.find((i) => i.metadata.name === name);
  const agent = roleAgentName(name);
  const failover = instance !== undefined && podAgentOf(instance.spec) ? await Promise.all([
    client.get<V1ServiceAccount>('ServiceAccount', namespace, agent),
    client.get<V1Role>('Role', namespace, agent),
    client.get<V1RoleBinding>('RoleBinding', namespace, agent),
    client.list<V1Pod>('Pod', namespace, Object.entries(selectorLabels(name)).map(([k, v]) => `${k}=${v}`).join(',')),
  ]) : undefined;
  return {
    statefulSet, configMap, podDisruptionBudget,
    services: [service, primary].filter((s): s is V1Service => s !== undefined),
    pvcs,
    ...(snapshot.storageClasses ? { storageClasses: snapshot.storageClasses } : {}),
    ...(failover ? { serviceAccount: failover[0], role: failover[1], roleBinding: failover[2], pods: failover[3] } : {}),
  };
}
