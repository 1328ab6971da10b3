/**
 * The patch formats kube-apiserver accepts:
 *  - JSON merge patch (RFC 7386),
 *  - JSON patch (RFC 6902, with evanphx/json-patch's behaviour as used by the apiserver),
 *  - strategic merge patch for built-in kinds (patch merge keys of the fields we serve).
 */
import { badRequest, patchNotApplied } from './errors';
import { deepCopy, deepEqual, isObject, type Json, type Obj } from './util';

// --- RFC 7386 ----------------------------------------------------------------------------------

/** RFC 7386: objects merge recursively, `null` deletes a key, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepCopy(patch);
  const result: Obj = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// --- RFC 6902 ----------------------------------------------------------------------------------

interface Operation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: Json;
}

/** A patch that decodes but cannot be applied: the apiserver answers 422 without the reason. */
class NotApplicable extends Error {}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw new NotApplicable('missing path');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new NotApplicable(`invalid pointer ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new NotApplicable(`invalid array index ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new NotApplicable(`index out of range ${i}`);
  return i;
}

/** Resolves the container holding the last token of `path`. */
function parentOf(doc: unknown, path: string[]): { parent: Obj | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, token, false)];
    else if (isObject(cur) && token in cur) cur = cur[token];
    else throw new NotApplicable(`path not found: ${token}`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new NotApplicable('parent is not a container');
  return { parent: cur, key: path[path.length - 1] };
}

function getAt(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false)];
  if (!(key in parent)) throw new NotApplicable(`missing key ${key}`);
  return parent[key];
}

function addAt(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else parent[key] = value;
  return doc;
}

function replaceAt(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent[arrayIndex(parent, key, false)] = value;
  else if (key in parent) parent[key] = value;
  else throw new NotApplicable(`missing key ${key}`);
  return doc;
}

function removeAt(doc: unknown, path: string[]): unknown {
  if (path.length === 0) throw new NotApplicable('cannot remove the root');
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1);
  else if (key in parent) delete parent[key];
  else throw new NotApplicable(`missing key ${key}`);
  return doc;
}

/** Applies an RFC 6902 patch. Throws ApiError 400 for an undecodable patch, 422 when it does not apply. */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequest(`json: cannot unmarshal ${isObject(patch) ? 'object' : typeof patch} into Go value of type jsonpatch.Patch`);
  }
  let result = deepCopy(doc);
  try {
    for (const raw of patch as Operation[]) {
      if (!isObject(raw)) throw new NotApplicable('operation is not an object');
      const op = raw as Operation;
      const path = parsePointer(op.path);
      switch (op.op) {
        case 'add':
          if (!('value' in op)) throw new NotApplicable('missing value');
          result = addAt(result, path, deepCopy(op.value));
          break;
        case 'remove':
          result = removeAt(result, path);
          break;
        case 'replace':
          if (!('value' in op)) throw new NotApplicable('missing value');
          result = replaceAt(result, path, deepCopy(op.value));
          break;
        case 'move': {
          const from = parsePointer(op.from);
          if (path.length > from.length && from.every((t, i) => path[i] === t)) {
            throw new NotApplicable('cannot move into a child of itself');
          }
          const value = getAt(result, from);
          result = addAt(removeAt(result, from), path, value);
          break;
        }
        case 'copy':
          result = addAt(result, path, deepCopy(getAt(result, parsePointer(op.from))));
          break;
        case 'test': {
          let actual: unknown;
          try {
            actual = getAt(result, path);
          } catch {
            actual = undefined;
          }
          // evanphx/json-patch: testing a missing member against null succeeds.
          const expected = op.value ?? null;
          if (!(actual === undefined && expected === null) && !deepEqual(actual, expected)) {
            throw new NotApplicable(`testing value ${String(op.path)} failed`);
          }
          break;
        }
        default:
          throw new NotApplicable(`Unexpected kind: ${String(op.op)}`);
      }
    }
  } catch (e) {
    if (e instanceof NotApplicable) throw patchNotApplied();
    throw e;
  }
  return result;
}

// --- strategic merge patch ---------------------------------------------------------------------

type ListStrategy = { mergeKey: string } | { primitiveMerge: true } | undefined;

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * The patchStrategy/patchMergeKey of a list field, found from the path of map keys leading to it
 * (array levels left out). Lists not listed here have no strategy and are replaced, as in the
 * apiserver (e.g. tolerations, args, command, accessModes, volumeClaimTemplates, rules).
 */
function listStrategy(path: string[], kind: string): ListStrategy {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (last) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
      return { mergeKey: 'name' };
    case 'volumeMounts':
      return { mergeKey: 'mountPath' };
    case 'volumeDevices':
      return { mergeKey: 'devicePath' };
    case 'hostAliases':
      return { mergeKey: 'ip' };
    case 'topologySpreadConstraints':
      return { mergeKey: 'topologyKey' };
    case 'ownerReferences':
      return parent === 'metadata' ? { mergeKey: 'uid' } : undefined;
    case 'finalizers':
      return parent === 'metadata' ? { primitiveMerge: true } : undefined;
    case 'conditions':
      return parent === 'status' ? { mergeKey: 'type' } : undefined;
    case 'ports':
      if (CONTAINER_LISTS.has(parent)) return { mergeKey: 'containerPort' };
      if (kind === 'Service' && path.length === 2 && parent === 'spec') return { mergeKey: 'port' };
      return undefined;
    default:
      return undefined;
  }
}

