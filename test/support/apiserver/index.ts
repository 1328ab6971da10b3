/**
 * # Test API server
 *
 * A real HTTP server on 127.0.0.1 (random port) that behaves like kube-apiserver for what a
 * reconciler of `RedisInstance` objects uses. Point the unmodified `@kubernetes/client-node`
 * at it with `kc.loadFromString(server.kubeconfigYaml())` (the kubeconfig holds a bearer token,
 * checked on every request, and `insecure-skip-tls-verify: true`, which client-node needs for
 * an `http://` server).
 *
 * ## Served
 * - core/v1: namespaces (cluster-scoped; any namespace is auto-created when used), configmaps,
 *   services, secrets, persistentvolumeclaims, pods, events, serviceaccounts;
 *   apps/v1 statefulsets; policy/v1 poddisruptionbudgets; storage.k8s.io/v1 storageclasses;
 *   coordination.k8s.io/v1 leases; events.k8s.io/v1 events; batch/v1 cronjobs;
 *   rbac.authorization.k8s.io/v1 roles, rolebindings, clusterroles, clusterrolebindings;
 *   redis.github.com/v1 redisinstances (more via `registerCustomResource`).
 * - GET (single, list at namespace scope and cluster-wide with labelSelector, fieldSelector,
 *   limit/continue: pages in key order filled up to the limit and no further, `remainingItemCount` without selectors (as ListMeta says), 410 Expired on a token older than
 *   the last `compact()`), POST, PUT, PATCH, DELETE (single and collection), `/status` subresources,
 *   discovery (`/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, `/version` = v1.32.0).
 *
 * ## Simulated as kube-apiserver does it
 * - uid, creationTimestamp, a global resourceVersion bumped by every write (and delete);
 *   a write that changes nothing does not bump it. `generation` (workloads and custom
 *   resources only, like the real server) starts at 1 and moves when anything but metadata
 *   (and status, with a status subresource) changes, and when deletion starts.
 * - Status subresource isolation both ways; optimistic concurrency (409 Conflict); PUT
 *   without resourceVersion is allowed for built-in kinds and 422 for custom resources.
 * - Errors are `v1 Status` bodies with the apiserver's messages: NotFound, AlreadyExists,
 *   Conflict, Invalid (StatefulSet immutable spec fields, PVC spec immutability and shrink,
 *   Service clusterIP, immutable ConfigMap/Secret, pod spec, names, selector/labels), Forbidden
 *   (PVC resize admission: 403 like the real PersistentVolumeClaimResize plugin; creating in a
 *   terminating namespace), BadRequest, UnsupportedMediaType (415, also for strategic merge
 *   patch on custom resources), Unauthorized.
 * - Patches: merge (RFC 7386), JSON patch (RFC 6902; a patch that does not apply gets the
 *   apiserver's generic 422), strategic merge (patch merge keys of the fields a StatefulSet,
 *   Service, Pod and ObjectMeta use; `$patch`, `$retainKeys`, `$setElementOrder`,
 *   `$deleteFromPrimitiveList`), and server-side apply (see approximations).
 * - Defaulting of the fields a diff trips over (see defaults.ts), DefaultStorageClass
 *   admission, ClusterIP allocation, `stringData` folding for Secrets.
 * - DELETE with DeleteOptions (body or query): preconditions, Orphan / Background / Foreground
 *   propagation through an instant garbage collector (dangling owner references are removed,
 *   objects whose owners are all gone are deleted), finalizers (`deletionTimestamp` and
 *   `deletionGracePeriodSeconds: 0`, removed when the last finalizer goes), namespace deletion.
 *   The answer is the object for pods, services, PVCs, namespaces, serviceaccounts and
 *   storageclasses, a `Status` Success for other kinds, the object with deletionTimestamp when
 *   deletion is pending (202 only when `orphanDependents: false` was sent, as the apiserver does).
 * - A stepped StatefulSet controller (`stepStatefulSets`, `settle`): PVCs from
 *   volumeClaimTemplates (bound at once, no ownerReference under the default Retain policy),
 *   pods in ordinal order (OrderedReady) or all at once (Parallel), adoption of orphans,
 *   scale-down from the highest ordinal, rolling update from the highest ordinal one pod at a
 *   time after all pods are Ready (partition honoured, OnDelete does nothing), status with
 *   revisions, and PVC capacity following a grown request.
 * - Faults: 500/503/429 Status answers, held requests (timeout), reset connections.
 *
 * ## Known approximations
 * - Server-side apply merges the applied configuration into the live object (strategic merge
 *   for built-in kinds, merge patch for custom resources): no managedFields, no field
 *   ownership, so fields dropped from the applied configuration are not removed, and there are
 *   never apply conflicts. `fieldManager` is required (422 like the real server).
 * - A continued LIST reads the objects as they are now, not as they were at the first page
 *   (kube-apiserver serves every page from the first page's revision).
 * - The garbage collector sweeps only after a write that can give it work (a deletion, an
 *   object whose owner is absent or being deleted), so a write costs the same whatever the
 *   number of objects.
 * - No watch (400), no managedFields, no ControllerRevision objects, no admission webhooks, no
 *   RBAC (any valid token may do anything), no OpenAPI schema validation of custom resources.
 * - Deleted pods disappear at once (as an unscheduled pod does; no graceful termination).
 * - core/v1 and events.k8s.io/v1 events are stored separately.
 * - StatefulSet update validation follows Kubernetes <= 1.32: `revisionHistoryLimit` is
 *   immutable there (1.33+ allows changing it and names it in the message).
 * - PVC shrink gives "field can not be less than previous value" (RecoverVolumeExpansionFailure
 *   off); the spec-immutability diff text is a loose rendering of the real `cmp.Diff`.
 * - Claims always bind (whatever the storage class), pods always start; readiness is the test's
 *   decision (`setPodReady`) unless `autoReadyPods`.
 *
 * ## client-node 1.4 and patch content types
 * The generated `*Api.patch*` methods send `application/json-patch+json` by default (the first
 * of their listed media types), so the body must be an RFC 6902 array. To send a merge patch,
 * pass `setHeaderOptions('Content-Type', PatchStrategy.MergePatch)` as the call's options, e.g.
 * `apps.patchNamespacedStatefulSet({ name, namespace, body }, setHeaderOptions('Content-Type',
 * PatchStrategy.MergePatch))`. The same holds for `CustomObjectsApi.patch*CustomObject*` (which
 * offers only json-patch and merge-patch). `KubernetesObjectApi.patch` defaults to strategic merge
 * patch (rejected with 415 for custom resources) and takes the content type as its 6th argument.
 * The typed `delete*` methods decode every answer as a V1Status, so the object returned for a
 * pending deletion (deletionTimestamp, finalizers) is not visible through them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { ResourceRegistry, apiVersionOf, type CustomResourceDefinition } from './resources';
import { ApiHttpServer, type Fault, type RequestRecord } from './server';
import { StatefulSetController } from './statefulset-controller';
import { Store, type PropagationPolicy } from './store';

export { ApiError, type StatusBody } from './errors';
export { compareQuantities, parseQuantity } from './quantity';
export type { CustomResourceDefinition } from './resources';
export type { Fault, RequestRecord } from './server';
export type { PropagationPolicy } from './store';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface TestApiServerOptions {
  /** Pods created by the StatefulSet controller are Ready at once. Default false. */
  autoReadyPods?: boolean;
  /** Custom resources to serve besides RedisInstance (same as calling registerCustomResource). */
  customResources?: CustomResourceDefinition[];
  /**
   * The address to listen on. Default 127.0.0.1; the failover harness passes the host end of
   * its pod network (test/support/netns) so that processes in the pods' namespaces reach it.
   */
  host?: string;
}

