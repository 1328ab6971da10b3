/**
 * Every API call the reconciler makes, as RBAC sees it. The kube adapter refuses a call that
 * is not listed here, and the RedisReconciler construct grants exactly these rules, so the
 * code and its RBAC cannot drift apart. No runtime imports: synth loads this file too.
 */

export type ApiVerb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

export interface ApiPermission {
  /** API group ('' for core). */
  readonly group: string;
  /** Resource, with `/subresource` when the call goes to one. */
  readonly resource: string;
  readonly verbs: readonly ApiVerb[];
  /**
   * Where the rule is granted: `cluster` (ClusterRole, the reconciler runs with -A),
   * `lease` (a Role in the reconciler's namespace), `secrets` (a Role in each namespace
   * listed in the construct's secretNamespaces).
   */
  readonly scope: 'cluster' | 'lease' | 'secrets';
  /** Limits get/update to these names (RBAC cannot limit create or list by name). */
  readonly resourceNames?: readonly string[];
  /** Why the reconciler needs it (docs/reconciler.md repeats this). */
  readonly why: string;
  /**
   * Granted only so that the reconciler may grant it in the Roles it creates (RBAC's
   * escalation check); the reconciler itself never makes this call, and the adapter refuses it.
   */
  readonly heldToGrant?: true;
}

/** Name under which the reconciler's writes appear in managedFields. */
export const FIELD_MANAGER = 'redis-gitops';

/** Default name of the Lease that keeps two runs from acting at once. */
export const DEFAULT_LEASE_NAME = 'redis-gitops-reconciler';

/** The rules for a Lease with the given name. */
export function reconcilerPermissions(leaseName: string = DEFAULT_LEASE_NAME): readonly ApiPermission[] {
  return [
    { group: 'redis.github.com', resource: 'redisinstances', verbs: ['list'], scope: 'cluster', why: 'one LIST of all RedisInstances per pass' },
    { group: 'redis.github.com', resource: 'redisinstances/status', verbs: ['patch'], scope: 'cluster', why: 'write status through the status subresource, only when it changed' },
    { group: 'apps', resource: 'statefulsets', verbs: ['list', 'get', 'create', 'patch', 'delete'], scope: 'cluster', why: 'LIST per pass; GET to re-read after a 409; create when missing; patch for rolling updates; delete with propagationPolicy Orphan to recreate' },
    { group: '', resource: 'configmaps', verbs: ['list', 'get', 'create', 'patch'], scope: 'cluster', why: 'LIST per pass; GET after a 409; create when missing; patch drifted redis.conf' },
    { group: '', resource: 'services', verbs: ['list', 'get', 'create', 'patch', 'delete'], scope: 'cluster', why: 'LIST per pass; GET after a 409; create/patch; delete the primary Service when scaled to 1, or a headless Service that got a cluster IP (then create it again)' },
    { group: 'policy', resource: 'poddisruptionbudgets', verbs: ['list', 'get', 'create', 'patch', 'delete'], scope: 'cluster', why: 'LIST per pass; GET after a 409; create/patch; delete when scaled to 1' },
    { group: '', resource: 'persistentvolumeclaims', verbs: ['list', 'patch'], scope: 'cluster', why: 'LIST per pass (shrink and class checks, expansion healing); patch spec.resources.requests.storage to expand; never delete' },
    { group: 'storage.k8s.io', resource: 'storageclasses', verbs: ['list'], scope: 'cluster', why: 'LIST only in a pass that considers an expansion (allowVolumeExpansion)' },
    { group: '', resource: 'events', verbs: ['create'], scope: 'cluster', why: 'one Event on the RedisInstance per action taken' },
    { group: '', resource: 'pods', verbs: ['list', 'patch'], scope: 'cluster', why: 'with pod-agent instances only (spec.podAgent, on with failover): LIST per pass (role labels for status.primary, config-status annotations for ConfigApplied) and while waiting for the primary to move before a scale-down; patch a role label (the backstop) or the failover-requested annotation' },
    { group: '', resource: 'pods', verbs: ['get'], scope: 'cluster', heldToGrant: true, why: 'the role agents\' Roles grant get and patch of their pods, and RBAC lets the reconciler create them only if it holds both' },
    { group: '', resource: 'serviceaccounts', verbs: ['list', 'get', 'create', 'patch'], scope: 'cluster', why: 'pod-agent instances: LIST per pass; GET after a 409; create the pod agents\' ServiceAccount when missing; patch drift' },
    { group: 'rbac.authorization.k8s.io', resource: 'roles', verbs: ['list', 'get', 'create', 'patch'], scope: 'cluster', why: 'pod-agent instances: LIST per pass; GET after a 409; create the pod agents\' Role when missing; patch its resourceNames when replicas change' },
    { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verbs: ['list', 'get', 'create', 'patch'], scope: 'cluster', why: 'pod-agent instances: LIST per pass; GET after a 409; create the pod agents\' RoleBinding when missing; patch drifted subjects' },
    { group: 'coordination.k8s.io', resource: 'leases', verbs: ['create'], scope: 'lease', why: 'create the Lease the first time' },
    { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'update'], scope: 'lease', resourceNames: [leaseName], why: 'take, renew and release the Lease (update with resourceVersion: a concurrent taker gets 409)' },
    { group: '', resource: 'secrets', verbs: ['list'], scope: 'secrets', why: 'hash the auth password so a rotation rolls the pods; one LIST per namespace that has instances with spec.auth' },
  ];
}

/** The permissions with the default Lease name. */
export const RECONCILER_PERMISSIONS: readonly ApiPermission[] = reconcilerPermissions();

/** True when `verb` on `group`/`resource` is granted somewhere in `permissions`. */
export function isPermitted(group: string, resource: string, verb: ApiVerb, permissions: readonly ApiPermission[] = RECONCILER_PERMISSIONS): boolean {
  return permissions.some((p) => !p.heldToGrant && p.group === group && p.resource === resource && p.verbs.includes(verb));
}
