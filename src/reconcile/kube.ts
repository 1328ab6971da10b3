import {
  ApiException, AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Observable, PatchStrategy,
  PolicyV1Api, RbacAuthorizationV1Api, StorageV1Api,
  type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { API_GROUP, PLURAL } from '../api/types';
import { FIELD_MANAGER, isPermitted, type ApiVerb } from './permissions';

export { FIELD_MANAGER };

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
    try {
      const loaded = new KubeConfig();
      loaded.loadFromFile(file);
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
  const context = kc.getContextObject(kc.getCurrentContext());
  if (!context) throw new KubeConfigError(`${source} has no current context; pass --context`);
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
  /** Used between attempts; tests pass their own. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type ShapedRequest = ConfigurationOptions<ObservableMiddleware>;

/**
 * The one place that shapes requests: patches are JSON merge patches (RFC 7386; the
 * generated client would otherwise send application/json-patch+json), and every request
 * is aborted after `timeoutMs`. Returned as per-call options of the generated APIs.
 */
export function shapeRequest(verb: ApiVerb, timeoutMs: number): ShapedRequest {
  const middleware: ObservableMiddleware = {
    pre(context: RequestContext) {
      if (verb === 'patch') context.setHeaderParam('Content-Type', PatchStrategy.MergePatch);
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post(response: ResponseContext) {
      return new Observable(Promise.resolve(response));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
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
  get conflict(): boolean { return this.status === 409 && this.reason !== 'AlreadyExists'; }
  get alreadyExists(): boolean { return this.status === 409 && this.reason === 'AlreadyExists'; }
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

const fieldManager = FIELD_MANAGER;

/** (group, resource) of each kind, for RBAC checks and messages. */
export const RESOURCES: Record<Kind, { readonly group: string; readonly resource: string }> = {
  RedisInstance: { group: API_GROUP, resource: PLURAL },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  ConfigMap: { group: '', resource: 'configmaps' },
  Service: { group: '', resource: 'services' },
  PodDisruptionBudget: { group: 'policy', resource: 'poddisruptionbudgets' },
  PersistentVolumeClaim: { group: '', resource: 'persistentvolumeclaims' },
  StorageClass: { group: 'storage.k8s.io', resource: 'storageclasses' },
  Secret: { group: '', resource: 'secrets' },
  Lease: { group: 'coordination.k8s.io', resource: 'leases' },
  Event: { group: '', resource: 'events' },
  ServiceAccount: { group: '', resource: 'serviceaccounts' },
  Role: { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  RoleBinding: { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
  Pod: { group: '', resource: 'pods' },
};

export interface DeleteOptions {
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly uid?: string;
}

/** Requests sent, by verb (each attempt counts). */
export type RequestCounts = Record<ApiVerb, number>;

type Api = { apps: AppsV1Api; core: CoreV1Api; custom: CustomObjectsApi; policy: PolicyV1Api; storage: StorageV1Api; coordination: CoordinationV1Api; rbac: RbacAuthorizationV1Api };

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
  private readonly sleep: (ms: number) => Promise<void>;

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
  private async call<T>(verb: ApiVerb, kind: Kind, what: string, send: (options: ShapedRequest) => Promise<T>, subresource?: string): Promise<T> {
    const { group, resource } = RESOURCES[kind];
    const rbacResource = subresource ? `${resource}/${subresource}` : resource;
    if (!isPermitted(group, rbacResource, verb)) {
      throw new Error(`internal: ${verb} ${rbacResource} is not in RECONCILER_PERMISSIONS; add it there (and so to RBAC) first`);
    }
    for (let attempt = 1; ; attempt++) {
      this.counts[verb] += 1;
      try {
        return await send(shapeRequest(verb, this.timeoutMs));
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
        await this.sleep(wait);
      }
    }
  }

  /** One LIST; all namespaces when `namespace` is undefined. */
  async list<T = any>(kind: Kind, namespace: string | undefined, labelSelector?: string): Promise<T[]> {
    const { apps, core, custom, policy, storage, rbac } = this.api;
    const where = namespace ? ` in ${namespace}` : '';
    const what = `list ${RESOURCES[kind].resource}${where}${labelSelector ? ` (${labelSelector})` : ''}`;
    const q = { labelSelector };
    const result = await this.call('list', kind, what, async (o): Promise<{ items: any[] }> => {
      switch (kind) {
        case 'RedisInstance':
          return (namespace
            ? custom.listNamespacedCustomObject({ group: API_GROUP, version: 'v1', plural: PLURAL, namespace, ...q }, o)
            : custom.listClusterCustomObject({ group: API_GROUP, version: 'v1', plural: PLURAL, ...q }, o)) as Promise<{ items: any[] }>;
        case 'StatefulSet':
          return namespace ? apps.listNamespacedStatefulSet({ namespace, ...q }, o) : apps.listStatefulSetForAllNamespaces(q, o);
        case 'ConfigMap':
          return namespace ? core.listNamespacedConfigMap({ namespace, ...q }, o) : core.listConfigMapForAllNamespaces(q, o);
        case 'Service':
          return namespace ? core.listNamespacedService({ namespace, ...q }, o) : core.listServiceForAllNamespaces(q, o);
        case 'PodDisruptionBudget':
          return namespace ? policy.listNamespacedPodDisruptionBudget({ namespace, ...q }, o) : policy.listPodDisruptionBudgetForAllNamespaces(q, o);
        case 'PersistentVolumeClaim':
          return namespace ? core.listNamespacedPersistentVolumeClaim({ namespace, ...q }, o) : core.listPersistentVolumeClaimForAllNamespaces(q, o);
        case 'Secret':
          if (!namespace) throw new Error('internal: Secrets are only listed per namespace');
          return core.listNamespacedSecret({ namespace, ...q }, o);
        case 'StorageClass':
          return storage.listStorageClass(q, o);
        case 'ServiceAccount':
          return namespace ? core.listNamespacedServiceAccount({ namespace, ...q }, o) : core.listServiceAccountForAllNamespaces(q, o);
        case 'Role':
          return namespace ? rbac.listNamespacedRole({ namespace, ...q }, o) : rbac.listRoleForAllNamespaces(q, o);
        case 'RoleBinding':
          return namespace ? rbac.listNamespacedRoleBinding({ namespace, ...q }, o) : rbac.listRoleBindingForAllNamespaces(q, o);
        case 'Pod':
          return namespace ? core.listNamespacedPod({ namespace, ...q }, o) : core.listPodForAllNamespaces(q, o);
        default:
          throw new Error(`internal: no list for ${kind}`);
      }
    });
    return (result.items ?? []) as T[];
  }

  /** One GET; undefined when it does not exist. */
  async get<T = any>(kind: Kind, namespace: string, name: string): Promise<T | undefined> {
    const { apps, core, policy, coordination } = this.api;
    try {
      return await this.call('get', kind, `get ${kind} ${namespace}/${name}`, async (o): Promise<any> => {
        switch (kind) {
          case 'StatefulSet': return apps.readNamespacedStatefulSet({ name, namespace }, o);
          case 'ConfigMap': return core.readNamespacedConfigMap({ name, namespace }, o);
          case 'Service': return core.readNamespacedService({ name, namespace }, o);
          case 'PodDisruptionBudget': return policy.readNamespacedPodDisruptionBudget({ name, namespace }, o);
          case 'Lease': return coordination.readNamespacedLease({ name, namespace }, o);
          case 'ServiceAccount': return core.readNamespacedServiceAccount({ name, namespace }, o);
          case 'Role': return this.api.rbac.readNamespacedRole({ name, namespace }, o);
          case 'RoleBinding': return this.api.rbac.readNamespacedRoleBinding({ name, namespace }, o);
          case 'Pod': return core.readNamespacedPod({ name, namespace }, o);
          default: throw new Error(`internal: no get for ${kind}`);
        }
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return undefined;
      throw error;
    }
  }

  async create<T = any>(kind: Kind, namespace: string, body: any): Promise<T> {
    const { apps, core, policy, coordination } = this.api;
    return this.call('create', kind, `create ${kind} ${namespace}/${body?.metadata?.name ?? body?.metadata?.generateName ?? ''}`, async (o): Promise<any> => {
      switch (kind) {
        case 'StatefulSet': return apps.createNamespacedStatefulSet({ namespace, body, fieldManager }, o);
        case 'ConfigMap': return core.createNamespacedConfigMap({ namespace, body, fieldManager }, o);
        case 'Service': return core.createNamespacedService({ namespace, body, fieldManager }, o);
        case 'PodDisruptionBudget': return policy.createNamespacedPodDisruptionBudget({ namespace, body, fieldManager }, o);
        case 'Event': return core.createNamespacedEvent({ namespace, body, fieldManager }, o);
        case 'Lease': return coordination.createNamespacedLease({ namespace, body, fieldManager }, o);
        case 'ServiceAccount': return core.createNamespacedServiceAccount({ namespace, body, fieldManager }, o);
        case 'Role': return this.api.rbac.createNamespacedRole({ namespace, body, fieldManager }, o);
        case 'RoleBinding': return this.api.rbac.createNamespacedRoleBinding({ namespace, body, fieldManager }, o);
        default: throw new Error(`internal: no create for ${kind}`);
      }
    });
  }

  /** A JSON merge patch (RFC 7386). */
  async patch<T = any>(kind: Kind, namespace: string, name: string, body: object): Promise<T> {
    const { apps, core, policy } = this.api;
    return this.call('patch', kind, `patch ${kind} ${namespace}/${name}`, async (o): Promise<any> => {
      switch (kind) {
        case 'StatefulSet': return apps.patchNamespacedStatefulSet({ name, namespace, body, fieldManager }, o);
        case 'ConfigMap': return core.patchNamespacedConfigMap({ name, namespace, body, fieldManager }, o);
        case 'Service': return core.patchNamespacedService({ name, namespace, body, fieldManager }, o);
        case 'PodDisruptionBudget': return policy.patchNamespacedPodDisruptionBudget({ name, namespace, body, fieldManager }, o);
        case 'PersistentVolumeClaim': return core.patchNamespacedPersistentVolumeClaim({ name, namespace, body, fieldManager }, o);
        case 'Role': return this.api.rbac.patchNamespacedRole({ name, namespace, body, fieldManager }, o);
        case 'RoleBinding': return this.api.rbac.patchNamespacedRoleBinding({ name, namespace, body, fieldManager }, o);
        case 'ServiceAccount': return core.patchNamespacedServiceAccount({ name, namespace, body, fieldManager }, o);
        case 'Pod': return core.patchNamespacedPod({ name, namespace, body, fieldManager }, o);
        default: throw new Error(`internal: no patch for ${kind}`);
      }
    });
  }

  /** Merge-patch a RedisInstance's status through the /status subresource; the body carries only `status`. */
  async patchStatus(namespace: string, name: string, status: object): Promise<any> {
    return this.call('patch', 'RedisInstance', `patch RedisInstance ${namespace}/${name} status`, (o) => this.api.custom.patchNamespacedCustomObjectStatus({
      group: API_GROUP, version: 'v1', plural: PLURAL, namespace, name, body: { status }, fieldManager,
    }, o), 'status');
  }

  /** A PUT (the Lease, with its resourceVersion, so a concurrent writer gets 409). */
  async replace<T = any>(kind: Kind, namespace: string, name: string, body: any): Promise<T> {
    return this.call('update', kind, `update ${kind} ${namespace}/${name}`, async (o): Promise<any> => {
      if (kind === 'Lease') return this.api.coordination.replaceNamespacedLease({ name, namespace, body, fieldManager }, o);
      throw new Error(`internal: no update for ${kind}`);
    });
  }

  /** DELETE; a 404 is success (it is gone either way). */
  async delete(kind: Kind, namespace: string, name: string, options: DeleteOptions = {}): Promise<void> {
    const { apps, core, policy } = this.api;
    const body = {
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    };
    try {
      await this.call('delete', kind, `delete ${kind} ${namespace}/${name}`, async (o): Promise<any> => {
        switch (kind) {
          case 'StatefulSet': return apps.deleteNamespacedStatefulSet({ name, namespace, body }, o);
          case 'Service': return core.deleteNamespacedService({ name, namespace, body }, o);
          case 'PodDisruptionBudget': return policy.deleteNamespacedPodDisruptionBudget({ name, namespace, body }, o);
          default: throw new Error(`internal: no delete for ${kind}`);
        }
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return;
      throw error;
    }
  }
}