export interface TestApiServer {
  /** http://127.0.0.1:PORT (or the `host` option) */
  url: string;
  /** The bearer token the kubeconfig carries (needed for plain `fetch`). */
  token: string;
  /** A complete kubeconfig (cluster + user token + context) pointing at `url`. */
  kubeconfigYaml(opts?: { namespace?: string }): string;
  /** Writes the kubeconfig to `<dir>/kubeconfig` and returns its path. */
  writeKubeconfig(dir: string): string;
  stop(): Promise<void>;

  // Direct store access (no HTTP, no faults, not in the request log); same semantics as the API.
  /** A deep copy of the object, or undefined. */
  get(ref: ObjectRef): any | undefined;
  /** Objects of a kind (all namespaces when `namespace` is omitted), with apiVersion/kind set. */
  list(apiVersion: string, kind: string, namespace?: string): any[];
  /** Like a POST (status is reset for kinds with a status subresource). */
  create(obj: any): any;
  /** Like a PUT of the object. */
  update(obj: any): any;
  /** Like a PUT of the status subresource. */
  updateStatus(obj: any): any;
  delete(ref: ObjectRef, opts?: { propagationPolicy?: PropagationPolicy }): void;
  /** Serve another custom resource (RedisInstance is registered already). */
  registerCustomResource(crd: CustomResourceDefinition): void;