const DELETE = Symbol('delete');

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isObject(e) && e.$patch)).map(stripDirectives);
  if (!isObject(v)) return deepCopy(v);
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$') && x !== null) out[k] = stripDirectives(x);
  return out;
}

function keyOf(el: unknown, strategy: ListStrategy): unknown {
  return strategy && 'mergeKey' in strategy ? (isObject(el) ? el[strategy.mergeKey] : undefined) : el;
}

function reorder(list: unknown[], order: unknown[], strategy: ListStrategy): unknown[] {
  const rank = (el: unknown) => {
    const i = order.findIndex((o) => deepEqual(keyOf(o, strategy), keyOf(el, strategy)));
    return i < 0 ? order.length : i;
  };
  return list
    .map((el, i) => ({ el, i }))
    .sort((a, b) => rank(a.el) - rank(b.el) || a.i - b.i)
    .map((x) => x.el);
}

function mergeList(original: unknown, patch: unknown[], path: string[], kind: string): unknown[] {
  const strategy = listStrategy(path, kind);
  if (!strategy) return stripDirectives(patch) as unknown[];
  const orig = Array.isArray(original) ? deepCopy(original) : [];
  if ('primitiveMerge' in strategy) {
    for (const v of patch) if (!orig.some((o) => deepEqual(o, v))) orig.push(deepCopy(v));
    return orig;
  }
  const mk = strategy.mergeKey;
  if (patch.some((e) => isObject(e) && e.$patch === 'replace' && !(mk in e))) {
    return stripDirectives(patch.filter((e) => !(isObject(e) && e.$patch === 'replace'))) as unknown[];
  }
  let result = orig;
  for (const el of patch) {
    if (!isObject(el)) throw badRequest(`unable to find api field in struct for the list ${path.join('.')}`);
    if (!(mk in el)) {
      throw badRequest(`map: ${JSON.stringify(el)} does not contain declared merge key: ${mk}`);
    }
    if (el.$patch === 'delete') {
      result = result.filter((o) => !(isObject(o) && deepEqual(o[mk], el[mk])));
      continue;
    }
    const idx = result.findIndex((o) => isObject(o) && deepEqual(o[mk], el[mk]));
    const merged = mergeMap(idx >= 0 ? (result[idx] as Obj) : {}, el, path, kind);
    if (merged === DELETE) result.splice(idx, 1);
    else if (idx >= 0) result[idx] = merged;
    else result.push(merged);
  }
  return result;
}

function mergeMap(original: Obj | undefined, patch: Obj, path: string[], kind: string): Obj | typeof DELETE {
  if (patch.$patch === 'delete') return DELETE;
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return mergeMap({}, rest, path, kind);
  }
  if (patch.$patch !== undefined) throw badRequest(`Unknown patch type: ${String(patch.$patch)} in map: ${JSON.stringify(patch)}`);
  const result: Obj = deepCopy(original ?? {});
  for (const [k, pv] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(pv)) throw badRequest(`invalid patch: ${k} must be a list`);
      if (Array.isArray(result[field])) result[field] = result[field].filter((v: unknown) => !pv.some((d) => deepEqual(d, v)));
      continue;
    }
    if (k.startsWith('$')) continue;
    if (pv === null) {
      delete result[k];
    } else if (isObject(pv)) {
      const merged = mergeMap(isObject(result[k]) ? result[k] : undefined, pv, [...path, k], kind);
      if (merged === DELETE) delete result[k];
      else result[k] = merged;
    } else if (Array.isArray(pv)) {
      result[k] = mergeList(result[k], pv, [...path, k], kind);
    } else {
      result[k] = pv;
    }
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/')) continue;
    const field = k.slice('$setElementOrder/'.length);
    if (!Array.isArray(order)) throw badRequest(`invalid patch: ${k} must be a list`);
    if (Array.isArray(result[field])) result[field] = reorder(result[field], order, listStrategy([...path, field], kind));
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(result)) if (!patch.$retainKeys.includes(k)) delete result[k];
  }
  return result;
}

/**
 * Strategic merge patch for built-in kinds: maps merge (null deletes), lists with a patch merge
 * key merge element-wise, other lists are replaced. Directives: `$patch: delete|replace`,
 * `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.
 */
export function strategicMergePatch(original: Obj, patch: unknown, kind: string): Obj {
  if (!isObject(patch)) throw badRequest('unable to unmarshal patch: the patch is not a JSON object');
  const merged = mergeMap(original, patch, [], kind);
  if (merged === DELETE) throw badRequest('a strategic merge patch may not delete the whole object');
  return merged;
}

