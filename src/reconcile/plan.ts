import type {
  V1ConfigMap, V1Container, V1LabelSelector, V1ObjectMeta, V1OwnerReference, V1PersistentVolumeClaim,
  V1Pod, V1PodDisruptionBudget, V1PodTemplateSpec, V1Role, V1RoleBinding, V1Service, V1ServiceAccount, V1ServicePort, V1StatefulSet,
  V1StorageClass,
} from '@kubernetes/client-node';
import { compareQuantities, isQuantity, quantitiesEqual } from '../api/quantity';
import type { ResolvedRedisInstance } from '../api/types';
import { CONFIG_HASH_ANNOTATION, CONTAINER_NAME, DATA_VOLUME, TEMPLATE_HASH_ANNOTATION, primaryServiceName } from '../render/instance';
import { SECRET_HASH_ANNOTATION } from './desired';
import { planAgentRbac } from './agent-rbac';
import type { RenderedInstance } from '../render/instance';

/**
 * plan(desired, live): what to do for one instance, and why. Pure: no I/O, no clock.
 *
 * The model (docs/reconciler.md):
 * - `action` is what happens to the StatefulSet and so to the pods: none, create,
 *   rolling-update (a patch; Kubernetes rolls the pods), recreate (orphan-delete and
 *   create; the pods are adopted and keep running) or refuse (nothing is written).
 * - `childWrites` are the other writes that bring the ConfigMap, Services and PDB (and the
 *   StatefulSet's own labels and ownerReferences) to the desired state. They happen with
 *   any action but refuse, and may be needed while the action is none.
 * - `pvcExpansions` grow existing claims to the desired size when their StorageClass
 *   allows it; `claimsKeepingSize` lists the claims that cannot grow, for status.
 * A second pass right after a successful one plans action none and no writes.
 */

export type Action = 'none' | 'create' | 'rolling-update' | 'recreate' | 'refuse';

/** One difference that caused a write: which object, which field, old → new. */
export interface Reason {
  /** `Kind/name`, e.g. `StatefulSet/cache`. */
  readonly object: string;
  /** Field path in that object, e.g. `spec.replicas`. */
  readonly field: string;
  readonly from?: unknown;
  readonly to?: unknown;
}

export type ChildKind = 'StatefulSet' | 'ConfigMap' | 'Service' | 'PodDisruptionBudget' | 'ServiceAccount' | 'Role' | 'RoleBinding';

export type ChildWrite =
  /** The object is missing. */
  | { readonly verb: 'create'; readonly kind: ChildKind; readonly name: string; readonly body: object; readonly reasons: readonly Reason[] }
  /** A JSON merge patch (RFC 7386) of the fields that differ. */
  | { readonly verb: 'patch'; readonly kind: ChildKind; readonly name: string; readonly patch: object; readonly reasons: readonly Reason[] }
  /** An object we made that the spec no longer asks for (the primary Service and PDB at 1 replica). */
  | { readonly verb: 'delete'; readonly kind: ChildKind; readonly name: string; readonly uid?: string; readonly reasons: readonly Reason[] }
  /** An immutable field differs (a headless Service that got a cluster IP): delete (uid precondition), then create. */
  | { readonly verb: 'replace'; readonly kind: ChildKind; readonly name: string; readonly uid?: string; readonly body: object; readonly reasons: readonly Reason[] };

