import {
  ApiException, AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Observable, PatchStrategy,
  PolicyV1Api, RbacAuthorizationV1Api, ResponseContext, StorageV1Api,
  type ConfigurationOptions, type ObservableMiddleware, type RequestContext,
} from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { API_GROUP, PLURAL } from '../api/types';
import { ConnectionPool } from './http';
import { FIELD_MANAGER, isPermitted, type ApiVerb } from './permissions';

/**
 * The client adapter: the only code that talks to the apiserver. It wraps the generated
 * @kubernetes/client-node 1.x APIs with one request shaper (content type and timeout),
 * bounded retries and request counting. Everything above it works with plain objects.
 */

/** A kubeconfig that cannot be used: the CLI turns it into exit code 2. */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export interface KubeConfigOptions {
  /** --kubeconfig: a kubeconfig file. */
  readonly kubeconfig?: string;
  /** --context: a context of that kubeconfig. */
  readonly context?: string;
  /** Where KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The context's namespace, else the service account's (in a pod), else `default`. */
  readonly namespace: string;
  /** Where the configuration came from, for messages. */
  readonly source: string;
}

/**
 * Load a kubeconfig: `--kubeconfig`, else $KUBECONFIG (a path list, merged), else
 * ~/.kube/config, else the in-cluster service account when KUBERNETES_SERVICE_HOST is set.
 */
