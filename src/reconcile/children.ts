import type {
  V1ConfigMap, V1LabelSelector, V1ObjectMeta, V1OwnerReference, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Service,
  V1ServiceAccount, V1ServicePort,
} from '@kubernetes/client-node';
import { primaryServiceName, type RenderedInstance } from '../render/instance';
import { changedLines } from './format';

/**
 * The children's writes (ConfigMap, Services, PodDisruptionBudget, and the StatefulSet's own
 * metadata), from one diff helper: metadata diff → reasons → spec fields → merge patch.
 * Each kind is a list of compared fields (`Field`); adding a compared field is one entry.
 */

/** One difference that caused a write: which object, which field, old → new. */
export interface Reason {
  /** `Kind/name`, e.g. `StatefulSet/cache`. */
  readonly object: string;
  /** Field path in that object, e.g. `spec.replicas`; empty for the whole object. */
  readonly field: string;
  readonly from?: unknown;
  readonly to?: unknown;
}

/** A JSON merge patch (RFC 7386): `null` removes a key. */
export interface MergePatch { readonly [key: string]: unknown }

export type ChildKind = 'StatefulSet' | 'ConfigMap' | 'Service' | 'PodDisruptionBudget' | 'ServiceAccount' | 'Role' | 'RoleBinding';

export type ChildWrite =
  /** The object is missing. */
  | { readonly verb: 'create'; readonly kind: ChildKind; readonly name: string; readonly body: object; readonly reasons: readonly Reason[] }
  /** A JSON merge patch (RFC 7386) of the fields that differ. */
  | { readonly verb: 'patch'; readonly kind: ChildKind; readonly name: string; readonly patch: MergePatch; readonly reasons: readonly Reason[] }
  /** An object we made that the spec no longer asks for (the primary Service and PDB at 1 replica). */
  | { readonly verb: 'delete'; readonly kind: ChildKind; readonly name: string; readonly uid?: string; readonly reasons: readonly Reason[] }
  /** An immutable field differs (a headless Service that got a cluster IP): delete (uid precondition), then create. */
  | { readonly verb: 'replace'; readonly kind: ChildKind; readonly name: string; readonly uid?: string; readonly body: object; readonly reasons: readonly Reason[] };

/**
 * One compared field of an object. Desired and live are read the same way; `read`
 * normalises (fills in what the apiserver defaults), so a defaulted live object agrees.
 */
export interface Field<T> {
  /** Path in the object, as the reasons name it, e.g. `spec.type`. */
  readonly field: string;
  readonly read: (object: T) => unknown;
  /** @default sameJson */
  readonly equal?: (desired: unknown, live: unknown) => boolean;
  /** The reasons for a difference. @default one: the live reading → the desired reading */
  readonly reasons?: (object: string, desired: T, live: T) => Reason[];
  /** The merge patch that makes live agree. @default the desired reading at `field` */
  readonly patch?: (desired: T, live: T) => MergePatch;
}

/** The differences `field` sees between desired and live (empty when they agree). */
export function fieldReasons<T>(object: string, field: Field<T>, desired: T, live: T): Reason[] {
  const want = field.read(desired);
  const have = field.read(live);
  const equal = field.equal ?? sameJson;
  if (equal(want, have)) return [];
  return field.reasons ? field.reasons(object, desired, live) : [{ object, field: field.field, from: have, to: want }];
}

/**
 * Equal as JSON: key order, prototypes (client-node's model classes) and keys whose value
 * is undefined (which those classes set for every absent field) make no difference.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  return kx.length === keys(y).length && kx.every((k) => sameJson(x[k], y[k]));
}

/** The merge patch of one field that differs. */
export function fieldPatch<T>(field: Field<T>, desired: T, live: T): MergePatch {
  return field.patch ? field.patch(desired, live) : atPath(field.field, field.read(desired));
}

/**
 * The generic diff: our metadata (labels, ownerReference), then each field, into the
 * reasons and one merge patch. `patch` is absent when nothing differs.
 */
export function diffObject<T extends { metadata?: V1ObjectMeta }>(
  object: string, desired: T, live: T, fields: readonly Field<T>[],
): { reasons: Reason[]; patch?: MergePatch } {
  const meta = metadataDiff(object, desired.metadata ?? {}, live.metadata ?? {});
  const reasons = [...meta.reasons];
  const patches: MergePatch[] = meta.patch ? [{ metadata: meta.patch }] : [];
  for (const field of fields) {
    const found = fieldReasons(object, field, desired, live);
    if (found.length === 0) continue;
    reasons.push(...found);
    patches.push(fieldPatch(field, desired, live));
  }
  return reasons.length > 0 ? { reasons, patch: mergePatches(patches) } : { reasons };
}