export interface PvcExpansion {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface ClaimKeepingSize {
  readonly name: string;
  readonly size: string;
  readonly why: string;
}

export interface Plan {
  readonly action: Action;
  /** Why the StatefulSet action was chosen (empty for none). */
  readonly reasons: readonly Reason[];
  /** For rolling-update: the merge patch of the StatefulSet (only the fields that differ). */
  readonly statefulSetPatch?: object;
  readonly childWrites: readonly ChildWrite[];
  readonly pvcExpansions: readonly PvcExpansion[];
  readonly claimsKeepingSize: readonly ClaimKeepingSize[];
  /** True when a claim must grow but `live.storageClasses` was not given: read them and plan again. */
  readonly needsStorageClasses: boolean;
  /** One line for people: the action and its main reasons, or why it was refused. */
  readonly message: string;
}

/** What exists in the cluster for one instance. */
export interface LiveState {
  readonly statefulSet?: V1StatefulSet;
  readonly configMap?: V1ConfigMap;
  /** The instance's Services (the headless one and, if any, `<name>-primary`). */
  readonly services: readonly V1Service[];
  readonly podDisruptionBudget?: V1PodDisruptionBudget;
  /** The claims in the instance's namespace (any; those of this instance are found by name). */
  readonly pvcs?: readonly V1PersistentVolumeClaim[];
  /** Every StorageClass, when an expansion is considered. */
  readonly storageClasses?: readonly V1StorageClass[];
  /** The role agents' RBAC (failover instances). */
  readonly serviceAccount?: V1ServiceAccount;
  readonly role?: V1Role;
  readonly roleBinding?: V1RoleBinding;
  /** The instance's pods, for role labels (status, backstop, scale-down guard). */
  readonly pods?: readonly V1Pod[];
}

export interface DesiredInput {
  readonly resolved: ResolvedRedisInstance;
  readonly objects: RenderedInstance;
}

/** True when the plan writes anything (status aside). */
export function planWrites(plan: Plan): boolean {
  return plan.action !== 'none' && plan.action !== 'refuse' || plan.childWrites.length > 0 || plan.pvcExpansions.length > 0;
}

/** Name of the claim of pod `<name>-<ordinal>`: `<template>-<statefulset>-<ordinal>`. */
export function claimName(instanceName: string, ordinal: number): string {
  return `${DATA_VOLUME}-${instanceName}-${ordinal}`;
}

/** The instance's data claims among `pvcs`, by ordinal. */
export function instanceClaims(namespace: string, instanceName: string, pvcs: readonly V1PersistentVolumeClaim[]): V1PersistentVolumeClaim[] {
  const prefix = `${DATA_VOLUME}-${instanceName}-`;
  return pvcs
    .filter((c) => c.metadata?.namespace === namespace && c.metadata.name?.startsWith(prefix) && /^\d+$/.test(c.metadata.name.slice(prefix.length)))
    .sort((a, b) => Number(a.metadata!.name!.slice(prefix.length)) - Number(b.metadata!.name!.slice(prefix.length)));
}

export function plan(desired: DesiredInput, live: LiveState): Plan {
  const { resolved, objects } = desired;
  const sts = objects.statefulSet;
  const stsRef = `StatefulSet/${resolved.name}`;
  const claims = live.pvcs ? instanceClaims(resolved.namespace, resolved.name, live.pvcs) : [];
  const desiredVct = dataTemplate(sts);
  const desiredSize = desiredVct?.spec?.resources?.requests?.storage ?? resolved.spec.storage.size;
  const desiredClass = resolved.spec.storage.storageClassName;

  // Refusals first: nothing is written, not even the children.
  const refusals: Reason[] = [];
  const liveVct = live.statefulSet ? dataTemplate(live.statefulSet) : undefined;
  const liveSize = liveVct?.spec?.resources?.requests?.storage;
  const vctField = `spec.volumeClaimTemplates[${DATA_VOLUME}].spec`;
  if (liveSize !== undefined && isQuantity(liveSize) && compareQuantities(desiredSize, liveSize) < 0) {
    refusals.push({ object: stsRef, field: `${vctField}.resources.requests.storage`, from: liveSize, to: desiredSize });
  }
  for (const claim of claims) {
    const size = claimSize(claim);
    if (size !== undefined && compareQuantities(desiredSize, size) < 0) {
      refusals.push({ object: `PersistentVolumeClaim/${claim.metadata!.name}`, field: 'spec.resources.requests.storage', from: size, to: desiredSize });
    }
  }
  if (refusals.length > 0) {
    const largest = refusals.map((r) => String(r.from)).sort((a, b) => compareQuantities(b, a))[0];
    return refused(refusals,
      `Refused: storage cannot shrink from ${largest} to ${desiredSize} (spec.storage.size); nothing was changed. `
      + `Set spec.storage.size to at least ${largest}.`);
  }
  const classChanges = desiredClass !== undefined && (!live.statefulSet || liveVct?.spec?.storageClassName !== desiredClass)
    ? claims.filter((c) => c.spec?.storageClassName !== undefined && c.spec.storageClassName !== desiredClass)
    : [];
  if (classChanges.length > 0) {
    const reasons = classChanges.map((c) => ({
      object: `PersistentVolumeClaim/${c.metadata!.name}`, field: 'spec.storageClassName', from: c.spec!.storageClassName, to: desiredClass,
    }));
    const names = classChanges.map((c) => `${c.metadata!.name} (${c.spec!.storageClassName})`).join(', ');
    return refused(reasons,
      `Refused: spec.storage.storageClassName asks for "${desiredClass}" but bound claims cannot change class: ${names}; nothing was changed. `
      + 'Restore the previous storageClassName, or move the data to new claims yourself.');
  }

  const childWrites = [...planAgentRbac(desired, live), ...planChildren(desired, live)];
  const { pvcExpansions, claimsKeepingSize, needsStorageClasses } = planClaims(claims, desiredSize, live.storageClasses);

  if (!live.statefulSet) {
    const reasons = [{ object: stsRef, field: '', to: 'created' }];
    return {
      action: 'create', reasons, childWrites, pvcExpansions, claimsKeepingSize, needsStorageClasses,
      message: `create StatefulSet ${resolved.name}${claims.length > 0 ? ` (adopting ${claims.length} existing claim${claims.length === 1 ? '' : 's'})` : ''}`,
    };
  }

  const immutable = immutableDifferences(stsRef, sts, live.statefulSet);
  const mutable = mutableDifferences(desired, live.statefulSet);
  const metadataPatch = metadataDifferences(stsRef, sts.metadata!, live.statefulSet.metadata ?? {});
  if (immutable.length > 0) {
    const reasons = [...immutable, ...mutable.reasons];
    return {
      action: 'recreate', reasons, childWrites, pvcExpansions, claimsKeepingSize, needsStorageClasses,
      message: `recreate StatefulSet ${resolved.name} keeping its pods and claims: ${summarize(immutable)}`,
    };
  }
  if (mutable.reasons.length > 0) {
    const patch: Record<string, any> = { ...mutable.patch };
    if (metadataPatch.patch) patch.metadata = mergeDeep(patch.metadata ?? {}, metadataPatch.patch);
    return {
      action: 'rolling-update', reasons: [...mutable.reasons, ...metadataPatch.reasons], statefulSetPatch: patch,
      childWrites, pvcExpansions, claimsKeepingSize, needsStorageClasses,
      message: `rolling update of StatefulSet ${resolved.name}: ${summarize(mutable.reasons)}`,
    };
  }
  const writes = metadataPatch.patch
    ? [{ verb: 'patch' as const, kind: 'StatefulSet' as const, name: resolved.name, patch: { metadata: metadataPatch.patch }, reasons: metadataPatch.reasons }, ...childWrites]
    : childWrites;
  const extra = [
    ...writes.map((w) => `${w.verb} ${w.kind}/${w.name}`),
    ...pvcExpansions.map((e) => `expand PersistentVolumeClaim/${e.name} ${e.from} → ${e.to}`),
  ];
  return {
    action: 'none', reasons: [], childWrites: writes, pvcExpansions, claimsKeepingSize, needsStorageClasses,
    message: extra.length > 0 ? `StatefulSet in sync; ${extra.join(', ')}` : 'in sync',
  };
}

function refused(reasons: Reason[], message: string): Plan {
  return { action: 'refuse', reasons, childWrites: [], pvcExpansions: [], claimsKeepingSize: [], needsStorageClasses: false, message };
}

/** `field from → to; ...` for messages; hashes shortened. */
export function summarize(reasons: readonly Reason[]): string {
  return reasons.map((r) => {
    const field = r.field || r.object;
    if (r.from === undefined && r.to === undefined) return `${field} changed`;
    return `${field} ${show(r.from)} → ${show(r.to)}`;
  }).join('; ');
}

/** A value for one line of text: hashes shortened, objects as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return /^[0-9a-f]{64}$/.test(value) ? value.slice(0, 12) : value;
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// StatefulSet

function dataTemplate(sts: V1StatefulSet): V1PersistentVolumeClaim | undefined {
  return sts.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === DATA_VOLUME);
}

function claimSize(claim: V1PersistentVolumeClaim): string | undefined {
  const size = claim.spec?.resources?.requests?.storage;
  return size !== undefined && isQuantity(size) ? String(size) : undefined;
}

/** Fields the apiserver forbids changing: any difference means recreate. */
function immutableDifferences(object: string, desired: V1StatefulSet, live: V1StatefulSet): Reason[] {
  const out: Reason[] = [];
  const d = desired.spec!;
  const l = live.spec ?? ({} as NonNullable<V1StatefulSet['spec']>);
  const names = (s: NonNullable<V1StatefulSet['spec']>) => (s.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '').sort();
  if (names(d).join(',') !== names(l).join(',')) {
    out.push({ object, field: 'spec.volumeClaimTemplates', from: names(l), to: names(d) });
  }
  for (const template of d.volumeClaimTemplates ?? []) {
    const other = l.volumeClaimTemplates?.find((t) => t.metadata?.name === template.metadata?.name);
    if (!other) continue;
    const field = `spec.volumeClaimTemplates[${template.metadata?.name}].spec`;
    const dSize = template.spec?.resources?.requests?.storage;
    const lSize = other.spec?.resources?.requests?.storage;
    if (!quantitiesEqual(dSize, lSize)) out.push({ object, field: `${field}.resources.requests.storage`, from: lSize, to: dSize });
    if (template.spec?.storageClassName !== other.spec?.storageClassName) {
      out.push({ object, field: `${field}.storageClassName`, from: other.spec?.storageClassName, to: template.spec?.storageClassName });
    }
    const modes = (m?: string[]) => [...(m ?? [])].sort().join(',');
    if (modes(template.spec?.accessModes) !== modes(other.spec?.accessModes)) {
      out.push({ object, field: `${field}.accessModes`, from: other.spec?.accessModes, to: template.spec?.accessModes });
    }
  }
  if (!selectorsEqual(d.selector, l.selector)) out.push({ object, field: 'spec.selector', from: l.selector, to: d.selector });
  if ((d.serviceName ?? '') !== (l.serviceName ?? '')) out.push({ object, field: 'spec.serviceName', from: l.serviceName, to: d.serviceName });
  const policy = (p?: string) => p ?? 'OrderedReady';
  if (policy(d.podManagementPolicy) !== policy(l.podManagementPolicy)) {
    out.push({ object, field: 'spec.podManagementPolicy', from: policy(l.podManagementPolicy), to: policy(d.podManagementPolicy) });
  }
  return out;
}

/** Fields a patch may change; Kubernetes rolls the pods when the template changes. */
function mutableDifferences(desired: DesiredInput, live: V1StatefulSet): { reasons: Reason[]; patch: Record<string, any> } {
  const d = desired.objects.statefulSet;
  const object = `StatefulSet/${desired.resolved.name}`;
  const reasons: Reason[] = [];
  const spec: Record<string, any> = {};
  const metadata: Record<string, any> = {};
  const l = live.spec ?? ({} as NonNullable<V1StatefulSet['spec']>);

  const replicas = d.spec!.replicas ?? 1;
  if ((l.replicas ?? 1) !== replicas) {
    reasons.push({ object, field: 'spec.replicas', from: l.replicas ?? 1, to: replicas });
    spec.replicas = replicas;
  }

  const desiredHash = d.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION];
  const liveHash = live.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION];
  const liveAnnotations = l.template?.metadata?.annotations ?? {};
  const desiredSecret = d.spec!.template.metadata?.annotations?.[SECRET_HASH_ANNOTATION];
  const liveSecret = liveAnnotations[SECRET_HASH_ANNOTATION];
  let templateChanged = false;
  if (desiredHash !== liveHash) {
    templateChanged = true;
    reasons.push(...templateReasons(object, d.spec!.template, l.template, liveHash, desiredHash));
    metadata.annotations = { [TEMPLATE_HASH_ANNOTATION]: desiredHash };
  }
  if (desiredSecret !== undefined && desiredSecret !== liveSecret) {
    templateChanged = true;
    // The hashes say nothing to people; the field says the password changed.
    reasons.push({ object, field: `spec.template.metadata.annotations[${SECRET_HASH_ANNOTATION}]` });
  }
  if (templateChanged) {
    const template = structuredClone(d.spec!.template);
    if (!desired.resolved.spec.auth && liveSecret !== undefined) template.metadata!.annotations![SECRET_HASH_ANNOTATION] = null as any;
    spec.template = template;
  } else if (!desired.resolved.spec.auth && liveSecret !== undefined) {
    reasons.push({ object, field: `spec.template.metadata.annotations[${SECRET_HASH_ANNOTATION}]`, to: '(removed)' });
    spec.template = { metadata: { annotations: { [SECRET_HASH_ANNOTATION]: null } } };
  }

  const strategy = (s?: NonNullable<V1StatefulSet['spec']>['updateStrategy']) => {
    const type = s?.type ?? 'RollingUpdate';
    return type === 'RollingUpdate' ? { type, rollingUpdate: { partition: s?.rollingUpdate?.partition ?? 0 } } : { type };
  };
  const dStrategy = strategy(d.spec!.updateStrategy);
  const lStrategy = strategy(l.updateStrategy);
  if (JSON.stringify(dStrategy) !== JSON.stringify(lStrategy)) {
    reasons.push({ object, field: 'spec.updateStrategy', from: lStrategy, to: dStrategy });
    spec.updateStrategy = 'rollingUpdate' in dStrategy ? dStrategy : { ...dStrategy, rollingUpdate: null };
  }
  if ((d.spec!.minReadySeconds ?? 0) !== (l.minReadySeconds ?? 0)) {
    reasons.push({ object, field: 'spec.minReadySeconds', from: l.minReadySeconds ?? 0, to: d.spec!.minReadySeconds ?? 0 });
    spec.minReadySeconds = d.spec!.minReadySeconds ?? null;
  }
  const retention = (p?: NonNullable<V1StatefulSet['spec']>['persistentVolumeClaimRetentionPolicy']) => ({
    whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain',
  });
  const dRetention = retention(d.spec!.persistentVolumeClaimRetentionPolicy);
  const lRetention = retention(l.persistentVolumeClaimRetentionPolicy);
  if (JSON.stringify(dRetention) !== JSON.stringify(lRetention)) {
    reasons.push({ object, field: 'spec.persistentVolumeClaimRetentionPolicy', from: lRetention, to: dRetention });
    spec.persistentVolumeClaimRetentionPolicy = dRetention;
  }
  const patch: Record<string, any> = {};
  if (Object.keys(metadata).length > 0) patch.metadata = metadata;
  if (Object.keys(spec).length > 0) patch.spec = spec;
  return { reasons, patch };
}