export function loadKubeConfig(options: KubeConfigOptions = {}): LoadedKubeConfig {
  const env = options.env ?? process.env;
  const load = (file: string) => {
    if (!existsSync(file)) throw new KubeConfigError(`kubeconfig ${file} does not exist`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new KubeConfigError(`kubeconfig ${file} cannot be read: ${oneLine(error)}`);
    }
    // client-node reads an empty document as undefined and fails on its `clusters`.
    if (text.trim() === '') throw new KubeConfigError(`kubeconfig ${file} is empty`);
    try {
      const loaded = new KubeConfig();
      loaded.loadFromFile(file); // also makes the file's relative paths absolute
      return loaded;
    } catch (error) {
      throw new KubeConfigError(`kubeconfig ${file} cannot be read: ${oneLine(error)}`);
    }
  };
  const home = env.HOME ?? env.USERPROFILE;
  const envFiles = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  let kc: KubeConfig;
  let source: string;
  if (options.kubeconfig) {
    kc = load(options.kubeconfig);
    source = options.kubeconfig;
  } else if (envFiles.length > 0) {
    const existing = envFiles.filter((f) => existsSync(f));
    if (existing.length === 0) throw new KubeConfigError(`KUBECONFIG names no existing file: ${env.KUBECONFIG}`);
    kc = load(existing[0]);
    for (const file of existing.slice(1)) kc.mergeConfig(load(file), true);
    source = existing.join(delimiter);
  } else if (home && existsSync(join(home, '.kube', 'config'))) {
    source = join(home, '.kube', 'config');
    kc = load(source);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    // client-node reads KUBERNETES_SERVICE_HOST/PORT from process.env and the token file
    // on every request (so rotated service account tokens are picked up).
    kc = new KubeConfig();
    try {
      kc.loadFromCluster();
    } catch (error) {
      throw new KubeConfigError(`in-cluster configuration cannot be used: ${oneLine(error)}`);
    }
    source = 'in-cluster service account';
  } else {
    throw new KubeConfigError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod');
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new KubeConfigError(`context "${options.context}" is not in ${source} (contexts: ${known})`);
    }
    kc.setCurrentContext(options.context);
  }
  const current = kc.getCurrentContext();
  const context = kc.getContextObject(current);
  if (!context) {
    const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
    throw new KubeConfigError(current
      ? `current-context "${current}" of ${source} names a context that is not in it (contexts: ${known}); pass --context`
      : `${source} sets no current-context; pass --context (contexts: ${known})`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new KubeConfigError(`context "${context.name}" in ${source} names no cluster with a server`);
  if (!kc.getCurrentUser()) throw new KubeConfigError(`context "${context.name}" in ${source} names no user`);
  // In a pod, client-node puts the service account's namespace into the context.
  return { kubeConfig: kc, namespace: context.namespace?.trim() || 'default', source };
}

// ---------------------------------------------------------------------------------------
// Request shaping, retries

export interface ClientOptions {
  /** Per-request timeout. @default 10_000 ms */
  readonly timeoutMs?: number;
  /** Attempts per request for 429, 5xx, timeouts and resets. @default 4 */
  readonly attempts?: number;
  /** First backoff delay, doubled after each failed attempt. @default 200 ms */
  readonly backoffMs?: number;
  /** Longest delay between attempts, Retry-After included. @default 5_000 ms */
  readonly maxBackoffMs?: number;
  /**
   * No request is sent after this time, and no backoff waits past it: it bounds the whole
   * pass, retries included. @default none
   */
  readonly deadline?: Date;
  /** Objects per LIST page. @default LIST_PAGE_SIZE */
  readonly pageSize?: number;
  /** Used between attempts; tests pass their own. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type ShapedRequest = ConfigurationOptions<ObservableMiddleware>;

/**
 * The one place that shapes requests: patches are JSON merge patches (RFC 7386; the
 * generated client would otherwise send application/json-patch+json), every request is
 * aborted after `timeoutMs`, and, given a pool, goes over its keep-alive connections (http.ts).
 */
export function shapeRequest(verb: ApiVerb, timeoutMs: number, plain?: PlainBody, pool?: ConnectionPool): ShapedRequest {
  const middleware: ObservableMiddleware = {
    pre(context: RequestContext) {
      if (verb === 'patch') context.setHeaderParam('Content-Type', PatchStrategy.MergePatch);
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post(response: ResponseContext) {
      if (!plain || response.httpStatusCode < 200 || response.httpStatusCode > 299) return new Observable(Promise.resolve(response));
      return new Observable(keepPlain(response, plain));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append', ...(pool ? { httpApi: pool } : {}) };
}

/** Where a LIST's answer is kept as parsed JSON (see keepPlain). */
export interface PlainBody { value?: unknown }

/**
 * An answer (a LIST page, or the object a GET or a write returns), parsed as plain JSON and
 * kept in `plain`; the generated client is handed an empty object to deserialise. Its model classes would cost a third of a pass's CPU (a
 * class instance per nested object, every absent field set to undefined, timestamps as
 * Dates) and hold more memory, while the reconciler only reads plain fields. Errors keep
 * their body, for the ApiException.
 */
async function keepPlain(response: ResponseContext, plain: PlainBody): Promise<ResponseContext> {
  plain.value = JSON.parse(await response.body.text());
  return new ResponseContext(response.httpStatusCode, response.headers, {
    text: async () => '{}',
    binary: async () => Buffer.from('{}'),
  });
}

/** An API error after retries, with the HTTP status (0 for network errors) and the Status reason. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
  get notFound(): boolean { return this.status === 404; }
  /** 409 Conflict: a resourceVersion or uid precondition no longer holds. */
  get conflict(): boolean { return this.status === 409 && this.reason !== 'AlreadyExists'; }
  /** 409 AlreadyExists: a create found an object of that name. */
  get alreadyExists(): boolean { return this.status === 409 && this.reason === 'AlreadyExists'; }
  /** 410 Gone (reason Expired): a LIST's continue token is older than the apiserver keeps. */
  get expired(): boolean { return this.status === 410; }
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

/** Turn what the generated client throws into a KubeApiError with a one-line message. */
export function toKubeApiError(error: unknown, what: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    let body: any = error.body;
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { /* keep the text */ }
    }
    const reason = (body && typeof body === 'object' && body.reason) || httpReason(error.code);
    const message = body && typeof body === 'object' && body.message ? body.message : typeof body === 'string' && body ? body : httpReason(error.code);
    const retryAfter = Number(error.headers?.['retry-after']);
    return new KubeApiError(error.code, reason, `${what}: ${error.code} ${reason}: ${oneLine(message)}`, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
  }
  const e = error as { name?: string; code?: string; type?: string; message?: string };
  if (e?.name === 'AbortError' || e?.type === 'aborted') return new KubeApiError(0, 'Timeout', `${what}: no answer (timed out)`);
  const code = e?.code ?? (e?.message?.includes('socket hang up') ? 'ECONNRESET' : undefined);
  if (code && NETWORK_CODES.has(code)) return new KubeApiError(0, code, `${what}: connection failed (${code})`);
  if (e?.type === 'system' || e?.name === 'FetchError') return new KubeApiError(0, 'NetworkError', `${what}: ${oneLine(e.message)}`);
  return new KubeApiError(-1, 'ClientError', `${what}: ${oneLine(e?.message ?? String(error))}`);
}

/** 429, 5xx, timeouts and connection errors are worth another attempt. */
export function isRetryable(error: KubeApiError): boolean {
  return error.status === 429 || error.status >= 500 || error.status === 0;
}

function httpReason(code: number): string {
  return ({ 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 410: 'Gone', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' } as Record<number, string>)[code] ?? `HTTP${code}`;
}

export function oneLine(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}


// ---------------------------------------------------------------------------------------
// The client

export type Kind =
  | 'RedisInstance' | 'StatefulSet' | 'ConfigMap' | 'Service' | 'PodDisruptionBudget' | 'PersistentVolumeClaim'
  | 'StorageClass' | 'Secret' | 'Lease' | 'Event' | 'ServiceAccount' | 'Role' | 'RoleBinding' | 'Pod';

/**
 * Objects per LIST page (`limit`). Smaller than kubectl's 500: a pass reads six kinds side
 * by side, so six pages are held at once, each as bytes, text and parsed objects; a page of
 * 100 ConfigMaps is about 1.5 MiB of JSON. The bench's peak RSS at 1,000 instances is about
 * 12 MiB lower at 100 than at 200, for the same CPU. 10,000 instances take 100 pages per kind.
 */
export const LIST_PAGE_SIZE = 100;

/** A LIST whose continue token expired (410) starts over, at most this many times. */
export const LIST_RESTARTS = 3;

type Api = { apps: AppsV1Api; core: CoreV1Api; custom: CustomObjectsApi; policy: PolicyV1Api; storage: StorageV1Api; coordination: CoordinationV1Api; rbac: RbacAuthorizationV1Api };

interface ListQuery { readonly labelSelector?: string; readonly limit: number; readonly _continue?: string }
/** One page as the apiserver sends it (plain JSON, see keepPlain). */
interface ListPage { readonly items?: unknown[]; readonly metadata?: { readonly continue?: string } }
type Call<A extends unknown[]> = (api: Api, ...args: [...A, ShapedRequest]) => Promise<any>;

/**
 * One row per kind: where it lives, and the generated client's function for each verb the
 * reconciler uses on it (a verb without a function is not used, and refused).
 */
interface KindApi {
  readonly group: string;
  readonly version: string;
  /** The plural resource name, as in the URL and in RBAC. */
  readonly resource: string;
  readonly namespaced: boolean;
  /** `namespace` undefined: all namespaces (or a cluster-scoped kind). */
  readonly list?: Call<[namespace: string | undefined, query: ListQuery]>;
  readonly get?: Call<[namespace: string, name: string]>;
  readonly create?: Call<[namespace: string, body: any]>;
  readonly patch?: Call<[namespace: string, name: string, body: object]>;
  readonly replace?: Call<[namespace: string, name: string, body: any]>;
  readonly delete?: Call<[namespace: string, name: string, body: object]>;
}

const CUSTOM = { group: API_GROUP, version: 'v1', plural: PLURAL } as const;

export const KINDS: { readonly [K in Kind]: KindApi } = {
  RedisInstance: {
    group: API_GROUP, version: 'v1', resource: PLURAL, namespaced: true,
    list: ({ custom }, namespace, q, o) => (namespace
      ? custom.listNamespacedCustomObject({ ...CUSTOM, namespace, ...q }, o)
      : custom.listClusterCustomObject({ ...CUSTOM, ...q }, o)),
  },
  StatefulSet: {
    group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true,
    list: ({ apps }, namespace, q, o) => (namespace ? apps.listNamespacedStatefulSet({ namespace, ...q }, o) : apps.listStatefulSetForAllNamespaces(q, o)),
    get: ({ apps }, namespace, name, o) => apps.readNamespacedStatefulSet({ name, namespace }, o),
    create: ({ apps }, namespace, body, o) => apps.createNamespacedStatefulSet({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ apps }, namespace, name, body, o) => apps.patchNamespacedStatefulSet({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
    delete: ({ apps }, namespace, name, body, o) => apps.deleteNamespacedStatefulSet({ name, namespace, body }, o),
  },
  ConfigMap: {
    group: '', version: 'v1', resource: 'configmaps', namespaced: true,
    list: ({ core }, namespace, q, o) => (namespace ? core.listNamespacedConfigMap({ namespace, ...q }, o) : core.listConfigMapForAllNamespaces(q, o)),
    get: ({ core }, namespace, name, o) => core.readNamespacedConfigMap({ name, namespace }, o),
    create: ({ core }, namespace, body, o) => core.createNamespacedConfigMap({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ core }, namespace, name, body, o) => core.patchNamespacedConfigMap({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  Service: {
    group: '', version: 'v1', resource: 'services', namespaced: true,
    list: ({ core }, namespace, q, o) => (namespace ? core.listNamespacedService({ namespace, ...q }, o) : core.listServiceForAllNamespaces(q, o)),
    get: ({ core }, namespace, name, o) => core.readNamespacedService({ name, namespace }, o),
    create: ({ core }, namespace, body, o) => core.createNamespacedService({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ core }, namespace, name, body, o) => core.patchNamespacedService({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
    delete: ({ core }, namespace, name, body, o) => core.deleteNamespacedService({ name, namespace, body }, o),
  },
  PodDisruptionBudget: {
    group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true,
    list: ({ policy }, namespace, q, o) => (namespace
      ? policy.listNamespacedPodDisruptionBudget({ namespace, ...q }, o)
      : policy.listPodDisruptionBudgetForAllNamespaces(q, o)),
    get: ({ policy }, namespace, name, o) => policy.readNamespacedPodDisruptionBudget({ name, namespace }, o),
    create: ({ policy }, namespace, body, o) => policy.createNamespacedPodDisruptionBudget({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ policy }, namespace, name, body, o) => policy.patchNamespacedPodDisruptionBudget({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
    delete: ({ policy }, namespace, name, body, o) => policy.deleteNamespacedPodDisruptionBudget({ name, namespace, body }, o),
  },
  PersistentVolumeClaim: {
    group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true,
    list: ({ core }, namespace, q, o) => (namespace
      ? core.listNamespacedPersistentVolumeClaim({ namespace, ...q }, o)
      : core.listPersistentVolumeClaimForAllNamespaces(q, o)),
    patch: ({ core }, namespace, name, body, o) => core.patchNamespacedPersistentVolumeClaim({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  StorageClass: {
    group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false,
    list: ({ storage }, _namespace, q, o) => storage.listStorageClass(q, o),
  },
  Secret: {
    // Listed per namespace only: RBAC grants Secret reads in the namespaces the construct names.
    group: '', version: 'v1', resource: 'secrets', namespaced: true,
    list: ({ core }, namespace, q, o) => {
      if (!namespace) throw new Error('internal: Secrets are only listed per namespace');
      return core.listNamespacedSecret({ namespace, ...q }, o);
    },
  },
  Lease: {
    group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true,
    get: ({ coordination }, namespace, name, o) => coordination.readNamespacedLease({ name, namespace }, o),
    create: ({ coordination }, namespace, body, o) => coordination.createNamespacedLease({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    replace: ({ coordination }, namespace, name, body, o) => coordination.replaceNamespacedLease({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  Event: {
    group: '', version: 'v1', resource: 'events', namespaced: true,
    create: ({ core }, namespace, body, o) => core.createNamespacedEvent({ namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  // The role agents' RBAC and pods (failover instances).
  ServiceAccount: {
    group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true,
    list: ({ core }, namespace, q, o) => (namespace ? core.listNamespacedServiceAccount({ namespace, ...q }, o) : core.listServiceAccountForAllNamespaces(q, o)),
    get: ({ core }, namespace, name, o) => core.readNamespacedServiceAccount({ name, namespace }, o),
    create: ({ core }, namespace, body, o) => core.createNamespacedServiceAccount({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ core }, namespace, name, body, o) => core.patchNamespacedServiceAccount({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  Role: {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', namespaced: true,
    list: ({ rbac }, namespace, q, o) => (namespace ? rbac.listNamespacedRole({ namespace, ...q }, o) : rbac.listRoleForAllNamespaces(q, o)),
    get: ({ rbac }, namespace, name, o) => rbac.readNamespacedRole({ name, namespace }, o),
    create: ({ rbac }, namespace, body, o) => rbac.createNamespacedRole({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ rbac }, namespace, name, body, o) => rbac.patchNamespacedRole({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  RoleBinding: {
    group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', namespaced: true,
    list: ({ rbac }, namespace, q, o) => (namespace ? rbac.listNamespacedRoleBinding({ namespace, ...q }, o) : rbac.listRoleBindingForAllNamespaces(q, o)),
    get: ({ rbac }, namespace, name, o) => rbac.readNamespacedRoleBinding({ name, namespace }, o),
    create: ({ rbac }, namespace, body, o) => rbac.createNamespacedRoleBinding({ namespace, body, fieldManager: FIELD_MANAGER }, o),
    patch: ({ rbac }, namespace, name, body, o) => rbac.patchNamespacedRoleBinding({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
  Pod: {
    group: '', version: 'v1', resource: 'pods', namespaced: true,
    list: ({ core }, namespace, q, o) => (namespace ? core.listNamespacedPod({ namespace, ...q }, o) : core.listPodForAllNamespaces(q, o)),
    get: ({ core }, namespace, name, o) => core.readNamespacedPod({ name, namespace }, o),
    patch: ({ core }, namespace, name, body, o) => core.patchNamespacedPod({ name, namespace, body, fieldManager: FIELD_MANAGER }, o),
  },
};

/** (group, resource) of each kind, for RBAC checks and messages. */
export const RESOURCES: { readonly [K in Kind]: { readonly group: string; readonly resource: string } } = Object.fromEntries(
  Object.entries(KINDS).map(([kind, { group, resource }]) => [kind, { group, resource }]),
) as { [K in Kind]: { group: string; resource: string } };

export interface DeleteOptions {
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly uid?: string;
}

/** Requests sent, by verb (each attempt counts). */
export type RequestCounts = Record<ApiVerb, number>;

/** `namespace/name`: the order the apiserver lists in (etcd's key order). */
export function objectKey(object: unknown): string {
  const meta = (object as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
  return `${meta?.namespace ?? ''}/${meta?.name ?? ''}`;
}

/** The table's function for a verb (looked up after the RBAC check); a verb the reconciler does not use on a kind is a bug. */
function row<V extends 'list' | 'get' | 'create' | 'patch' | 'replace' | 'delete'>(kind: Kind, verb: V): NonNullable<KindApi[V]> {
  const fn = KINDS[kind][verb];
  if (!fn) throw new Error(`internal: no ${verb} for ${kind}`);
  return fn as NonNullable<KindApi[V]>;
}

/**
 * Typed access to the kinds the reconciler uses. Objects go in and come out as plain
 * JSON-shaped values; errors come out as KubeApiError after bounded retries.
 */
export class KubeClient {
  readonly counts: RequestCounts = { get: 0, list: 0, create: 0, update: 0, patch: 0, delete: 0 };
  private readonly api: Api;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly pageSize: number;
  private readonly deadline?: Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pool = new ConnectionPool();

  constructor(kubeConfig: KubeConfig, options: ClientOptions = {}) {
    this.api = {
      apps: kubeConfig.makeApiClient(AppsV1Api),
      core: kubeConfig.makeApiClient(CoreV1Api),
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      policy: kubeConfig.makeApiClient(PolicyV1Api),
      storage: kubeConfig.makeApiClient(StorageV1Api),
      coordination: kubeConfig.makeApiClient(CoordinationV1Api),
      rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
    };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.backoffMs = options.backoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.pageSize = options.pageSize ?? LIST_PAGE_SIZE;
    this.deadline = options.deadline;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Total requests sent. */
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Writes sent (create, update, patch, delete). */
  get writes(): number {
    return this.counts.create + this.counts.update + this.counts.patch + this.counts.delete;
  }

  /** One call with retries: 429 (Retry-After honoured, capped), 5xx, timeouts, resets. */
  private async call<T>(verb: ApiVerb, kind: Kind, what: string, send: (options: ShapedRequest) => Promise<T>, subresource?: string, plain?: PlainBody): Promise<T> {
    const { group, resource } = KINDS[kind];
    const rbacResource = subresource ? `${resource}/${subresource}` : resource;
    if (!isPermitted(group, rbacResource, verb)) {
      throw new Error(`internal: ${verb} ${rbacResource} is not in RECONCILER_PERMISSIONS; add it there (and so to RBAC) first`);
    }
    for (let attempt = 1; ; attempt++) {
      const left = this.deadline ? this.deadline.getTime() - Date.now() : Infinity;
      if (left <= 0) throw new KubeApiError(0, 'DeadlineExceeded', `${what}: not sent, the pass deadline (${this.deadline!.toISOString()}) has passed; the next pass carries on`);
      this.counts[verb] += 1;
      try {
        return await send(shapeRequest(verb, Math.min(this.timeoutMs, left), plain, this.pool));
      } catch (raw) {
        const error = toKubeApiError(raw, what);
        if (!isRetryable(error) || attempt >= this.attempts) {
          if (isRetryable(error) && this.attempts > 1) {
            throw new KubeApiError(error.status, error.reason, `${error.message} (after ${attempt} attempts)`, error.retryAfterMs);
          }
          throw error;
        }
        const backoff = this.backoffMs * 2 ** (attempt - 1);
        const wait = Math.min(this.maxBackoffMs, error.retryAfterMs !== undefined ? Math.max(error.retryAfterMs, backoff) : backoff);
        if (this.deadline && Date.now() + wait >= this.deadline.getTime()) {
          throw new KubeApiError(error.status, error.reason, `${error.message} (after ${attempt} attempts; the pass deadline leaves no time for another)`, error.retryAfterMs);
        }
        await this.sleep(wait);
      }
    }
  }

  /**
   * A paginated LIST (`limit`/`continue`, LIST_PAGE_SIZE per page), page by page, in the
   * apiserver's key order (namespace, then name); all namespaces when `namespace` is
   * undefined. A continue token that expired (410) starts the LIST over, at most
   * LIST_RESTARTS times, skipping what was already given.
   */
  async *pages<T = any>(kind: Kind, namespace: string | undefined, labelSelector?: string): AsyncGenerator<T[]> {
    const where = namespace ? ` in ${namespace}` : '';
    const what = `list ${KINDS[kind].resource}${where}${labelSelector ? ` (${labelSelector})` : ''}`;
    let after: string | undefined;
    for (let restart = 0; ; restart++) {
      let token: string | undefined;
      try {
        do {
          const query: ListQuery = { labelSelector, limit: this.pageSize, ...(token ? { _continue: token } : {}) };
          const plain: PlainBody = {};
          await this.call('list', kind, what, (o) => row(kind, 'list')(this.api, namespace, query, o), undefined, plain);
          const page = (plain.value ?? {}) as ListPage;
          token = page.metadata?.continue || undefined;
          const items = (page.items ?? []) as T[];
          const fresh = after === undefined ? items : items.filter((item) => objectKey(item) > after!);
          if (fresh.length > 0) {
            after = objectKey(fresh[fresh.length - 1]);
            yield fresh;
          }
        } while (token);
        return;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.expired && token) || restart >= LIST_RESTARTS) throw error;
      }
    }
  }

  /** A call whose answer is kept as plain JSON (keepPlain), as the LIST pages are: no model classes. */
  private async plainCall<T>(verb: ApiVerb, kind: Kind, what: string, send: (options: ShapedRequest) => Promise<unknown>, subresource?: string): Promise<T> {
    const plain: PlainBody = {};
    await this.call(verb, kind, what, send, subresource, plain);
    return plain.value as T;
  }

  /** A whole paginated LIST (see pages). */
  async list<T = any>(kind: Kind, namespace: string | undefined, labelSelector?: string): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<T>(kind, namespace, labelSelector)) items.push(...page);
    return items;
  }

  /** One GET; undefined when it does not exist. */
  async get<T = any>(kind: Kind, namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.plainCall('get', kind, `get ${kind} ${namespace}/${name}`, (o) => row(kind, 'get')(this.api, namespace, name, o));
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return undefined;
      throw error;
    }
  }

  async create<T = any>(kind: Kind, namespace: string, body: any): Promise<T> {
    return this.plainCall('create', kind, `create ${kind} ${namespace}/${body?.metadata?.name ?? body?.metadata?.generateName ?? ''}`, (o) => row(kind, 'create')(this.api, namespace, body, o));
  }

  /** A JSON merge patch (RFC 7386). */
  async patch<T = any>(kind: Kind, namespace: string, name: string, body: object): Promise<T> {
    return this.plainCall('patch', kind, `patch ${kind} ${namespace}/${name}`, (o) => row(kind, 'patch')(this.api, namespace, name, body, o));
  }

  /** Merge-patch a RedisInstance's status through the /status subresource; the body carries only `status`. */
  async patchStatus(namespace: string, name: string, status: object): Promise<any> {
    return this.plainCall('patch', 'RedisInstance', `patch RedisInstance ${namespace}/${name} status`, (o) => this.api.custom.patchNamespacedCustomObjectStatus({
      ...CUSTOM, namespace, name, body: { status }, fieldManager: FIELD_MANAGER,
    }, o), 'status');
  }

  /** A PUT (the Lease, with its resourceVersion, so a concurrent writer gets 409). */
  async replace<T = any>(kind: Kind, namespace: string, name: string, body: any): Promise<T> {
    return this.plainCall('update', kind, `update ${kind} ${namespace}/${name}`, (o) => row(kind, 'replace')(this.api, namespace, name, body, o));
  }

  /** DELETE; a 404 is success (it is gone either way). */
  async delete(kind: Kind, namespace: string, name: string, options: DeleteOptions = {}): Promise<void> {
    const body = {
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    };
    try {
      await this.call('delete', kind, `delete ${kind} ${namespace}/${name}`, (o) => row(kind, 'delete')(this.api, namespace, name, body, o));
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return;
      throw error;
    }
  }
}
