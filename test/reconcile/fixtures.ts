import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { API_VERSION, KIND, type RedisInstanceObject, type RedisInstanceSpec } from '../../src/api/types';
import { desiredFor, type Desired } from '../../src/reconcile/desired';
import type { LiveState } from '../../src/reconcile/plan';
import { applyDefaults } from '../support/apiserver/defaults';

/** Pure-test fixtures: instances as read from the cluster, and live objects as the apiserver returns them. */

export const UID = '0b5c1f7e-0000-4000-8000-000000000001';

export function instanceObject(spec: RedisInstanceSpec, extra: Partial<RedisInstanceObject['metadata']> = {}, status?: RedisInstanceObject['status']): RedisInstanceObject {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'cache', namespace: 'web', uid: UID, generation: 1, resourceVersion: '10', ...extra },
    spec: { replicas: 1, storage: { size: '1Gi' }, ...spec },
    ...(status ? { status } : {}),
  };
}

export function desired(spec: RedisInstanceSpec, ctx: { secretHash?: string } = {}): Desired {
  const result = desiredFor(instanceObject(spec), ctx);
  if (!result.ok) throw new Error(result.issues.join('\n'));
  return result;
}

/** A deep copy with the apiserver's defaults, uid and resourceVersion: what a LIST returns. */
export function asLive<T>(object: T, group: string, kind: string): T {
  const copy: any = structuredClone(object);
  applyDefaults(group, kind, copy);
  copy.metadata = { uid: `uid-${kind}-${copy.metadata?.name}`, resourceVersion: '5', generation: 1, ...copy.metadata };
  return copy;
}

/** Everything in sync with `d`, with `claims` data claims of the given size and class. */
export function liveFor(d: Desired, claims: { count?: number; size?: string; storageClassName?: string } = {}): LiveState & { pvcs: V1PersistentVolumeClaim[] } {
  const { objects } = d;
  const statefulSet = asLive(objects.statefulSet, 'apps', 'StatefulSet');
  statefulSet.status = {
    replicas: objects.statefulSet.spec!.replicas!, readyReplicas: objects.statefulSet.spec!.replicas!, updatedReplicas: objects.statefulSet.spec!.replicas!,
    currentRevision: 'cache-1', updateRevision: 'cache-1', observedGeneration: 1,
  };
  return {
    statefulSet,
    configMap: asLive(objects.configMap, '', 'ConfigMap'),
    services: [objects.service, objects.primaryService].filter((s) => s !== undefined).map((s) => ({ ...asLive(s!, '', 'Service'), spec: { ...asLive(s!, '', 'Service').spec, clusterIP: s!.spec!.clusterIP ?? '10.0.0.7' } })),
    podDisruptionBudget: objects.podDisruptionBudget && asLive(objects.podDisruptionBudget, 'policy', 'PodDisruptionBudget'),
    serviceAccount: objects.serviceAccount && asLive(objects.serviceAccount, '', 'ServiceAccount'),
    role: objects.role && asLive(objects.role, 'rbac.authorization.k8s.io', 'Role'),
    roleBinding: objects.roleBinding && asLive(objects.roleBinding, 'rbac.authorization.k8s.io', 'RoleBinding'),
    pods: [],
    pvcs: Array.from({ length: claims.count ?? d.resolved.spec.replicas }, (_, i) => claim(i, claims.size ?? d.resolved.spec.storage.size, claims.storageClassName ?? d.resolved.spec.storage.storageClassName ?? 'standard')),
  };
}

export function claim(ordinal: number, size: string, storageClassName = 'standard', name = 'cache'): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `redis-data-${name}-${ordinal}`, namespace: 'web', uid: `pvc-${ordinal}`, labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name } },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } }, volumeMode: 'Filesystem' },
    status: { phase: 'Bound', capacity: { storage: size } },
  };
}

export function storageClass(name: string, allowVolumeExpansion: boolean): V1StorageClass {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'test', allowVolumeExpansion };
}
