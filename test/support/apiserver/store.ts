/**
 * The object store: what genericregistry.Store + the admission chain + the garbage collector
 * do to objects, without HTTP. All writes go through here (HTTP handlers, the test helpers and
 * the simulated StatefulSet controller), so they all get the same resourceVersion, generation,
 * status-subresource, validation and deletion semantics.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyDefaults, initialStatus } from './defaults';
import {
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  invalidObject,
  notFound,
  alreadyExists,
  staleResourceVersion,
  unsupportedMediaType,
  type FieldError,
} from './errors';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch';
import { compareQuantities } from './quantity';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { deepCopy, deepEqual, getPath, isObject, nowTimestamp, quote, type Obj } from './util';
import { validateCreate, validateUpdate } from './validation';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy | string;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteOptions {
  subresource?: 'status';
  dryRun?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const FINALIZER_ORPHAN = 'orphan';
const FINALIZER_FOREGROUND = 'foregroundDeletion';
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
];

/** kind, apiVersion, metadata first (as the apiserver serialises), metadata in ObjectMeta order. */
function normalize(rt: ResourceType, obj: Obj): Obj {
  const meta: Obj = {};
  for (const k of META_ORDER) if (obj.metadata?.[k] !== undefined) meta[k] = obj.metadata[k];
  for (const [k, v] of Object.entries(obj.metadata ?? {})) if (!(k in meta) && v !== undefined) meta[k] = v;
  const { kind: _k, apiVersion: _a, metadata: _m, ...rest } = obj;
  return { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: meta, ...rest };
}

function withoutKeys(o: Obj, keys: string[]): Obj {
  const copy = { ...o };
  for (const k of keys) delete copy[k];
  return copy;
}

function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return s;
}

/** The index of the first key after `key` in sorted `keys`. */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Entry {
  rt: ResourceType;
  obj: Obj;
}

export class Store {
  private rv = 0;
  private readonly objects = new Map<ResourceType, Map<string, Obj>>();
  /** The same objects of namespaced kinds, by namespace, so a namespaced LIST reads only its namespace. */
  private readonly byNamespace = new Map<ResourceType, Map<string, Map<string, Obj>>>();
  private nextClusterIP = 10;
  private collecting = false;
  private compactedRevision = 0;
  /** Set by a write that can give the garbage collector work; cleared by a sweep that found none. */
  private gcPending = false;

  constructor(readonly registry: ResourceRegistry) {}

  /** The current (global) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  resource(apiVersion: string, kind: string): ResourceType {
    const rt = this.registry.byKind(apiVersion, kind);
    if (!rt) throw new Error(`the test API server does not serve ${apiVersion} ${kind}`);
    return rt;
  }

  // --- reads ------------------------------------------------------------------------------------

  private table(rt: ResourceType): Map<string, Obj> {
    let t = this.objects.get(rt);
    if (!t) this.objects.set(rt, (t = new Map()));
    return t;
  }

  private namespaceTable(rt: ResourceType, namespace: string): Map<string, Obj> {
    let byNs = this.byNamespace.get(rt);
    if (!byNs) this.byNamespace.set(rt, (byNs = new Map()));
    let t = byNs.get(namespace);
    if (!t) byNs.set(namespace, (t = new Map()));
    return t;
  }

  private key(rt: ResourceType, namespace: string | undefined, name: string): string {
    return `${rt.namespaced ? namespace ?? '' : ''}/${name}`;
  }

  private raw(rt: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    return this.table(rt).get(this.key(rt, namespace, name));
  }

  tryGet(rt: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const obj = this.raw(rt, namespace, name);
    return obj && deepCopy(obj);
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): Obj {
    const obj = this.tryGet(rt, namespace, name);
    if (!obj) throw notFound(rt, name);
    return obj;
  }

  list(rt: ResourceType, namespace?: string, opts: ListOptions = {}): ListResult {
    const matchLabels = parseLabelSelector(opts.labelSelector ?? '');
    const matchFields = parseFieldSelector(rt, opts.fieldSelector ?? '');
    let start: string | undefined;
    if (opts.continue) {
      let token: { rv?: unknown; start?: unknown };
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8'));
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (typeof token.rv !== 'number' || typeof token.start !== 'string') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      // etcd keeps revisions until compaction: an older token cannot continue a consistent list.
      if (token.rv < this.compactedRevision) throw expired();
      start = token.start;
    }
    // Keys sort like etcd's; a page walks from the continue key until it holds `limit`
    // objects, as the apiserver fills a page from etcd: the rest is never scanned, so a
    // paginated LIST costs the pages, not pages x objects.
    const source = rt.namespaced && namespace !== undefined ? this.namespaceTable(rt, namespace) : this.table(rt);
    const keys = this.sortedKeys(source);
    const result: ListResult = { items: [], resourceVersion: this.resourceVersion };
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let last: string | undefined;
    let i = start === undefined ? 0 : upperBound(keys, start);
    for (; i < keys.length && result.items.length < limit; i++) {
      const o = source.get(keys[i])!;
      if (!matchLabels(o.metadata.labels) || !matchFields(o)) continue;
      result.items.push(deepCopy(o));
      last = keys[i];
    }
    if (i < keys.length && last !== undefined) {
      result.continue = Buffer.from(JSON.stringify({ rv: this.rv, start: last })).toString('base64');
      // ListMeta: with a label or field selector the number left is unknown, and not set.
      if (!opts.labelSelector && !opts.fieldSelector) result.remainingItemCount = keys.length - i;
    }
    return result;
  }

  /**
   * The stored objects themselves, not copies, for the simulated controllers that read
   * every object on every step (a copy per read made a step cost grow with the square of
   * the fleet). Callers must not modify them.
   */
  peek(rt: ResourceType, namespace?: string): readonly Obj[] {
    const source = rt.namespaced && namespace !== undefined ? this.namespaceTable(rt, namespace) : this.table(rt);
    return [...source.values()];
  }

