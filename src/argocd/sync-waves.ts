import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { API_GROUP, KIND, PLURAL } from '../api/types';
import { RedisInstance } from '../constructs/redis-instance';
import { NO_PRUNE, SKIP_DRY_RUN_ON_MISSING_RESOURCE, SYNC_OPTIONS_ANNOTATION, SYNC_WAVE_ANNOTATION } from './annotations';

/**
 * Sync waves: the order in which Argo CD applies dist/. Argo CD applies one wave, waits
 * until every object in it is in sync and healthy, then applies the next. See
 * docs/argocd.md ("Sync waves") for the reasons behind this order.
 */
export const SYNC_WAVES = Object.freeze({
  /** Namespaces and the CRD: everything else needs them. Argo CD's own config (argocd-cm) too. */
  prerequisites: -3,
  /** The reconciler's ServiceAccount and RBAC, and Secrets and ConfigMaps outside instances. */
  access: -2,
  /**
   * The reconciler's CronJob. Before the RedisInstances, because Argo CD waits for each
   * RedisInstance to be healthy, which only the reconciler can report.
   */
  reconciler: -1,
  /** RedisInstances: the reconciler sees a new spec before Argo CD touches the children. */
  instances: 0,
  /** An instance's ConfigMap, Services, StatefulSet, PodDisruptionBudget, NetworkPolicy, monitoring objects and Certificate. */
  instanceChildren: 1,
});

/** Waves of objects that are not part of a RedisInstance construct, by kind. */
export const SYNC_WAVE_BY_KIND: Readonly<Record<string, number>> = Object.freeze({
  Namespace: SYNC_WAVES.prerequisites,
  CustomResourceDefinition: SYNC_WAVES.prerequisites,
  ServiceAccount: SYNC_WAVES.access,
  Role: SYNC_WAVES.access,
  ClusterRole: SYNC_WAVES.access,
  RoleBinding: SYNC_WAVES.access,
  ClusterRoleBinding: SYNC_WAVES.access,
  Secret: SYNC_WAVES.access,
  ConfigMap: SYNC_WAVES.access,
  CronJob: SYNC_WAVES.reconciler,
  Job: SYNC_WAVES.reconciler,
  Deployment: SYNC_WAVES.reconciler,
  [KIND]: SYNC_WAVES.instances,
  StatefulSet: SYNC_WAVES.instanceChildren,
  Service: SYNC_WAVES.instanceChildren,
  PodDisruptionBudget: SYNC_WAVES.instanceChildren,
});

/** Wave of a kind not listed in SYNC_WAVE_BY_KIND: Argo CD's own default. */
export const DEFAULT_SYNC_WAVE = 0;

/** The sync wave of an object outside a RedisInstance construct. */
export function syncWaveForKind(kind: string): number {
  return SYNC_WAVE_BY_KIND[kind] ?? DEFAULT_SYNC_WAVE;
}

/** metadata.name of the RedisInstance CRD. */
export const REDIS_INSTANCE_CRD_NAME = `${PLURAL}.${API_GROUP}`;

function annotationsOf(obj: ApiObject): Record<string, string> {
  return obj.metadata.toJson().annotations ?? {};
}

/**
 * Put `argocd.argoproj.io/sync-wave` on every ApiObject under `scope` that has none: a
 * RedisInstance construct's own object gets SYNC_WAVES.instances and its children
 * SYNC_WAVES.instanceChildren; any other object gets the wave of its kind. A wave set
 * explicitly (by a construct or by hand) is kept. Returns the objects it annotated.
 */
export function applySyncWaves(scope: IConstruct): ApiObject[] {
  const waves = new Map<ApiObject, number>();
  const all = scope.node.findAll();
  for (const construct of all) {
    if (!RedisInstance.isRedisInstance(construct)) continue;
    for (const obj of construct.apiObjects) {
      waves.set(obj, obj === construct.instance ? SYNC_WAVES.instances : SYNC_WAVES.instanceChildren);
    }
  }
  const annotated: ApiObject[] = [];
  for (const obj of all) {
    if (!ApiObject.isApiObject(obj) || SYNC_WAVE_ANNOTATION in annotationsOf(obj)) continue;
    obj.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(waves.get(obj) ?? syncWaveForKind(obj.kind)));
    annotated.push(obj);
  }
  return annotated;
}

/** Add one option to an object's `argocd.argoproj.io/sync-options`, keeping the others. */
function addSyncOption(obj: ApiObject, option: string): boolean {
  const current = annotationsOf(obj)[SYNC_OPTIONS_ANNOTATION];
  const options = current ? current.split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (options.includes(option)) return false;
  obj.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, [...options, option].join(','));
  return true;
}

/**
 * Add `SkipDryRunOnMissingResource=true` to every RedisInstance's
 * `argocd.argoproj.io/sync-options`. Argo CD dry-runs a whole sync before it applies
 * anything, and the dry run of a RedisInstance fails while the apiserver does not know
 * the kind. When the CRD is part of the same sync, Argo CD already skips that dry run by
 * itself; the option covers the other cases: the CRD comes from another Application (the
 * platform child of app-of-apps, `RedisPlatform` with `crd: false`) that has not finished
 * yet. Existing options on the object are kept. Returns the objects it changed.
 */
export function applySkipDryRun(scope: IConstruct): ApiObject[] {
  return scope.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.kind === KIND && c.apiGroup === API_GROUP)
    .filter((obj) => addSyncOption(obj, SKIP_DRY_RUN_ON_MISSING_RESOURCE));
}

/**
 * Add `Prune=false` to the RedisInstance CRD: Argo CD never deletes it, even when it
 * leaves Git (moved to another application, a chart renamed). Deleting the CRD deletes
 * every RedisInstance in the cluster and, through their ownerReferences, every
 * StatefulSet: all Redis pods would stop. Remove it by hand if that is really meant.
 * Returns the objects it changed.
 */
export function applyCrdPruneProtection(scope: IConstruct): ApiObject[] {
  return scope.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.kind === 'CustomResourceDefinition' && c.name === REDIS_INSTANCE_CRD_NAME)
    .filter((obj) => addSyncOption(obj, NO_PRUNE));
}
