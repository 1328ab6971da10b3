import type { V1Container, V1PersistentVolumeClaim, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { compareQuantities, isQuantity, quantitiesEqual } from '../api/quantity';
import { CONFIG_HASH_ANNOTATION, CONTAINER_NAME, DATA_VOLUME, TEMPLATE_HASH_ANNOTATION } from '../render/instance';
import { fieldPatch, fieldReasons, mergePatches, selectorsEqual, type Field, type MergePatch, type Reason } from './children';
import { claimSize, dataTemplate } from './claims';
import { SECRET_HASH_ANNOTATION } from './desired';
import { classChangeRefusal, shrinkRefusal } from './format';

/**
 * The StatefulSet decision (docs/reconciler.md, "Decision table"), as an ordered list of
 * rules. Each rule names a field, reads it (normalised) from desired and live, and says
 * the action a difference forces. Pure.
 *
 * Precedence is the order of RULES, strongest action first (ACTION_PRECEDENCE): the first
 * rule that sees a difference decides the action. Then:
 * - refuse: only that rule's reasons and message (nothing is written);
 * - create: the StatefulSet is written whole;
 * - recreate: the reasons of every recreate and rolling-update rule (the new StatefulSet
 *   carries them all);
 * - rolling-update: the reasons of every rolling-update rule, and one merge patch of them.
 */

export type Action = 'none' | 'create' | 'rolling-update' | 'recreate' | 'refuse';
export type RuleAction = Exclude<Action, 'none'>;

/** Strongest first; RULES are in this order. */
export const ACTION_PRECEDENCE: readonly RuleAction[] = ['refuse', 'create', 'recreate', 'rolling-update'];

export interface RuleInput {
  /** `StatefulSet/<name>`, for the reasons. */
  readonly object: string;
  /** The StatefulSet to be (rendered, with ownerReference and secret hash). */
  readonly desired: V1StatefulSet;
  readonly live?: V1StatefulSet;
  /** The spec's storage. */
  readonly storage: { readonly size: string; readonly storageClassName?: string };
  /** The spec has `auth`. */
  readonly auth: boolean;
  /** The instance's existing data claims. */
  readonly claims: readonly V1PersistentVolumeClaim[];
}

interface RuleBase {
  /** The field, as the reasons and the docs name it (empty: the StatefulSet itself). */
  readonly field: string;
  /** How the field is read and compared (the docs table's column). */
  readonly compared: string;
  /** The differences this rule sees; empty when desired and live agree on it. */
  readonly check: (input: RuleInput) => readonly Reason[];
}

export type Rule = RuleBase & (
  /** Nothing is written; the message says why, and what to change. */
  | { readonly action: 'refuse'; readonly message: (reasons: readonly Reason[], input: RuleInput) => string }
  | { readonly action: 'create' | 'recreate' }
  /** The merge patch of the StatefulSet that applies this field. */
  | { readonly action: 'rolling-update'; readonly patch: (input: RuleInput) => MergePatch }
);

interface DecisionBase {
  /** Every difference reported with the action (see the order above). */
  readonly reasons: readonly Reason[];
  /** The differences of the deciding action's own rules, for the message. */
  readonly cause: readonly Reason[];
}

export type Decision = DecisionBase & (
  | { readonly action: 'none' | 'create' | 'recreate' }
  /** The deciding rule's message. */
  | { readonly action: 'refuse'; readonly message: string }
  /** One merge patch of every rolling-update rule that differs. */
  | { readonly action: 'rolling-update'; readonly patch: MergePatch }
);

const VCT = `spec.volumeClaimTemplates[${DATA_VOLUME}].spec`;
const CONTAINER = `spec.template.spec.containers[${CONTAINER_NAME}]`;
const SECRET_HASH_FIELD = `spec.template.metadata.annotations[${SECRET_HASH_ANNOTATION}]`;

type StatefulSetSpec = NonNullable<V1StatefulSet['spec']>;

export const RULES: readonly Rule[] = [
  {
    field: 'spec.storage.size',
    compared: 'as a quantity, against the live volumeClaimTemplate and every existing claim: smaller than either',
    action: 'refuse',
    check: ({ object, live, storage, claims }) => {
      const reasons: Reason[] = [];
      const liveSize = dataTemplate(live)?.spec?.resources?.requests?.storage;
      if (liveSize !== undefined && isQuantity(liveSize) && compareQuantities(storage.size, liveSize) < 0) {
        reasons.push({ object, field: `${VCT}.resources.requests.storage`, from: liveSize, to: storage.size });
      }
      for (const claim of claims) {
        const size = claimSize(claim);
        if (size !== undefined && compareQuantities(storage.size, size) < 0) {
          reasons.push({ object: `PersistentVolumeClaim/${claim.metadata!.name}`, field: 'spec.resources.requests.storage', from: size, to: storage.size });
        }
      }
      return reasons;
    },
    message: (reasons, { storage }) => shrinkRefusal(reasons.map((r) => String(r.from)).sort((a, b) => compareQuantities(b, a))[0], storage.size),
  },
  {
    field: 'spec.storage.storageClassName',
    compared: "set, and not the live volumeClaimTemplate's, while existing claims have another class",
    action: 'refuse',
    check: ({ live, storage, claims }) => {
      const wanted = storage.storageClassName;
      if (wanted === undefined || (live && dataTemplate(live)?.spec?.storageClassName === wanted)) return [];
      return claims
        .filter((c) => c.spec?.storageClassName !== undefined && c.spec.storageClassName !== wanted)
        .map((c) => ({ object: `PersistentVolumeClaim/${c.metadata!.name}`, field: 'spec.storageClassName', from: c.spec!.storageClassName, to: wanted }));
    },
    message: (reasons, { storage }) => classChangeRefusal(storage.storageClassName!, reasons.map((r) => ({
      name: r.object.slice('PersistentVolumeClaim/'.length), storageClassName: String(r.from),
    }))),
  },
  {
    field: '',
    compared: 'missing',
    action: 'create',
    check: ({ object, live }) => (live ? [] : [{ object, field: '', to: 'created' }]),
  },
  statefulSetField('recreate', 'the names, sorted', {
    field: 'spec.volumeClaimTemplates',
    read: (s) => (s.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '').sort(),
  }),
  claimTemplateField('resources.requests.storage', 'as a quantity (`1Gi` = `1024Mi`)', {
    read: (t) => t.spec?.resources?.requests?.storage,
    equal: (a, b) => quantitiesEqual(a as string | undefined, b as string | undefined),
  }),
  claimTemplateField('storageClassName', 'as a string, absent = absent', { read: (t) => t.spec?.storageClassName }),
  claimTemplateField('accessModes', 'as a set', {
    read: (t) => t.spec?.accessModes,
    equal: (a, b) => sortedJoin(a) === sortedJoin(b),
  }),
  statefulSetField('recreate', '`matchLabels` exactly, no `matchExpressions`', {
    field: 'spec.selector',
    read: (s) => s.spec?.selector,
    equal: (a, b) => selectorsEqual(a as StatefulSetSpec['selector'], b as StatefulSetSpec['selector']),
  }),
  statefulSetField('recreate', 'as a string', {
    field: 'spec.serviceName',
    read: (s) => s.spec?.serviceName,
    equal: (a, b) => (a ?? '') === (b ?? ''),
  }),
  statefulSetField('recreate', 'absent = `OrderedReady`', {
    field: 'spec.podManagementPolicy',
    read: (s) => s.spec?.podManagementPolicy ?? 'OrderedReady',
  }),
  statefulSetField('rolling-update', 'absent = 1', {
    field: 'spec.replicas',
    read: (s) => s.spec?.replicas ?? 1,
  }),
  {
    field: 'spec.template',
    compared: "by the StatefulSet's template-hash annotation, not field by field; the reasons name the image, resources (as quantities) or config hash that changed",
    action: 'rolling-update',
    check: ({ object, desired, live }) => {
      if (!live || templateHash(desired) === templateHash(live)) return [];
      return templateReasons(object, desired.spec!.template, live.spec?.template, templateHash(live), templateHash(desired));
    },
    // The whole template, and the new hash.
    patch: (input) => ({ metadata: { annotations: { [TEMPLATE_HASH_ANNOTATION]: templateHash(input.desired) } }, spec: { template: templatePatch(input) } }),
  },
  {
    field: SECRET_HASH_FIELD,
    compared: 'left over on the live template by an earlier version (passwords now rotate without a restart): removed',
    action: 'rolling-update',
    check: ({ object, desired, live }) => {
      // When the template changed too, its reasons cover the removal (the template is patched whole).
      if (!live || secretHash(live) === undefined || templateHash(desired) !== templateHash(live)) return [];
      return [{ object, field: SECRET_HASH_FIELD, to: '(removed)' }];
    },
    patch: () => ({ spec: { template: { metadata: { annotations: { [SECRET_HASH_ANNOTATION]: null } } } } }),
  },
  statefulSetField('rolling-update', 'absent = `RollingUpdate` with `partition: 0`', {
    field: 'spec.updateStrategy',
    read: (s) => updateStrategy(s.spec?.updateStrategy),
    patch: (desired) => {
      const strategy = updateStrategy(desired.spec?.updateStrategy);
      return { spec: { updateStrategy: 'rollingUpdate' in strategy ? strategy : { ...strategy, rollingUpdate: null } } };
    },
  }),
  statefulSetField('rolling-update', 'absent = 0', {
    field: 'spec.minReadySeconds',
    read: (s) => s.spec?.minReadySeconds ?? 0,
    patch: (desired) => ({ spec: { minReadySeconds: desired.spec?.minReadySeconds ?? null } }),
  }),
  statefulSetField('rolling-update', 'absent = `Retain`/`Retain`', {
    field: 'spec.persistentVolumeClaimRetentionPolicy',
    read: (s) => ({
      whenDeleted: s.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain',
      whenScaled: s.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled ?? 'Retain',
    }),
  }),
];

/** The action for the StatefulSet, its reasons and (rolling-update) its merge patch. */
export function decide(input: RuleInput, rules: readonly Rule[] = RULES): Decision {
  const matched = rules.map((rule) => ({ rule, reasons: rule.check(input) })).filter((m) => m.reasons.length > 0);
  if (matched.length === 0) return { action: 'none', reasons: [], cause: [] };
  const { rule: first, reasons: firstReasons } = matched[0];
  if (first.action === 'refuse') return { action: 'refuse', reasons: firstReasons, cause: firstReasons, message: first.message(firstReasons, input) };
  if (first.action === 'create') return { action: 'create', reasons: firstReasons, cause: firstReasons };
  const rank = (a: RuleAction) => ACTION_PRECEDENCE.indexOf(a);
  const reported = matched.filter((m) => rank(m.rule.action) >= rank(first.action));
  const reasons = reported.flatMap((m) => m.reasons);
  const cause = reported.filter((m) => m.rule.action === first.action).flatMap((m) => m.reasons);
  if (first.action === 'recreate') return { action: 'recreate', reasons, cause };
  const patches = reported.map(({ rule }) => (rule.action === 'rolling-update' ? rule.patch(input) : {}));
  return { action: 'rolling-update', reasons, cause, patch: mergePatches(patches) };
}

/** A rule over one field of the StatefulSet, read the same way from desired and live (when it exists). */
function statefulSetField(action: 'recreate' | 'rolling-update', compared: string, field: Field<V1StatefulSet>): Rule {
  const check = ({ object, desired, live }: RuleInput) => (live ? fieldReasons(object, field, desired, live) : []);
  return action === 'recreate'
    ? { field: field.field, compared, action, check }
    : { field: field.field, compared, action, check, patch: ({ desired, live }) => fieldPatch(field, desired, live ?? {}) };
}

/** A recreate rule over a field of the data volumeClaimTemplate (when both have one; the names rule sees the rest). */
function claimTemplateField(path: string, compared: string, field: Omit<Field<V1PersistentVolumeClaim>, 'field'>): Rule {
  const full = { ...field, field: `${VCT}.${path}` };
  return {
    field: full.field,
    compared,
    action: 'recreate',
    check: ({ object, desired, live }) => {
      const want = dataTemplate(desired);
      const have = dataTemplate(live);
      return want && have ? fieldReasons(object, full, want, have) : [];
    },
  };
}

function sortedJoin(modes: unknown): string {
  return [...((modes as string[] | undefined) ?? [])].sort().join(',');
}

function updateStrategy(s: StatefulSetSpec['updateStrategy']): { type: string; rollingUpdate?: { partition: number } } {
  const type = s?.type ?? 'RollingUpdate';
  return type === 'RollingUpdate' ? { type, rollingUpdate: { partition: s?.rollingUpdate?.partition ?? 0 } } : { type };
}

function templateHash(sts: V1StatefulSet): string | undefined {
  return sts.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION];
}

