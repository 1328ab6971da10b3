import type {
  V1ConfigMap, V1PersistentVolumeClaim, V1PodDisruptionBudget, V1Secret, V1Service, V1StatefulSet, V1StorageClass,
} from '@kubernetes/client-node';
import type { RedisInstanceObject } from '../api/types';
import { MANAGED_BY, primaryServiceName, selectorLabels } from '../render/instance';
import { oneLine, type KubeClient } from './kube';
import type { LiveState } from './plan';

/**
 * The read step of a pass: one paginated LIST per kind (never a GET per instance), indexed
 * by namespace/name, and the live objects of one instance taken from it. After a 409 the
 * instance's objects are read again by name.
 */

/** Children are found by this label; RedisInstances are listed without a selector (our CRD). */
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
/** The data claims carry the volumeClaimTemplate's labels (the pod selector labels); matched by name after. */
export const CLAIM_SELECTOR = Object.entries(selectorLabels('')).filter(([k]) => k === 'app.kubernetes.io/name').map(([k, v]) => `${k}=${v}`).join(',');

/** What one read of the cluster returned. */
export interface Snapshot {
  readonly instances: readonly RedisInstanceObject[];
  /** By `namespace/name`. */
  readonly statefulSets: ReadonlyMap<string, V1StatefulSet>;
  readonly configMaps: ReadonlyMap<string, V1ConfigMap>;
  readonly services: ReadonlyMap<string, V1Service>;
  readonly podDisruptionBudgets: ReadonlyMap<string, V1PodDisruptionBudget>;
  /** The claims of each namespace. */
  readonly claims: ReadonlyMap<string, readonly V1PersistentVolumeClaim[]>;
  /** The Secrets of each namespace that has instances with `spec.auth`, by name. */
  readonly secrets: ReadonlyMap<string, ReadonlyMap<string, V1Secret>>;
  /** Namespaces whose Secrets could not be listed (RBAC grants them only where the construct says), and why. */
  readonly secretErrors: ReadonlyMap<string, string>;
  /** Every StorageClass; read only when some plan considers an expansion. */
  readonly storageClasses?: readonly V1StorageClass[];
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

function byKey<T extends { metadata?: { namespace?: string; name?: string } }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [key(item.metadata?.namespace, item.metadata?.name), item]));
}

function byNamespace<T extends { metadata?: { namespace?: string } }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const ns = item.metadata?.namespace ?? '';
    const list = out.get(ns);
    if (list) list.push(item);
    else out.set(ns, [item]);
  }
  return out;
}

/** LIST every kind a pass needs: `namespace` undefined for all namespaces. Throws when a LIST fails after retries. */
export async function readSnapshot(client: KubeClient, namespace: string | undefined): Promise<Snapshot> {
  const instances = await client.list<RedisInstanceObject>('RedisInstance', namespace);
  const empty: Snapshot = {
    instances, statefulSets: new Map(), configMaps: new Map(), services: new Map(), podDisruptionBudgets: new Map(), claims: new Map(),
    secrets: new Map(), secretErrors: new Map(),
  };
  if (instances.length === 0) return empty;
  const authNamespaces = [...new Set(instances.filter((i) => i.spec?.auth?.secretName).map((i) => i.metadata.namespace ?? 'default'))];
  const secrets = new Map<string, Map<string, V1Secret>>();
  const secretErrors = new Map<string, string>();
  const [statefulSets, configMaps, services, podDisruptionBudgets, claims] = await Promise.all([
    client.list<V1StatefulSet>('StatefulSet', namespace, MANAGED_SELECTOR),
    client.list<V1ConfigMap>('ConfigMap', namespace, MANAGED_SELECTOR),
    client.list<V1Service>('Service', namespace, MANAGED_SELECTOR),
    client.list<V1PodDisruptionBudget>('PodDisruptionBudget', namespace, MANAGED_SELECTOR),
    client.list<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, CLAIM_SELECTOR),
    ...authNamespaces.map(async (ns) => {
      try {
        secrets.set(ns, new Map((await client.list<V1Secret>('Secret', ns)).map((s) => [s.metadata?.name ?? '', s])));
      } catch (error) {
        // RBAC grants Secret reads only in the namespaces the construct lists.
        secretErrors.set(ns, error instanceof Error ? oneLine(error) : String(error));
      }
      return [];
    }),
  ]);
  return {
    instances,
    statefulSets: byKey(statefulSets),
    configMaps: byKey(configMaps),
    services: byKey(services),
    podDisruptionBudgets: byKey(podDisruptionBudgets),
    claims: byNamespace(claims),
    secrets,
    secretErrors,
  };
}

/** The snapshot with every StorageClass (one more LIST, only when a claim must grow). */
export async function withStorageClasses(client: KubeClient, snapshot: Snapshot): Promise<Snapshot> {
  return { ...snapshot, storageClasses: await client.list<V1StorageClass>('StorageClass', undefined) };
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
    pvcs: snapshot.claims.get(namespace) ?? [],
    ...(snapshot.storageClasses ? { storageClasses: snapshot.storageClasses } : {}),
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
  return {
    statefulSet, configMap, podDisruptionBudget,
    services: [service, primary].filter((s): s is V1Service => s !== undefined),
    pvcs,
    ...(snapshot.storageClasses ? { storageClasses: snapshot.storageClasses } : {}),
  };
}