  /** One stored object itself (see peek), or undefined. */
  peekOne(rt: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    return this.raw(rt, namespace, name);
  }

  /**
   * Compaction, as etcd does it every few minutes: continue tokens issued so far expire
   * (410 Expired on their next page).
   */
  compact(): void {
    this.compactedRevision = this.rv + 1;
  }

  private allEntries(): Entry[] {
    const out: Entry[] = [];
    for (const [rt, table] of this.objects) for (const obj of table.values()) out.push({ rt, obj });
    return out;
  }

  // --- low-level commit -------------------------------------------------------------------------

  private bump(): string {
    this.rv += 1;
    return String(this.rv);
  }

  /** A table's keys in order, kept until a key is added or removed (updates keep the keys). */
  private readonly keyOrder = new WeakMap<Map<string, Obj>, string[]>();

  private sortedKeys(source: Map<string, Obj>): string[] {
    let keys = this.keyOrder.get(source);
    if (!keys) this.keyOrder.set(source, (keys = [...source.keys()].sort()));
    return keys;
  }

  private put(rt: ResourceType, obj: Obj): Obj {
    obj.metadata.resourceVersion = this.bump();
    const stored = normalize(rt, obj);
    const key = this.key(rt, obj.metadata.namespace, obj.metadata.name);
    if (!this.table(rt).has(key)) {
      this.keyOrder.delete(this.table(rt));
      if (rt.namespaced) this.keyOrder.delete(this.namespaceTable(rt, obj.metadata.namespace ?? ''));
    }
    this.table(rt).set(key, stored);
    if (rt.namespaced) this.namespaceTable(rt, obj.metadata.namespace ?? '').set(key, stored);
    if (this.givesGcWork({ rt, obj: stored })) this.gcPending = true;
    return deepCopy(stored);
  }

  private remove(rt: ResourceType, obj: Obj): void {
    const key = this.key(rt, obj.metadata.namespace, obj.metadata.name);
    this.table(rt).delete(key);
    if (rt.namespaced) this.namespaceTable(rt, obj.metadata.namespace ?? '').delete(key);
    this.keyOrder.delete(this.table(rt));
    if (rt.namespaced) this.keyOrder.delete(this.namespaceTable(rt, obj.metadata.namespace ?? ''));
    this.bump(); // etcd's revision moves on a delete too
    this.gcPending = true; // its dependents may now have no owner
  }