function secretHash(sts: V1StatefulSet): string | undefined {
  return sts.spec?.template?.metadata?.annotations?.[SECRET_HASH_ANNOTATION];
}

/** The desired template, whole; a secret hash left on the live one is removed. */
function templatePatch({ desired, live }: RuleInput): MergePatch {
  const template = structuredClone(desired.spec!.template);
  if (!live || secretHash(live) === undefined) return { ...template };
  return { ...template, metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, [SECRET_HASH_ANNOTATION]: null } } };
}

/** Which part of the pod template changed: image, resources, config, or something else. */
function templateReasons(object: string, desired: V1PodTemplateSpec, live: V1PodTemplateSpec | undefined, fromHash?: string, toHash?: string): Reason[] {
  const out: Reason[] = [];
  const d = redisContainer(desired);
  const l = live ? redisContainer(live) : undefined;
  if (d?.image !== l?.image) out.push({ object, field: `${CONTAINER}.image`, from: l?.image, to: d?.image });
  if (!resourcesEqual(d?.resources, l?.resources)) {
    out.push({ object, field: `${CONTAINER}.resources`, from: l?.resources ?? {}, to: d?.resources ?? {} });
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
    const limits: Record<string, string | number> = { ...(r?.limits ?? {}) };
    const requests: Record<string, string | number> = { ...(r?.requests ?? {}) };
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