/** Our labels (extra labels stay) and our ownerReference (other references stay). */
function metadataDiff(object: string, desired: V1ObjectMeta, live: V1ObjectMeta): { reasons: Reason[]; patch?: MergePatch } {
  const reasons: Reason[] = [];
  const patch: Record<string, unknown> = {};
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
  return reasons.length > 0 ? { reasons, patch } : { reasons };
}

/** Our reference replaces any stale RedisInstance one; it is the controller unless another one is. */
function withOwner(refs: readonly V1OwnerReference[], owner: V1OwnerReference): V1OwnerReference[] {
  const others = refs.filter((r) => !(r.kind === owner.kind && r.apiVersion === owner.apiVersion));
  const controlled = others.some((r) => r.controller);
  return [...others, controlled ? { ...owner, controller: false } : owner];
}

// ---------------------------------------------------------------------------------------
// The children's compared fields

const CONFIG_MAP_FIELDS: readonly Field<V1ConfigMap>[] = [
  {
    // `data` is ours entirely: keys we do not render are removed.
    field: 'data',
    read: (c) => c.data ?? {},
    equal: (a, b) => mapsEqual(a as Record<string, string>, b as Record<string, string>),
    reasons: (object, desired, live) => {
      const want = desired.data ?? {};
      const have = live.data ?? {};
      return [...new Set([...Object.keys(want), ...Object.keys(have)])]
        .filter((key) => want[key] !== have[key])
        .map((key) => {
          const [removed, added] = changedLines(have[key] ?? '', want[key] ?? '');
          return { object, field: `data[${key}]`, from: removed, to: added };
        });
    },
    patch: (desired, live) => ({ data: exactMapPatch(desired.data ?? {}, live.data) }),
  },
];

const SERVICE_FIELDS: readonly Field<V1Service>[] = [
  { field: 'spec.type', read: (s) => s.spec?.type ?? 'ClusterIP' },
  {
    field: 'spec.selector',
    read: (s) => s.spec?.selector,
    equal: (a, b) => mapsEqual(a as Record<string, string> | undefined, b as Record<string, string> | undefined),
    patch: (desired, live) => ({ spec: { selector: exactMapPatch(desired.spec?.selector ?? {}, live.spec?.selector) } }),
  },
  {
    field: 'spec.ports',
    read: (s) => (s.spec?.ports ?? []).map(normalPort),
    patch: (desired) => ({ spec: { ports: desired.spec?.ports } }),
  },
  // With failover the headless Service publishes not-ready pods, so start-up can find peers.
  { field: 'spec.publishNotReadyAddresses', read: (s) => s.spec?.publishNotReadyAddresses ?? false },
];

/** The role agents' RBAC (failover instances); the Role's resourceNames follow spec.replicas. */
const SERVICE_ACCOUNT_FIELDS: readonly Field<V1ServiceAccount>[] = [
  { field: 'automountServiceAccountToken', read: (a) => a.automountServiceAccountToken },
];
const ROLE_FIELDS: readonly Field<V1Role>[] = [{ field: 'rules', read: (r) => r.rules ?? [] }];
const ROLE_BINDING_FIELDS: readonly Field<V1RoleBinding>[] = [{ field: 'subjects', read: (b) => b.subjects ?? [] }];

/** PDB numbers may be written as 1 or "1". */
const intOrString = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

const PDB_FIELDS: readonly Field<V1PodDisruptionBudget>[] = [
  {
    field: 'spec.maxUnavailable',
    read: (p) => p.spec?.maxUnavailable,
    equal: (a, b) => intOrString(a) === intOrString(b),
    patch: (desired) => ({ spec: { maxUnavailable: desired.spec?.maxUnavailable ?? null } }),
  },
  {
    field: 'spec.minAvailable',
    read: (p) => p.spec?.minAvailable,
    equal: (a, b) => intOrString(a) === intOrString(b),
    patch: (desired) => ({ spec: { minAvailable: desired.spec?.minAvailable ?? null } }),
  },
  {
    field: 'spec.selector',
    read: (p) => p.spec?.selector,
    equal: (a, b) => selectorsEqual(a as V1LabelSelector | undefined, b as V1LabelSelector | undefined),
    patch: (desired, live) => ({
      spec: { selector: { matchLabels: exactMapPatch(desired.spec?.selector?.matchLabels ?? {}, live.spec?.selector?.matchLabels), matchExpressions: null } },
    }),
  },
];