/** Which part of the pod template changed: image, resources, config, or something else. */
function templateReasons(object: string, desired: V1PodTemplateSpec, live: V1PodTemplateSpec | undefined, fromHash?: string, toHash?: string): Reason[] {
  const out: Reason[] = [];
  const containerField = `spec.template.spec.containers[${CONTAINER_NAME}]`;
  const d = redisContainer(desired);
  const l = live ? redisContainer(live) : undefined;
  if (d?.image !== l?.image) out.push({ object, field: `${containerField}.image`, from: l?.image, to: d?.image });
  if (!resourcesEqual(d?.resources, l?.resources)) {
    out.push({ object, field: `${containerField}.resources`, from: l?.resources ?? {}, to: d?.resources ?? {} });
  }
  const dConfig = desired.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  const lConfig = live?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  if (dConfig !== lConfig) out.push({ object, field: `spec.template.metadata.annotations[${CONFIG_HASH_ANNOTATION}]`, from: lConfig, to: dConfig });
  if (out.length === 0) {
    out.push({ object, field: 'spec.template', from: fromHash ?? '(no template-hash annotation)', to: toHash });
  }
  return out;
}

function redisContainer(template: V1PodTemplateSpec): V1Container | undefined {
  return template.spec?.containers?.find((c) => c.name === CONTAINER_NAME);
}