  // StatefulSet controller simulation.
  /** One reconcile pass over all StatefulSets (and the PVC resizer). */
  stepStatefulSets(): void;
  /** Steps until a step changes nothing (at most maxSteps, default 100); returns the steps taken. */
  settle(maxSteps?: number): number;
  setPodReady(namespace: string, podName: string, ready: boolean): void;

  /** Compact like etcd: every LIST continue token issued so far gets 410 Expired on its next page. */
  compact(): void;

  // Fault injection.
  injectFault(f: Fault): void;
  clearFaults(): void;

  /** Every HTTP request received, in order. */
  requests: RequestRecord[];
  /** TCP connections accepted so far (reset with the request log). */
  readonly connections: number;
  resetRequestLog(): void;
}

export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const registry = new ResourceRegistry();
  for (const crd of opts.customResources ?? []) registry.registerCustomResource(crd);
  const store = new Store(registry);
  store.ensureNamespace('default');
  store.ensureNamespace('kube-system');
  const controller = new StatefulSetController(store, { autoReadyPods: opts.autoReadyPods ?? false });
  const token = randomBytes(24).toString('hex');
  const http = new ApiHttpServer(store, registry, token);
  await http.listen(opts.host);

  const typeOf = (obj: { apiVersion?: string; kind?: string }) => {
    if (!obj?.apiVersion || !obj?.kind) throw new Error('apiVersion and kind are required');
    return store.resource(obj.apiVersion, obj.kind);
  };
  const withType = (o: any, apiVersion: string, kind: string) => ({ ...o, apiVersion, kind });

  const kubeconfigYaml = (o: { namespace?: string } = {}) =>
    stringifyYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test-apiserver', cluster: { server: http.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'test-user', user: { token } }],
      contexts: [
        { name: 'test', context: { cluster: 'test-apiserver', user: 'test-user', ...(o.namespace ? { namespace: o.namespace } : {}) } },
      ],
      'current-context': 'test',
      preferences: {},
    });

  const server: TestApiServer = {
    url: http.url,
    token,
    kubeconfigYaml,
    writeKubeconfig(dir) {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, kubeconfigYaml(), { mode: 0o600 });
      return path;
    },
    stop: () => http.close(),

    get(ref) {
      return store.tryGet(typeOf(ref), ref.namespace, ref.name);
    },
    list(apiVersion, kind, namespace) {
      const rt = store.resource(apiVersion, kind);
      return store.list(rt, namespace).items.map((o) => withType(o, apiVersionOf(rt), rt.kind));
    },
    create(obj) {
      return store.create(typeOf(obj), obj.metadata?.namespace, obj);
    },
    update(obj) {
      return store.update(typeOf(obj), obj.metadata?.namespace, obj.metadata?.name, obj);
    },
    updateStatus(obj) {
      return store.update(typeOf(obj), obj.metadata?.namespace, obj.metadata?.name, obj, { subresource: 'status' });
    },
    delete(ref, o = {}) {
      store.delete(typeOf(ref), ref.namespace, ref.name, o);
    },
    registerCustomResource(crd) {
      registry.registerCustomResource(crd);
    },

    stepStatefulSets: () => controller.step(),
    settle(maxSteps = 100) {
      for (let i = 1; i <= maxSteps; i++) {
        const before = store.resourceVersion;
        controller.step();
        if (store.resourceVersion === before) return i;
      }
      return maxSteps;
    },
    setPodReady: (namespace, podName, ready) => controller.setPodReady(namespace, podName, ready),
    compact: () => store.compact(),

    injectFault: (f) => http.injectFault(f),
    clearFaults: () => http.clearFaults(),
    requests: http.requests,
    get connections() { return http.connections; },
    resetRequestLog() {
      http.requests.length = 0;
      http.connections = 0;
    },
  };
  return server;
}
