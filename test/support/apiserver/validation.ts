/**
 * The subset of apiserver validation (pkg/apis/<group>/validation) that a reconciler can run into.
 * Each function returns field errors; the store turns them into a 422 Invalid.
 */
import type { FieldError } from './errors';
import { compareQuantities, isValidQuantity } from './quantity';
import type { ResourceType } from './resources';
import { deepCopy, deepEqual, getPath, isObject, quote, type Obj } from './util';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function validateName(rt: ResourceType, name: string): FieldError[] {
  if (rt.group === 'rbac.authorization.k8s.io') {
    return /[/%]/.test(name) || name === '.' || name === '..'
      ? [{ type: 'FieldValueInvalid', field: 'metadata.name', value: quote(name), detail: 'may not contain "/" or "%"' }]
      : [];
  }
  let re = DNS1123_SUBDOMAIN;
  let msg = SUBDOMAIN_MSG;
  let max = 253;
  if (rt.group === '' && rt.plural === 'services') [re, msg, max] = [DNS1035_LABEL, DNS1035_MSG, 63];
  if (rt.group === '' && rt.plural === 'namespaces') [re, msg, max] = [DNS1123_LABEL, LABEL_MSG, 63];
  const errs: FieldError[] = [];
  if (name.length > max) {
    errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: quote(name), detail: `must be no more than ${max} characters` });
  }
  if (!re.test(name)) errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: quote(name), detail: msg });
  return errs;
}

function goMap(m: unknown): string {
  const entries = Object.entries(isObject(m) ? m : {}).map(([k, v]) => `${quote(k)}:${quote(String(v))}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function validatePvcSpec(spec: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s = isObject(spec) ? spec : {};
  if (!Array.isArray(s.accessModes) || s.accessModes.length === 0) {
    errs.push({ type: 'FieldValueRequired', field: `${path}.accessModes`, detail: 'at least 1 access mode is required' });
  }
  const storage = getPath(s, ['resources', 'requests', 'storage']);
  if (storage === undefined) {
    errs.push({ type: 'FieldValueRequired', field: `${path}.resources[storage]`, detail: '' });
  } else if (!isValidQuantity(storage)) {
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.resources.requests[storage]`,
      value: quote(String(storage)),
      detail: 'must be a valid quantity',
    });
  }
  return errs;
}

function validateStatefulSetSpec(spec: Obj | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const selector = spec?.selector;
  const templateLabels = getPath(spec, ['template', 'metadata', 'labels']);
  if (!isObject(selector) || (!selector.matchLabels && !selector.matchExpressions)) {
    errs.push({ type: 'FieldValueRequired', field: 'spec.selector', detail: '' });
  } else {
    const matchLabels = (selector.matchLabels ?? {}) as Obj;
    const labels = (isObject(templateLabels) ? templateLabels : {}) as Obj;
    if (Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        value: goMap(templateLabels),
        detail: '`selector` does not match template `labels`',
      });
    }
  }
  (spec?.volumeClaimTemplates ?? []).forEach((vct: Obj, i: number) =>
    errs.push(...validatePvcSpec(vct?.spec, `spec.volumeClaimTemplates[${i}].spec`)),
  );
  return errs;
}

/** Validation of a new object (ValidateObjectMeta + the kind's Validate). */
export function validateCreate(rt: ResourceType, obj: Obj): FieldError[] {
  const errs = validateName(rt, obj.metadata.name);
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  if (rt.group === 'apps' && rt.kind === 'StatefulSet') errs.push(...validateStatefulSetSpec(spec));
  if (rt.group === '' && rt.kind === 'PersistentVolumeClaim') errs.push(...validatePvcSpec(spec, 'spec'));
  return errs;
}

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

function withoutKeys(o: unknown, keys: string[]): Obj {
  const copy: Obj = isObject(o) ? { ...o } : {};
  for (const k of keys) delete copy[k];
  return copy;
}