type Resources = V1Container['resources'];

/**
 * Equal as quantities; a live request that only repeats its limit (the apiserver defaults
 * requests to limits) is no difference.
 */
function resourcesEqual(desired: Resources, live: Resources): boolean {
  const norm = (r: Resources, other: Resources) => {
    const limits = { ...(r?.limits ?? {}) } as Record<string, string | number>;
    const requests = { ...(r?.requests ?? {}) } as Record<string, string | number>;
    for (const [key, value] of Object.entries(requests)) {
      if (other?.requests?.[key] === undefined && limits[key] !== undefined && quantitiesEqual(value, limits[key])) delete requests[key];
    }
    return { limits, requests };
  };
  const a = norm(desired, live);
  const b = norm(live, desired);
  const mapEqual = (x: Record<string, string | number>, y: Record<string, string | number>) => {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const key of keys) if (!quantitiesEqual(x[key], y[key])) return false;
    return true;
  };
  return mapEqual(a.limits, b.limits) && mapEqual(a.requests, b.requests);
}

function selectorsEqual(a?: V1LabelSelector, b?: V1LabelSelector): boolean {
  return mapsEqual(a?.matchLabels, b?.matchLabels) && (a?.matchExpressions ?? []).length === 0 && (b?.matchExpressions ?? []).length === 0;
}