/** A port with the apiserver's defaults filled in (protocol TCP, targetPort = port). */
function normalPort(p: V1ServicePort): object {
  return { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', targetPort: String(p.targetPort ?? p.port) };
}

/** What exists of the children. */
export interface LiveChildren {
  readonly configMap?: V1ConfigMap;
  readonly services: readonly V1Service[];
  readonly podDisruptionBudget?: V1PodDisruptionBudget;
  /** The role agents' RBAC (failover instances). */
  readonly serviceAccount?: V1ServiceAccount;
  readonly role?: V1Role;
  readonly roleBinding?: V1RoleBinding;
}

/**
 * Writes that bring the ConfigMap, the Services and the PDB to the desired objects: create
 * what is missing, patch what drifted, delete what the spec no longer asks for.
 */
export function planChildren(objects: RenderedInstance, live: LiveChildren): ChildWrite[] {
  const name = objects.configMap.metadata!.name!;
  const primary = primaryServiceName(name);
  const service = (n: string) => live.services.find((s) => s.metadata?.name === n);
  const singlePod = (what: string) => ({ from: 'replicated', to: `single pod: no ${what}` });
  // RBAC first, so the role agents can patch their pods when these start. When failover is
  // turned off the RBAC stays until the instance is deleted (ownerReference): no pod uses it.
  const agent = objects.serviceAccount?.metadata?.name ?? '';
  return [
    childWrite('ServiceAccount', agent, objects.serviceAccount, live.serviceAccount, SERVICE_ACCOUNT_FIELDS),
    childWrite('Role', agent, objects.role, live.role, ROLE_FIELDS),
    childWrite('RoleBinding', agent, objects.roleBinding, live.roleBinding, ROLE_BINDING_FIELDS),
    childWrite('ConfigMap', name, objects.configMap, live.configMap, CONFIG_MAP_FIELDS),
    headlessServiceWrite(objects.service, service(name)),
    childWrite('Service', primary, objects.primaryService, service(primary), SERVICE_FIELDS, singlePod('primary Service')),
    childWrite('PodDisruptionBudget', name, objects.podDisruptionBudget, live.podDisruptionBudget, PDB_FIELDS, singlePod('PodDisruptionBudget')),
  ].filter((w): w is ChildWrite => w !== undefined);
}

/** clusterIP is immutable: a headless Service that got one is replaced. */
function headlessServiceWrite(desired: V1Service, live: V1Service | undefined): ChildWrite | undefined {
  const name = desired.metadata!.name!;
  if (live && desired.spec?.clusterIP === 'None' && live.spec?.clusterIP !== 'None') {
    return {
      verb: 'replace', kind: 'Service', name, uid: live.metadata?.uid, body: desired,
      reasons: [{ object: `Service/${name}`, field: 'spec.clusterIP', from: live.spec?.clusterIP, to: 'None' }],
    };
  }
  return childWrite('Service', name, desired, live, SERVICE_FIELDS);
}

function childWrite<T extends { metadata?: V1ObjectMeta }>(
  kind: ChildKind, name: string, desired: T | undefined, live: T | undefined, fields: readonly Field<T>[],
  whyGone?: { from: string; to: string },
): ChildWrite | undefined {
  const object = `${kind}/${name}`;
  if (desired && !live) return { verb: 'create', kind, name, body: desired, reasons: [{ object, field: '', to: 'created' }] };
  if (!desired && live && whyGone) {
    return { verb: 'delete', kind, name, uid: live.metadata?.uid, reasons: [{ object, field: 'spec.replicas', ...whyGone }] };
  }
  if (!desired || !live) return undefined;
  const { reasons, patch } = diffObject(object, desired, live, fields);
  return patch ? { verb: 'patch', kind, name, patch, reasons } : undefined;
}

// ---------------------------------------------------------------------------------------
// Merge-patch helpers

/** `a.b.c` → `{ a: { b: { c: value } } }`. */
export function atPath(path: string, value: unknown): MergePatch {
  return path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as MergePatch;
}

/** One merge patch that applies all of `patches` (later ones win on the same key). */
export function mergePatches(patches: readonly MergePatch[]): MergePatch {
  return patches.reduce<MergePatch>((acc, p) => mergeDeep(acc, p), {});
}

function mergeDeep(a: MergePatch, b: MergePatch): MergePatch {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const before = out[key];
    out[key] = isObject(value) && isObject(before) ? mergeDeep(before, value) : value;
  }
  return out;
}

function isObject(v: unknown): v is MergePatch {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mapsEqual(a?: Readonly<Record<string, string>>, b?: Readonly<Record<string, string>>): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

export function selectorsEqual(a?: V1LabelSelector, b?: V1LabelSelector): boolean {
  return mapsEqual(a?.matchLabels, b?.matchLabels) && (a?.matchExpressions ?? []).length === 0 && (b?.matchExpressions ?? []).length === 0;
}

/** A merge patch that makes `live` hold exactly `desired`'s keys (extra keys set to null). */
function exactMapPatch(desired: Readonly<Record<string, string>>, live?: Readonly<Record<string, string>>): Record<string, string | null> {
  const patch: Record<string, string | null> = { ...desired };
  for (const key of Object.keys(live ?? {})) if (!(key in desired)) patch[key] = null;
  return patch;
}
