/** Label selectors (query string and metav1.LabelSelector) and field selectors. */
import { badRequest } from './errors';
import type { ResourceType } from './resources';
import { getPath, isObject, type Obj } from './util';

type Labels = Record<string, string>;
type Requirement = (labels: Labels) => boolean;

const KEY = '([A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)';
const VALUE = '((?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?)';
const RE_NOT_EXISTS = new RegExp(`^!\\s*${KEY}$`);
const RE_EXISTS = new RegExp(`^${KEY}$`);
const RE_SET = new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const RE_CMP = new RegExp(`^${KEY}\\s*(==|!=|=|>|<)\\s*${VALUE}$`);

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function parseRequirement(raw: string): Requirement {
  const r = raw.trim();
  let m: RegExpExecArray | null;
  if ((m = RE_NOT_EXISTS.exec(r))) {
    const key = m[1];
    return (l) => !(key in l);
  }
  if ((m = RE_SET.exec(r))) {
    const [, key, op, list] = m;
    const values = new Set(list.split(',').map((v) => v.trim()));
    if ([...values].some((v) => !new RegExp(`^${VALUE}$`).test(v))) {
      throw badRequest(`unable to parse requirement: invalid label value in ${JSON.stringify(r)}`);
    }
    return op === 'in' ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
  }
  if ((m = RE_CMP.exec(r))) {
    const [, key, op, value] = m;
    switch (op) {
      case '=':
      case '==':
        return (l) => key in l && l[key] === value;
      case '!=':
        return (l) => !(key in l) || l[key] !== value;
      default: {
        if (!/^-?\d+$/.test(value)) {
          throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        }
        const n = Number(value);
        return (l) => key in l && /^-?\d+$/.test(l[key]) && (op === '>' ? Number(l[key]) > n : Number(l[key]) < n);
      }
    }
  }
  if ((m = RE_EXISTS.exec(r))) {
    const key = m[1];
    return (l) => key in l;
  }
  throw badRequest(`unable to parse requirement: found ${JSON.stringify(r)}, expected: a label selector requirement`);
}

/** Parses a `labelSelector` query value; all requirements must hold (comma = AND). */
export function parseLabelSelector(selector: string): (labels: Labels | undefined) => boolean {
  if (selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map(parseRequirement);
  return (labels) => reqs.every((req) => req(labels ?? {}));
}

/** Matches a metav1.LabelSelector (as in StatefulSet.spec.selector). An empty selector matches everything. */
export function matchesLabelSelector(selector: Obj | undefined, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const expr of (selector.matchExpressions ?? []) as Obj[]) {
    const values: string[] = expr.values ?? [];
    const has = expr.key in l;
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(l[expr.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[expr.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// --- field selectors ---------------------------------------------------------------------------

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Extra selectable fields per resource (the apiserver's GetAttrs / field label conversions). */
const EXTRA_FIELDS: Record<string, string[]> = {
  '/pods': [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  '/events': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  'events.k8s.io/events': [
    'regarding.kind',
    'regarding.namespace',
    'regarding.name',
    'regarding.uid',
    'reason',
    'reportingController',
    'type',
  ],
  '/secrets': ['type'],
  '/namespaces': ['status.phase'],
};

function fieldValue(obj: Obj, field: string): string {
  const path = field === 'source' ? ['source', 'component'] : field.split('.');
  const v = getPath(obj, path);
  if (v === undefined || v === null) return '';
  return isObject(v) ? JSON.stringify(v) : String(v);
}

/** Parses a `fieldSelector` query value for the given resource. */
export function parseFieldSelector(rt: ResourceType, selector: string): (obj: Obj) => boolean {
  if (selector.trim() === '') return () => true;
  const allowed = [...COMMON_FIELDS, ...(EXTRA_FIELDS[`${rt.group}/${rt.plural}`] ?? [])];
  const reqs = selector.split(',').map((raw) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${raw}'`);
    const [, field, op, value] = m;
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return (obj: Obj) => (fieldValue(obj, field) === value) === (op !== '!=');
  });
  return (obj) => reqs.every((req) => req(obj));
}