function mapsEqual(a?: Record<string, string>, b?: Record<string, string>): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

/** A merge patch that makes `live` hold exactly `desired`'s keys (extra keys set to null). */
function exactMapPatch(desired: Record<string, string>, live?: Record<string, string>): Record<string, string | null> {
  const patch: Record<string, string | null> = { ...desired };
  for (const key of Object.keys(live ?? {})) if (!(key in desired)) patch[key] = null;
  return patch;
}

function mergeDeep(a: Record<string, any>, b: Record<string, any>): Record<string, any> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && out[key] && typeof out[key] === 'object'
      ? mergeDeep(out[key], value) : value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Metadata every child carries: our labels and the ownerReference to the instance.

function metadataDifferences(object: string, desired: V1ObjectMeta, live: V1ObjectMeta): { reasons: Reason[]; patch?: Record<string, any> } {
  const reasons: Reason[] = [];
  const patch: Record<string, any> = {};
  const labels = desired.labels ?? {};
  const changed = Object.keys(labels).filter((k) => live.labels?.[k] !== labels[k]);
  if (changed.length > 0) {
    for (const key of changed) reasons.push({ object, field: `metadata.labels[${key}]`, from: live.labels?.[key], to: labels[key] });
    patch.labels = Object.fromEntries(changed.map((k) => [k, labels[k]]));
  }
  const owner = desired.ownerReferences?.[0];
  if (owner && owner.uid && !(live.ownerReferences ?? []).some((r) => r.uid === owner.uid)) {
    reasons.push({ object, field: 'metadata.ownerReferences', to: `${owner.kind}/${owner.name}` });
    patch.ownerReferences = withOwner(live.ownerReferences ?? [], owner);
  }
  return { reasons, ...(reasons.length > 0 ? { patch } : {}) };
}

