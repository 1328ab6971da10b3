import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

/**
 * Validation of built-in Kubernetes objects against the Kubernetes API schema, as
 * @kubernetes/client-node carries it (its models are generated from the apiserver's
 * OpenAPI): every field must be known under its JSON name (`from`, not the model's
 * `_from`), have the schema's type (integers for int32/int64, IntOrString, maps, lists),
 * and every field the schema requires must be there (read from the generated model's
 * declaration, where optional fields carry `?`).
 */

const MODELS_DIR = join(dirname(require.resolve('@kubernetes/client-node')), 'gen', 'models');

interface Attribute { readonly name: string; readonly baseName: string; readonly type: string; readonly format: string }

const requiredCache = new Map<string, string[]>();
/** JSON names of the fields the schema requires: the model declaration's properties without `?`. */
function requiredFields(model: string, attributes: readonly Attribute[]): string[] {
  let required = requiredCache.get(model);
  if (!required) {
    const declaration = readFileSync(join(MODELS_DIR, `${model}.d.ts`), 'utf8');
    const names = new Set([...declaration.matchAll(/^\s+'([^']+)': /gm)].map((m) => m[1]));
    required = attributes.filter((a) => names.has(a.name)).map((a) => a.baseName);
    requiredCache.set(model, required);
  }
  return required;
}

function check(value: unknown, type: string, format: string, path: string, out: string[]): void {
  if (value === undefined || value === null) return;
  const list = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (list) {
    if (!Array.isArray(value)) out.push(`${path}: must be a list, got ${JSON.stringify(value)}`);
    else value.forEach((v, i) => check(v, list[1], '', `${path}[${i}]`, out));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) out.push(`${path}: must be a map, got ${JSON.stringify(value)}`);
    else for (const [k, v] of Object.entries(value)) check(v, map[1], '', `${path}[${k}]`, out);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') out.push(`${path}: must be a string, got ${JSON.stringify(value)}`);
  } else if (type === 'number') {
    if (typeof value !== 'number' || (/^int/.test(format) && !Number.isInteger(value))) out.push(`${path}: must be ${format || 'a number'}, got ${JSON.stringify(value)}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') out.push(`${path}: must be a boolean, got ${JSON.stringify(value)}`);
  } else if (type === 'IntOrString') {
    if (!(typeof value === 'string' || Number.isInteger(value))) out.push(`${path}: must be an integer or a string, got ${JSON.stringify(value)}`);
  } else if (type === 'object' || type === 'any') {
    // free-form (e.g. RawExtension)
  } else {
    const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[type];
    if (!model?.getAttributeTypeMap) {
      out.push(`${path}: no schema for type ${type}`);
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      out.push(`${path}: must be an object (${type}), got ${JSON.stringify(value)}`);
      return;
    }
    const attributes = model.getAttributeTypeMap();
    const byJsonName = new Map(attributes.map((a) => [a.baseName, a]));
    for (const [key, v] of Object.entries(value)) {
      const attribute = byJsonName.get(key);
      if (!attribute) out.push(`${path ? `${path}.` : ''}${key}: unknown field in ${type}`);
      else check(v, attribute.type, attribute.format, `${path ? `${path}.` : ''}${key}`, out);
    }
    for (const key of requiredFields(type, attributes)) {
      if ((value as Record<string, unknown>)[key] === undefined) out.push(`${path ? `${path}.` : ''}${key}: required field of ${type} is missing`);
    }
  }
}

/** Schema errors of one built-in object (`apiVersion` and `kind` pick the model, e.g. V1NetworkPolicy). */
export function kubernetesSchemaErrors(obj: { apiVersion?: string; kind?: string }): string[] {
  const version = obj.apiVersion?.split('/').pop() ?? '';
  const model = `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`;
  const out: string[] = [];
  check(obj, model, '', '', out);
  return out.map((e) => `${obj.kind}: ${e}`);
}