  /**
   * Whether storing this object can give the garbage collector work: it is being deleted,
   * or one of its owners is absent or being deleted (orphan / foreground finalizers wait
   * on their dependents). Anything else leaves the sweep with nothing to do, so writes
   * need not sweep every object.
   */
  private givesGcWork(e: Entry): boolean {
    if (e.obj.metadata.deletionTimestamp) return true;
    for (const ref of e.obj.metadata.ownerReferences ?? []) {
      const state = this.ownerState(ref, e);
      if (state === 'absent') return true;
      if (state === 'present') {
        const rt = this.registry.byKind(ref.apiVersion, ref.kind)!;
        if (this.raw(rt, e.obj.metadata.namespace, ref.name)?.metadata.deletionTimestamp) return true;
      }
    }
    return false;
  }

  // --- create -----------------------------------------------------------------------------------

  /** Makes sure a namespace object exists (namespaces are auto-known in this server). */
  ensureNamespace(name: string): void {
    const nsType = this.resource('v1', 'Namespace');
    if (this.raw(nsType, undefined, name)) return;
    this.create(nsType, undefined, { metadata: { name } });
  }

  private checkTypeMeta(rt: ResourceType, body: Obj): void {
    const apiVersion = body.apiVersion ?? apiVersionOf(rt);
    const kind = body.kind ?? rt.kind;
    if (apiVersion !== apiVersionOf(rt) || kind !== rt.kind) {
      const [bodyGroup, bodyVersion] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
      throw badRequest(
        `${kind} in version ${quote(bodyVersion)} cannot be handled as a ${rt.kind}: no kind ${quote(kind)} is registered for version ${quote(
          bodyGroup ? `${bodyGroup}/${bodyVersion}` : bodyVersion,
        )} in scheme`,
      );
    }
  }