/** Our reference replaces any stale RedisInstance one; it is the controller unless another one is. */
function withOwner(refs: readonly V1OwnerReference[], owner: V1OwnerReference): V1OwnerReference[] {
  const others = refs.filter((r) => !(r.kind === owner.kind && r.apiVersion === owner.apiVersion));
  const controlled = others.some((r) => r.controller);
  return [...others, controlled ? { ...owner, controller: false } : owner];
}

// ---------------------------------------------------------------------------------------
// ConfigMap, Services, PodDisruptionBudget

function planChildren(desired: DesiredInput, live: LiveState): ChildWrite[] {
  const { objects, resolved } = desired;
  const out: ChildWrite[] = [];
  const name = resolved.name;

  // ConfigMap: `data` is ours entirely.
  if (!live.configMap) {
    out.push({ verb: 'create', kind: 'ConfigMap', name, body: objects.configMap, reasons: [{ object: `ConfigMap/${name}`, field: '', to: 'created' }] });
  } else {
    const object = `ConfigMap/${name}`;
    const meta = metadataDifferences(object, objects.configMap.metadata!, live.configMap.metadata ?? {});
    const reasons = [...meta.reasons];
    const patch: Record<string, any> = meta.patch ? { metadata: meta.patch } : {};
    const want = objects.configMap.data ?? {};
    const have = live.configMap.data ?? {};
    if (!mapsEqual(want, have)) {
      for (const key of new Set([...Object.keys(want), ...Object.keys(have)])) {
        if (want[key] === have[key]) continue;
        const [removed, added] = lineDiff(have[key] ?? '', want[key] ?? '');
        reasons.push({ object, field: `data[${key}]`, from: removed, to: added });
      }
      patch.data = exactMapPatch(want, have);
    }
    if (reasons.length > 0) out.push({ verb: 'patch', kind: 'ConfigMap', name, patch, reasons });
  }

  const services = [objects.service, objects.primaryService].filter((s): s is V1Service => s !== undefined);
  for (const service of services) {
    const serviceName = service.metadata!.name!;
    const current = live.services.find((s) => s.metadata?.name === serviceName);
    const object = `Service/${serviceName}`;
    if (!current) {
      out.push({ verb: 'create', kind: 'Service', name: serviceName, body: service, reasons: [{ object, field: '', to: 'created' }] });
      continue;
    }
    if (service.spec?.clusterIP === 'None' && current.spec?.clusterIP !== 'None') {
      out.push({
        verb: 'replace', kind: 'Service', name: serviceName, uid: current.metadata?.uid, body: service,
        reasons: [{ object, field: 'spec.clusterIP', from: current.spec?.clusterIP, to: 'None' }],
      });
      continue;
    }
    const meta = metadataDifferences(object, service.metadata!, current.metadata ?? {});
    const reasons = [...meta.reasons];
    const spec: Record<string, any> = {};
    const type = (s?: V1Service) => s?.spec?.type ?? 'ClusterIP';
    if (type(service) !== type(current)) {
      reasons.push({ object, field: 'spec.type', from: type(current), to: type(service) });
      spec.type = type(service);
    }
    if (!mapsEqual(service.spec?.selector, current.spec?.selector)) {
      reasons.push({ object, field: 'spec.selector', from: current.spec?.selector, to: service.spec?.selector });
      spec.selector = exactMapPatch(service.spec?.selector ?? {}, current.spec?.selector);
    }
    const notReady = (s?: V1Service) => s?.spec?.publishNotReadyAddresses ?? false;
    if (notReady(service) !== notReady(current)) {
      reasons.push({ object, field: 'spec.publishNotReadyAddresses', from: notReady(current), to: notReady(service) });
      spec.publishNotReadyAddresses = notReady(service);
    }
    const ports = (s?: V1Service) => JSON.stringify((s?.spec?.ports ?? []).map(normalPort));
    if (ports(service) !== ports(current)) {
      reasons.push({ object, field: 'spec.ports', from: (current.spec?.ports ?? []).map(normalPort), to: (service.spec?.ports ?? []).map(normalPort) });
      spec.ports = service.spec?.ports;
    }
    const patch: Record<string, any> = {};
    if (meta.patch) patch.metadata = meta.patch;
    if (Object.keys(spec).length > 0) patch.spec = spec;
    if (reasons.length > 0) out.push({ verb: 'patch', kind: 'Service', name: serviceName, patch, reasons });
  }
  const primary = primaryServiceName(name);
  const stalePrimary = !objects.primaryService && live.services.find((s) => s.metadata?.name === primary);
  if (stalePrimary) {
    out.push({
      verb: 'delete', kind: 'Service', name: primary, uid: stalePrimary.metadata?.uid,
      reasons: [{ object: `Service/${primary}`, field: 'spec.replicas', from: 'replicated', to: 'single pod: no primary Service' }],
    });
  }

  const pdb = objects.podDisruptionBudget;
  const current = live.podDisruptionBudget;
  if (pdb && !current) {
    out.push({ verb: 'create', kind: 'PodDisruptionBudget', name, body: pdb, reasons: [{ object: `PodDisruptionBudget/${name}`, field: '', to: 'created' }] });
  } else if (pdb && current) {
    const object = `PodDisruptionBudget/${name}`;
    const meta = metadataDifferences(object, pdb.metadata!, current.metadata ?? {});
    const reasons = [...meta.reasons];
    const spec: Record<string, any> = {};
    const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
    if (str(pdb.spec?.maxUnavailable) !== str(current.spec?.maxUnavailable)) {
      reasons.push({ object, field: 'spec.maxUnavailable', from: current.spec?.maxUnavailable, to: pdb.spec?.maxUnavailable });
      spec.maxUnavailable = pdb.spec?.maxUnavailable ?? null;
    }
    if (str(pdb.spec?.minAvailable) !== str(current.spec?.minAvailable)) {
      reasons.push({ object, field: 'spec.minAvailable', from: current.spec?.minAvailable, to: pdb.spec?.minAvailable });
      spec.minAvailable = pdb.spec?.minAvailable ?? null;
    }
    if (!selectorsEqual(pdb.spec?.selector, current.spec?.selector)) {
      reasons.push({ object, field: 'spec.selector', from: current.spec?.selector, to: pdb.spec?.selector });
      spec.selector = { matchLabels: exactMapPatch(pdb.spec?.selector?.matchLabels ?? {}, current.spec?.selector?.matchLabels), matchExpressions: null };
    }
    const patch: Record<string, any> = {};
    if (meta.patch) patch.metadata = meta.patch;
    if (Object.keys(spec).length > 0) patch.spec = spec;
    if (reasons.length > 0) out.push({ verb: 'patch', kind: 'PodDisruptionBudget', name, patch, reasons });
  } else if (!pdb && current) {
    out.push({
      verb: 'delete', kind: 'PodDisruptionBudget', name, uid: current.metadata?.uid,
      reasons: [{ object: `PodDisruptionBudget/${name}`, field: 'spec.replicas', from: 'replicated', to: 'single pod: no PodDisruptionBudget' }],
    });
  }
  return out;
}