/** A loose rendering of the spec diff the apiserver appends (it uses cmp.Diff). */
function specDiff(oldSpec: Obj, newSpec: Obj): string {
  const lines = ['  core.PersistentVolumeClaimSpec{'];
  for (const k of new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])) {
    if (deepEqual(oldSpec[k], newSpec[k])) continue;
    if (oldSpec[k] !== undefined) lines.push(`- \t${k}: ${JSON.stringify(oldSpec[k])},`);
    if (newSpec[k] !== undefined) lines.push(`+ \t${k}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }');
  return lines.join('\n');
}

function validatePvcUpdate(oldObj: Obj, newObj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const oldSpec = deepCopy((oldObj.spec ?? {}) as Obj);
  const newSpec = deepCopy((newObj.spec ?? {}) as Obj);
  const oldSize = getPath(oldSpec, ['resources', 'requests', 'storage']) as string | undefined;
  const newSize = getPath(newSpec, ['resources', 'requests', 'storage']) as string | undefined;
  // volumeName may be set once (by the PV controller).
  if (!oldSpec.volumeName) oldSpec.volumeName = newSpec.volumeName;
  const bound = getPath(newObj, ['status', 'phase']) === 'Bound';
  const sameSize = oldSize !== undefined && newSize !== undefined && isValidQuantity(newSize) && compareQuantities(oldSize, newSize) === 0;
  if ((bound || sameSize) && isObject(newSpec.resources?.requests)) newSpec.resources.requests.storage = oldSize;
  if (bound) {
    // volumeAttributesClassName may change on bound claims too.
    newSpec.volumeAttributesClassName = oldSpec.volumeAttributesClassName;
  }
  if (!deepEqual(oldSpec, newSpec)) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'spec',
      detail: `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${specDiff(oldSpec, newSpec)}`,
    });
  }
  if (oldSize !== undefined && newSize !== undefined && isValidQuantity(newSize) && compareQuantities(newSize, oldSize) < 0) {
    errs.push({ type: 'FieldValueForbidden', field: 'spec.resources.requests.storage', detail: 'field can not be less than previous value' });
  }
  return errs;
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function podSpecWithoutMutable(spec: unknown): Obj {
  const s = withoutKeys(spec, ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds']);
  for (const list of ['containers', 'initContainers']) {
    if (Array.isArray(s[list])) s[list] = s[list].map((c: unknown) => withoutKeys(c, ['image']));
  }
  return s;
}

/** Update validation (ValidateXUpdate). `newObj` has already been defaulted. */
export function validateUpdate(rt: ResourceType, oldObj: Obj, newObj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  if (newObj.metadata.uid !== oldObj.metadata.uid) {
    errs.push({ type: 'FieldValueInvalid', field: 'metadata.uid', value: quote(String(newObj.metadata.uid)), detail: 'field is immutable' });
  }
  const oldFinalizers: string[] = oldObj.metadata.finalizers ?? [];
  const added = ((newObj.metadata.finalizers ?? []) as string[]).filter((f) => !oldFinalizers.includes(f));
  if (oldObj.metadata.deletionTimestamp && added.length > 0) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'metadata.finalizers',
      detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map(quote).join(', ')}}`,
    });
  }
  const key = `${rt.group}/${rt.kind}`;
  if (key === 'apps/StatefulSet') errs.push(...validateStatefulSetSpec(newObj.spec));
  if (key === 'apps/StatefulSet' && !deepEqual(withoutKeys(oldObj.spec, STS_MUTABLE), withoutKeys(newObj.spec, STS_MUTABLE))) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'spec',
      detail:
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    });
  }
  if (key === '/PersistentVolumeClaim') errs.push(...validatePvcUpdate(oldObj, newObj));
  if (key === '/Service') {
    const oldIPs = oldObj.spec?.clusterIPs;
    const newIPs = newObj.spec?.clusterIPs;
    if (Array.isArray(oldIPs) && oldIPs.length > 0 && !deepEqual(oldIPs[0], newIPs?.[0])) {
      errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', value: JSON.stringify(newIPs ?? []), detail: 'may not change once set' });
    }
  }
  if ((key === '/ConfigMap' || key === '/Secret') && oldObj.immutable === true) {
    if (!deepEqual(oldObj.data, newObj.data)) {
      errs.push({ type: 'FieldValueForbidden', field: 'data', detail: 'field is immutable when `immutable` is set' });
    }
    if (newObj.immutable !== true) {
      errs.push({ type: 'FieldValueForbidden', field: 'immutable', detail: 'field is immutable when `immutable` is set' });
    }
  }
  if (key === '/Pod' && !deepEqual(podSpecWithoutMutable(oldObj.spec), podSpecWithoutMutable(newObj.spec))) {
    errs.push({ type: 'FieldValueForbidden', field: 'spec', detail: POD_UPDATE_MSG });
  }
  return errs;
}