  private checkNamespace(rt: ResourceType, namespace: string | undefined, body: Obj): void {
    if (rt.namespaced && body.metadata.namespace && body.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  /** POST semantics. */
  create(rt: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Obj {
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    this.checkTypeMeta(rt, body);
    const obj = deepCopy(body);
    if (!isObject(obj.metadata)) obj.metadata = {};
    const meta = obj.metadata;
    this.checkNamespace(rt, namespace, obj);
    if (rt.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) {
      throw invalidObject(rt, '', [{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }]);
    }
    if (rt.namespaced) this.checkNamespaceNotTerminating(rt, namespace ?? '', meta.name);

    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']) delete meta[k];
    if (rt.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    if (rt.statusSubresource) {
      const status = rt.custom ? undefined : initialStatus(rt.group, rt.kind, obj);
      if (status === undefined) delete obj.status;
      else obj.status = status;
    }
    this.admitCreate(rt, obj);
    applyDefaults(rt.group, rt.kind, obj);
    const errs = validateCreate(rt, obj);
    if (errs.length > 0) throw invalidObject(rt, meta.name, errs);
    if (this.raw(rt, namespace, meta.name)) throw alreadyExists(rt, meta.name);
    if (opts.dryRun) return normalize(rt, obj);

    if (rt.namespaced) this.ensureNamespace(namespace ?? '');
    const created = this.put(rt, obj);
    this.collectGarbage();
    return created;
  }

  private checkNamespaceNotTerminating(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.raw(this.resource('v1', 'Namespace'), undefined, namespace);
    if (ns?.metadata.deletionTimestamp) {
      const err = forbidden(rt, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      err.body.details!.causes = [
        { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
      ];
      throw err;
    }
  }

  /** Mutating admission on create: ClusterIP allocation, DefaultStorageClass. */
  private admitCreate(rt: ResourceType, obj: Obj): void {
    if (rt.group === '' && rt.kind === 'Service' && isObject(obj.spec)) {
      const spec = obj.spec;
      if ((spec.type ?? 'ClusterIP') !== 'ExternalName' && !spec.clusterIP) {
        const n = this.nextClusterIP++;
        spec.clusterIP = `10.96.${Math.floor(n / 256)}.${n % 256}`;
        spec.clusterIPs = [spec.clusterIP];
      }
    }
    if (rt.group === '' && rt.kind === 'PersistentVolumeClaim' && isObject(obj.spec) && obj.spec.storageClassName === undefined) {
      const defaultClass = this.defaultStorageClass();
      if (defaultClass) obj.spec.storageClassName = defaultClass;
    }
  }

  private defaultStorageClass(): string | undefined {
    const classes = this.list(this.resource('storage.k8s.io/v1', 'StorageClass')).items.filter((sc) => {
      const a = sc.metadata.annotations ?? {};
      return a['storageclass.kubernetes.io/is-default-class'] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
    });
    classes.sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1));
    return classes[0]?.metadata.name;
  }

  // --- update -----------------------------------------------------------------------------------

  /** PUT semantics (on the object or on its status subresource). */
  update(rt: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Obj {
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    const live = this.raw(rt, namespace, name);
    if (!live) throw notFound(rt, name);
    return this.commitUpdate(rt, deepCopy(live), deepCopy(body), opts);
  }

  /** Computes the object an update leads to, runs validation and admission, and stores it. */
  private commitUpdate(rt: ResourceType, old: Obj, candidate: Obj, opts: WriteOptions): Obj {
    const name = old.metadata.name;
    this.checkTypeMeta(rt, candidate);
    if (!isObject(candidate.metadata)) candidate.metadata = {};
    const cmeta = candidate.metadata;
    if (cmeta.name !== undefined && cmeta.name !== name) {
      throw badRequest(`the name of the object (${cmeta.name}) does not match the name on the URL (${name})`);
    }
    this.checkNamespace(rt, old.metadata.namespace, candidate);

    const rv = cmeta.resourceVersion;
    if (rv === undefined || rv === '') {
      if (!rt.allowUnconditionalUpdate) {
        throw invalidObject(rt, name, [
          { type: 'FieldValueInvalid', field: 'metadata.resourceVersion', value: '0x0', detail: 'must be specified for an update' },
        ]);
      }
    } else if (rv !== old.metadata.resourceVersion) {
      throw staleResourceVersion(rt, name);
    }

    let next: Obj;
    if (opts.subresource === 'status') {
      // ResetObjectMetaForStatus + the status strategies: only .status changes.
      next = deepCopy(old);
      if (candidate.status === undefined) delete next.status;
      else next.status = candidate.status;
    } else {
      next = candidate;
      if (rt.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = deepCopy(old.status);
      }
      const meta = next.metadata;
      meta.name = name;
      if (rt.namespaced) meta.namespace = old.metadata.namespace;
      else delete meta.namespace;
      meta.uid = meta.uid || old.metadata.uid;
      meta.creationTimestamp = old.metadata.creationTimestamp;
      meta.generation = old.metadata.generation;
      meta.deletionTimestamp = old.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      delete meta.managedFields;
      delete meta.selfLink;
      if (rt.group === '' && rt.kind === 'Service' && isObject(next.spec) && !next.spec.clusterIP && old.spec?.clusterIP) {
        next.spec.clusterIP = old.spec.clusterIP;
        next.spec.clusterIPs = deepCopy(old.spec.clusterIPs);
      }
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    applyDefaults(rt.group, rt.kind, next);

    const errs = validateUpdate(rt, old, next);
    if (errs.length > 0) throw invalidObject(rt, name, errs);
    this.admitUpdate(rt, old, next);

    if (rt.hasGeneration) {
      const ignored = rt.statusSubresource ? ['metadata', 'status'] : ['metadata'];
      if (!deepEqual(withoutKeys(old, ignored), withoutKeys(next, ignored))) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    }
    const normalized = normalize(rt, next);
    if (deepEqual(normalized, normalize(rt, old))) return normalized; // a no-op write does not bump resourceVersion
    if (opts.dryRun) return normalized;

    const stored = this.put(rt, next);
    this.collectGarbage();
    return stored;
  }

  /** Validating admission on update: PersistentVolumeClaimResize. */
  private admitUpdate(rt: ResourceType, old: Obj, next: Obj): void {
    if (rt.group !== '' || rt.kind !== 'PersistentVolumeClaim') return;
    const oldSize = getPath(old, ['spec', 'resources', 'requests', 'storage']) as string | undefined;
    const newSize = getPath(next, ['spec', 'resources', 'requests', 'storage']) as string | undefined;
    if (oldSize === undefined || newSize === undefined || compareQuantities(newSize, oldSize) <= 0) return;
    const name = old.metadata.name;
    if (old.status?.phase !== 'Bound') throw forbidden(rt, name, 'Only bound persistent volume claims can be expanded');
    const oldClass = old.spec?.storageClassName ?? '';
    const newClass = next.spec?.storageClassName ?? '';
    const sc = newClass ? this.raw(this.resource('storage.k8s.io/v1', 'StorageClass'), undefined, newClass) : undefined;
    if (!newClass || oldClass !== newClass || !sc || sc.allowVolumeExpansion !== true) {
      throw forbidden(
        rt,
        name,
        'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
      );
    }
  }

  // --- patch ------------------------------------------------------------------------------------

  /** The patch types accepted for a resource, in the apiserver's order (used in 415 messages). */
  static acceptedPatchTypes(rt: ResourceType): string[] {
    return rt.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
  }

  /**
   * PATCH semantics. Returns the HTTP status (201 when an apply created the object).
   * Server-side apply is approximated: see index.ts.
   */
  patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    opts: WriteOptions & { fieldManager?: string; force?: boolean } = {},
  ): { code: number; object: Obj } {
    const type = contentType.split(';')[0].trim().toLowerCase();
    if (!Store.acceptedPatchTypes(rt).includes(type)) throw unsupportedMediaType(Store.acceptedPatchTypes(rt));
    const optErrs: FieldError[] = [];
    if (type !== PATCH_TYPES.apply && opts.force !== undefined) {
      optErrs.push({ type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' });
    }
    if (type === PATCH_TYPES.apply && !opts.fieldManager) {
      optErrs.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
    }
    if (optErrs.length > 0) throw invalid('meta.k8s.io', 'PatchOptions', '', optErrs);

    let patchDoc: unknown;
    try {
      patchDoc = type === PATCH_TYPES.apply ? parseYaml(rawBody) : JSON.parse(rawBody);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }

    const live = this.raw(rt, namespace, name);
    if (type === PATCH_TYPES.apply) {
      if (!isObject(patchDoc)) throw badRequest('error decoding patch: the applied configuration is not an object');
      if (patchDoc.metadata?.name !== undefined && patchDoc.metadata.name !== name) {
        throw badRequest(`the name of the object (${patchDoc.metadata.name}) does not match the name on the URL (${name})`);
      }
      if (!live) {
        if (opts.subresource) throw notFound(rt, name);
        const body = deepCopy(patchDoc);
        body.metadata = { ...(body.metadata ?? {}), name };
        return { code: 201, object: this.create(rt, namespace, body, opts) };
      }
      const candidate = rt.custom ? (mergePatch(deepCopy(live), patchDoc) as Obj) : strategicMergePatch(deepCopy(live), patchDoc, rt.kind);
      return { code: 200, object: this.commitUpdate(rt, deepCopy(live), candidate, opts) };
    }

    if (!live) throw notFound(rt, name);
    let candidate: unknown;
    switch (type) {
      case PATCH_TYPES.json:
        candidate = jsonPatch(deepCopy(live), patchDoc);
        break;
      case PATCH_TYPES.merge:
        if (!isObject(patchDoc)) throw badRequest('error decoding patch: a merge patch must be a JSON object');
        candidate = mergePatch(deepCopy(live), patchDoc);
        break;
      default:
        candidate = strategicMergePatch(deepCopy(live), patchDoc, rt.kind);
    }
    if (!isObject(candidate)) throw badRequest('the patched object is not a JSON object');
    return { code: 200, object: this.commitUpdate(rt, deepCopy(live), candidate, opts) };
  }

  // --- delete -----------------------------------------------------------------------------------

  /** DELETE semantics; returns the HTTP status and body the apiserver would answer with. */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): { code: number; body: Obj } {
    const live = this.raw(rt, namespace, name);
    if (!live) throw notFound(rt, name);
    const obj = deepCopy(live);
    const meta = obj.metadata;

    this.validateDeleteOptions(opts);
    const pre = opts.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== meta.uid) {
      throw conflict(
        rt.group,
        rt.kind,
        name,
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${meta.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
      throw conflict(
        rt.group,
        rt.kind,
        name,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${meta.resourceVersion}). The object might have been modified`,
      );
    }

    const finalizers = this.finalizersForDeletion(meta.finalizers ?? [], opts);
    const isNamespace = rt.group === '' && rt.kind === 'Namespace';
    const pending = finalizers.length > 0 || (isNamespace && (obj.spec?.finalizers ?? []).length > 0);
    if (pending) {
      if (!meta.deletionTimestamp && rt.hasGeneration && meta.generation > 0) meta.generation += 1;
      meta.deletionTimestamp = meta.deletionTimestamp ?? nowTimestamp();
      meta.deletionGracePeriodSeconds = 0;
      if (finalizers.length > 0) meta.finalizers = finalizers;
      else delete meta.finalizers;
      if (isNamespace) obj.status = { ...(obj.status ?? {}), phase: 'Terminating' };
      const code = opts.orphanDependents === false ? 202 : 200;
      if (opts.dryRun) return { code, body: normalize(rt, obj) };
      const changed = !deepEqual(normalize(rt, obj), normalize(rt, live));
      const body = changed ? this.put(rt, obj) : deepCopy(live);
      this.collectGarbage();
      return { code, body };
    }

    const body = rt.returnDeletedObject ? deepCopy(live) : this.successStatus(rt, live);
    if (opts.dryRun) return { code: 200, body };
    this.remove(rt, live);
    this.collectGarbage();
    return { code: 200, body };
  }

  private successStatus(rt: ResourceType, obj: Obj): Obj {
    const details: Obj = { name: obj.metadata.name };
    if (rt.group) details.group = rt.group;
    details.kind = rt.plural;
    details.uid = obj.metadata.uid;
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
  }

  private validateDeleteOptions(opts: DeleteOptions): void {
    const policies = ['Foreground', 'Background', 'Orphan'];
    const errs: FieldError[] = [];
    if (opts.orphanDependents !== undefined && opts.propagationPolicy !== undefined) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'propagationPolicy',
        value: quote(opts.propagationPolicy),
        detail: 'orphanDependents and deletionPropagation cannot be both set',
      });
    }
    if (opts.propagationPolicy !== undefined && !policies.includes(opts.propagationPolicy)) {
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'propagationPolicy',
        value: quote(opts.propagationPolicy),
        supported: [...policies, 'nil'],
      });
    }
    if (errs.length > 0) throw invalid('meta.k8s.io', 'DeleteOptions', '', errs);
  }

  /** deletionFinalizersForGarbageCollection: the orphan / foregroundDeletion finalizers a delete sets. */
  private finalizersForDeletion(current: string[], opts: DeleteOptions): string[] {
    let orphan: boolean;
    let foreground: boolean;
    if (opts.orphanDependents !== undefined) {
      orphan = opts.orphanDependents;
      foreground = false;
    } else if (opts.propagationPolicy !== undefined) {
      orphan = opts.propagationPolicy === 'Orphan';
      foreground = opts.propagationPolicy === 'Foreground';
    } else {
      orphan = current.includes(FINALIZER_ORPHAN);
      foreground = !orphan && current.includes(FINALIZER_FOREGROUND);
    }
    const out = current.filter((f) => f !== FINALIZER_ORPHAN && f !== FINALIZER_FOREGROUND);
    if (orphan) out.push(FINALIZER_ORPHAN);
    if (foreground) out.push(FINALIZER_FOREGROUND);
    return out;
  }

  // --- garbage collection -----------------------------------------------------------------------

  /**
   * An instantly fast garbage collector (and namespace controller), run after every write:
   * removes deleting objects whose finalizers are gone, handles the orphan and foregroundDeletion
   * finalizers, and deletes (or un-owns) dependents whose owners are gone.
   */
  collectGarbage(): void {
    if (this.collecting || !this.gcPending) return;
    this.collecting = true;
    try {
      let i = 0;
      while (i < 100_000 && this.gcStep()) i++;
      if (i < 100_000) this.gcPending = false;
    } finally {
      this.collecting = false;
    }
  }

  private dependentsOf(all: Entry[], uid: string): { entry: Entry; ref: Obj }[] {
    const out: { entry: Entry; ref: Obj }[] = [];
    for (const e of all) {
      const ref = (e.obj.metadata.ownerReferences ?? []).find((r: Obj) => r.uid === uid);
      if (ref) out.push({ entry: e, ref });
    }
    return out;
  }

  /** 'present', 'absent', or 'unknown' (a kind this server does not serve: left alone, like an unresolvable owner). */
  private ownerState(ref: Obj, dependent: Entry): 'present' | 'absent' | 'unknown' {
    const rt = this.registry.byKind(ref.apiVersion, ref.kind);
    if (!rt) return 'unknown';
    if (rt.namespaced && !dependent.rt.namespaced) return 'unknown';
    const owner = this.raw(rt, dependent.obj.metadata.namespace, ref.name);
    return owner && owner.metadata.uid === ref.uid ? 'present' : 'absent';
  }

  private setMeta(e: Entry, mutate: (meta: Obj) => void): void {
    const obj = deepCopy(e.obj);
    mutate(obj.metadata);
    for (const k of ['ownerReferences', 'finalizers']) if (Array.isArray(obj.metadata[k]) && obj.metadata[k].length === 0) delete obj.metadata[k];
    this.put(e.rt, obj);
  }

  /** Performs one garbage collection action; false when there is nothing left to do. */
  private gcStep(): boolean {
    const all = this.allEntries();
    for (const e of all) {
      const m = e.obj.metadata;
      if (m.deletionTimestamp && (m.finalizers ?? []).length === 0 && !(e.rt.kind === 'Namespace' && e.rt.group === '')) {
        this.remove(e.rt, e.obj);
        return true;
      }
    }
    for (const e of all) {
      const m = e.obj.metadata;
      if (!m.deletionTimestamp) continue;
      const finalizers: string[] = m.finalizers ?? [];
      if (finalizers.includes(FINALIZER_ORPHAN)) {
        const deps = this.dependentsOf(all, m.uid);
        if (deps.length > 0) {
          this.setMeta(deps[0].entry, (dm) => {
            dm.ownerReferences = dm.ownerReferences.filter((r: Obj) => r.uid !== m.uid);
          });
        } else {
          this.setMeta(e, (om) => {
            om.finalizers = finalizers.filter((f) => f !== FINALIZER_ORPHAN);
          });
        }
        return true;
      }
      if (finalizers.includes(FINALIZER_FOREGROUND)) {
        const deps = this.dependentsOf(all, m.uid);
        const live = deps.find((d) => !d.entry.obj.metadata.deletionTimestamp);
        if (live) {
          this.delete(live.entry.rt, live.entry.obj.metadata.namespace, live.entry.obj.metadata.name, { propagationPolicy: 'Background' });
          return true;
        }
        if (!deps.some((d) => d.ref.blockOwnerDeletion === true)) {
          this.setMeta(e, (om) => {
            om.finalizers = finalizers.filter((f) => f !== FINALIZER_FOREGROUND);
          });
          return true;
        }
      }
    }
    for (const e of all) {
      const refs: Obj[] = e.obj.metadata.ownerReferences ?? [];
      if (refs.length === 0) continue;
      const states = refs.map((r) => this.ownerState(r, e));
      const absent = refs.filter((_, i) => states[i] === 'absent');
      if (absent.length === 0) continue;
      if (absent.length === refs.length) {
        if (e.obj.metadata.deletionTimestamp) continue;
        this.delete(e.rt, e.obj.metadata.namespace, e.obj.metadata.name, { propagationPolicy: 'Background' });
      } else {
        this.setMeta(e, (m) => {
          m.ownerReferences = refs.filter((_, i) => states[i] !== 'absent');
        });
      }
      return true;
    }
    for (const e of all) {
      if (!(e.rt.group === '' && e.rt.kind === 'Namespace' && e.obj.metadata.deletionTimestamp)) continue;
      const ns = e.obj.metadata.name;
      const content = all.filter((c) => c.rt.namespaced && c.obj.metadata.namespace === ns);
      const live = content.find((c) => !c.obj.metadata.deletionTimestamp);
      if (live) {
        this.delete(live.rt, ns, live.obj.metadata.name, { propagationPolicy: 'Background' });
        return true;
      }
      if (content.length === 0 && (e.obj.metadata.finalizers ?? []).length === 0) {
        this.remove(e.rt, e.obj);
        return true;
      }
    }
    return false;
  }
}