/** A port with the apiserver's defaults filled in (protocol TCP, targetPort = port). */
function normalPort(p: V1ServicePort): object {
  return { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', targetPort: String(p.targetPort ?? p.port) };
}

/** Lines only in `before`, and lines only in `after`, each joined with '; '. */
function lineDiff(before: string, after: string): [string, string] {
  const a = before.split('\n').filter((l) => l && !l.startsWith('#'));
  const b = after.split('\n').filter((l) => l && !l.startsWith('#'));
  const setA = new Set(a);
  const setB = new Set(b);
  return [a.filter((l) => !setB.has(l)).join('; '), b.filter((l) => !setA.has(l)).join('; ')];
}

// ---------------------------------------------------------------------------------------
// Claims

function planClaims(claims: readonly V1PersistentVolumeClaim[], desiredSize: string, storageClasses?: readonly V1StorageClass[]) {
  const pvcExpansions: PvcExpansion[] = [];
  const claimsKeepingSize: ClaimKeepingSize[] = [];
  let needsStorageClasses = false;
  for (const claim of claims) {
    const size = claimSize(claim);
    if (size === undefined || compareQuantities(size, desiredSize) >= 0) continue;
    const name = claim.metadata!.name!;
    const className = claim.spec?.storageClassName;
    if (!className) {
      claimsKeepingSize.push({ name, size, why: 'it has no StorageClass' });
      continue;
    }
    if (!storageClasses) {
      needsStorageClasses = true;
      continue;
    }
    const storageClass = storageClasses.find((c) => c.metadata?.name === className);
    if (storageClass?.allowVolumeExpansion === true) pvcExpansions.push({ name, from: size, to: desiredSize });
    else claimsKeepingSize.push({ name, size, why: storageClass ? `StorageClass ${className} does not allow volume expansion` : `StorageClass ${className} was not found` });
  }
  return { pvcExpansions, claimsKeepingSize, needsStorageClasses };
}
