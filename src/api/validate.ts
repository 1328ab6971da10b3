import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { redisInstanceSchema } from './crd';
import { isQuantity, parseQuantity } from './quantity';
import { configIssues } from '../redis-conf/config-rules';
import { MAX_QUOTED_LENGTH, jsonString, quote, quoteField } from './quote';
import {
  TOTAL_ANNOTATION_SIZE_LIMIT, annotationsSize, imageReferenceIssues, isConfigMapKey, isQualifiedName, isValidLabelValue,
  resourceRequirementsIssues,
} from './kubernetes-rules';
import { maxmemoryIssues, memoryWarnings } from '../redis-conf/memory';
import { networkPolicyIssues } from './selectors';
import { tlsIssues } from '../render/tls';
import { metricsIssues } from '../render/metrics';
import {
  API_VERSION, KIND, failoverModeOf, podAgentOf, type RedisInstanceObject, type ResolvedRedisInstance, type ResolvedRedisInstanceSpec,
} from './types';

/** A path into an object: property names and array indexes. */
export type FieldPath = ReadonlyArray<string | number>;

/** One thing wrong with one object, with enough context to find and fix it. */
export class ValidationIssue {
  constructor(
    /** `namespace/name` of the object, when known. */
    readonly object: string | undefined,
    /** Field path such as `spec.storage.size` or `spec.config[maxmemory]`. */
    readonly path: string,
    readonly message: string,
    /** The YAML file the object came from, if any. */
    readonly file?: string,
    /** 1-based line in that file, if known. */
    readonly line?: number,
  ) {}

  /** `file:line: RedisInstance ns/name: field: message` */
  toString(): string {
    const where = this.file ? `${this.file}${this.line ? `:${this.line}` : ''}: ` : '';
    const what = this.object ? `${KIND} ${this.object}: ` : '';
    return `${where}${what}${this.path ? `${this.path}: ` : ''}${this.message}`;
  }
}

/** Where an object came from, so issues can name the file and line. */
export interface ValidationSource {
  /** The file the object was read from. */
  readonly file?: string;
  /** Line of a field path in that file (the loader's YAML positions). */
  readonly lineOf?: (path: FieldPath) => number | undefined;
  /**
   * `source`: YAML or TypeScript a user wrote: metadata may hold only name, namespace,
   * labels and annotations, and no status. `cluster`: an object read from the apiserver.
   * @default 'source'
   */
  readonly origin?: 'source' | 'cluster';
  /** Namespace used when metadata.namespace is absent. @default 'default' */
  readonly defaultNamespace?: string;
  /**
   * Module paths `config.loadmodule` may name; set in TypeScript (SynthesizeOptions or
   * RedisInstance props), never from instance YAML. Not applied to `cluster` objects.
   * @default - none: loadmodule is refused
   */
  readonly allowedModules?: readonly string[];
}

export type ValidationResult =
  | {
    readonly ok: true; readonly instance: ResolvedRedisInstance; readonly issues: readonly [];
    /** What renders but is probably a mistake (see specWarnings). */
    readonly warnings: readonly ValidationIssue[];
  }
  | { readonly ok: false; readonly instance?: undefined; readonly issues: readonly ValidationIssue[] };

/** Error thrown when input cannot be rendered; `issues` lists every problem found. */
export class RedisValidationError extends Error {
  constructor(readonly issues: readonly ValidationIssue[], where?: string) {
    const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    super(`${where ? `RedisInstance at ${where}: ` : ''}${count}:\n${issues.map((i) => `  ${i}`).join('\n')}`);
    this.name = 'RedisValidationError';
  }
}

/** Longest instance name: the StatefulSet's `controller-revision-hash` label is `<name>-<10 chars>`, max 63. */
export const MAX_NAME_LENGTH = 52;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SOURCE_METADATA_FIELDS = ['name', 'namespace', 'labels', 'annotations'];
const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * The spec schema from the CRD, made strict: the apiserver prunes (or, with strict field
 * validation, rejects) unknown fields; we reject them with a suggestion.
 */
function strictSchema(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'default' || key === 'enum' ? structuredClone(value) : strictSchema(value);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

let specValidator: ValidateFunction | undefined;
/**
 * Compiled lazily: programs that never validate do not pay for Ajv's code generation.
 * Without Ajv's optimisation passes the compile takes about 40% less (it is most of a
 * reconcile pass's start-up with instances; validating 1,000 specs costs the same).
 */
function validateSpecSchema(spec: unknown): ErrorObject[] {
  if (!specValidator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true, code: { optimize: false } });
    specValidator = ajv.compile(strictSchema(redisInstanceSchema.properties.spec));
  }
  return specValidator(spec) ? [] : [...(specValidator.errors ?? [])];
}

/** `spec.config[maxmemory-policy]`-style path, as Kubernetes prints field paths. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const whole of path) {
    // A key is user input: bounded like any quoted value.
    const part = typeof whole === 'string' && whole.length > MAX_QUOTED_LENGTH ? `${whole.slice(0, MAX_QUOTED_LENGTH - 1)}…` : whole;
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out ? `.${part}` : part;
    else if (/^[\x21-\x7E]+$/.test(part) && !/[[\]"]/.test(part)) out += `[${part}]`;
    else out += `[${jsonString(part)}]`;
  }
  return out;
}

function decodePointer(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function suggestion(unknown: string, known: readonly string[]): string {
  if (unknown.length > 64) return ''; // no field name is that long; spare the quadratic distance
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(unknown.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best && bestDistance <= Math.max(2, Math.floor(unknown.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/** A value for a message: bounded in length (see quote.ts). */
function show(value: unknown): string {
  return quote(value);
}

/** Turn one Ajv error into a field path and a message a person can act on. */
function describe(error: ErrorObject, root: FieldPath): { path: FieldPath; message: string } | undefined {
  const at = [...root, ...decodePointer(error.instancePath)];
  const field = at[at.length - 1];
  const parent = at[at.length - 2];
  const p = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(error.parentSchema?.properties ?? {});
      return { path: [...at, p.additionalProperty], message: `unknown field${suggestion(p.additionalProperty, known)}; known fields: ${known.join(', ')}` };
    }
    case 'required':
      return { path: [...at, p.missingProperty], message: 'required field is missing' };
    case 'minimum':
      return { path: at, message: `must be at least ${p.limit}, got ${quoteField(error.data, at)}` };
    case 'maximum':
      return { path: at, message: `must be at most ${p.limit}, got ${quoteField(error.data, at)}` };
    case 'minLength':
      return { path: at, message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters long` };
    case 'maxLength':
      return { path: at, message: `must be at most ${p.limit} characters long` };
    case 'minProperties':
      return { path: at, message: p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} entries` };
    case 'maxItems':
      return { path: at, message: `must have at most ${p.limit} items` };
    case 'maxProperties':
      return { path: at, message: `must have at most ${p.limit} entries` };
    case 'enum':
      return { path: at, message: `must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}, got ${quoteField(error.data, at)}` };
    case 'type':
      // int-or-string quantities fail both anyOf branches; the anyOf error says it once.
      if (error.schemaPath.includes('/anyOf/')) return undefined;
      if (p.type === 'integer' && typeof error.data === 'number') return { path: at, message: `must be an integer, got ${quoteField(error.data, at)}` };
      return { path: at, message: `must be ${/^[aeiou]/.test(p.type) ? 'an' : 'a'} ${p.type}, got ${quoteField(error.data, at)}` };
    case 'anyOf':
      return { path: at, message: `must be a Kubernetes quantity: a string such as "500m" or "1Gi", or a whole number; got ${quoteField(error.data, at)}` };
    case 'pattern':
      if (parent === 'config') return { path: at, message: 'must not contain newlines or other control characters' };
      if (parent === 'limits' || parent === 'requests') return { path: at, message: `is not a valid Kubernetes quantity: ${quoteField(error.data, at)}` };
      if (field === 'size') return { path: at, message: `must be a Kubernetes quantity such as "1Gi" or "500Mi", got ${quoteField(error.data, at)}` };
      if (field === 'image') return { path: at, message: `must not contain whitespace, got ${quoteField(error.data, at)}` };
      if (field === 'secretKey') return { path: at, message: `must be a valid Secret key (letters, digits, '-', '_' and '.'), got ${quoteField(error.data, at)}` };
      return { path: at, message: `must be a valid Kubernetes name (lower-case letters, digits, '-' and '.'), got ${quoteField(error.data, at)}` };
    default:
      return { path: at, message: error.message ?? 'is invalid' };
  }
}

/** The rules the CRD states in CEL (x-kubernetes-validations), and cross-field checks. */
function semanticIssues(spec: any, source: ValidationSource): Array<{ path: FieldPath; message: string }> {
  const out: Array<{ path: FieldPath; message: string }> = configIssues(spec.config, {
    origin: source.origin ?? 'source', auth: spec.auth !== undefined, allowedModules: source.allowedModules,
  });
  const size = spec.storage?.size;
  if (typeof size === 'string' && isQuantity(size) && (parseQuantity(size) ?? 0n) <= 0n) {
    out.push({ path: ['spec', 'storage', 'size'], message: `must be greater than zero, got ${show(size)}` });
  }
  const resources = spec.resources;
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, value] of Object.entries<any>(resources?.[kind] ?? {})) {
      const amount = isQuantity(value) ? parseQuantity(value) : undefined;
      if (amount !== undefined && amount < 0n) out.push({ path: ['spec', 'resources', kind, name], message: `must not be negative, got ${show(value)}` });
    }
  }
  for (const [name, request] of Object.entries<any>(resources?.requests ?? {})) {
    const limit = resources?.limits?.[name];
    // Out-of-range amounts (parseQuantity: undefined) are reported by kubernetesIssues.
    if (limit === undefined || !isQuantity(limit) || !isQuantity(request) || parseQuantity(limit) === undefined || parseQuantity(request) === undefined) continue;
    if ((parseQuantity(request) ?? 0n) > (parseQuantity(limit) ?? 0n)) {
      out.push({ path: ['spec', 'resources', 'requests', name], message: `must be less than or equal to the ${name} limit (${limit}), got ${show(request)}` });
    }
  }
  out.push(...maxmemoryIssues(spec));
  out.push(...networkPolicyIssues(spec));
  out.push(...tlsIssues(spec));
  out.push(...metricsIssues(spec));
  out.push(...failoverIssues(spec));
  return out;
}

/** The CRD's CEL rules on spec: failover needs 3 pods; sentinel settings need failover; failover needs the pod agent. */
function failoverIssues(spec: any): Array<{ path: FieldPath; message: string }> {
  const out: Array<{ path: FieldPath; message: string }> = [];
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  if (spec.failover === 'sentinel' && replicas < 3) {
    out.push({
      path: ['spec', 'failover'],
      message: `failover sentinel needs replicas >= 3, got replicas ${replicas}: two Sentinels cannot reach a majority when the primary's pod dies (docs/failover.md); set replicas to 3 or more, or failover to none`,
    });
  }
  if (spec.sentinel !== undefined && failoverModeOf(spec) !== 'sentinel') {
    const why = spec.failover === 'none' ? 'failover is none' : `failover defaults to none with replicas ${replicas}`;
    out.push({ path: ['spec', 'sentinel'], message: `applies only with failover sentinel, but ${why}; remove spec.sentinel or set failover: sentinel (replicas >= 3)` });
  }
  if (spec.podAgent === false && failoverModeOf(spec) === 'sentinel') {
    const why = spec.failover === 'sentinel' ? 'failover is sentinel' : `failover defaults to sentinel with replicas ${replicas}`;
    out.push({ path: ['spec', 'podAgent'], message: `false is refused because ${why}: the pod agent keeps the role labels that the primary Service follows (docs/failover.md); remove podAgent, or set failover: none` });
  }
  return out;
}

/** What the apiserver or the kubelet would refuse in what we render from the spec (kubernetes-rules.ts). */
function kubernetesIssues(spec: any): Array<{ path: FieldPath; message: string }> {
  const out: Array<{ path: FieldPath; message: string }> = [];
  if (typeof spec.image === 'string' && spec.image.length <= 512 && /^\S+$/.test(spec.image)) {
    const image = imageReferenceIssues(spec.image);
    if (image.length > 0) out.push({ path: ['spec', 'image'], message: `is not a valid image reference (${image.join('; ')}), got ${show(spec.image)}` });
  }
  out.push(...resourceRequirementsIssues(spec.resources));
  const key = spec.auth?.secretKey;
  if (typeof key === 'string') {
    const keyIssues = isConfigMapKey(key);
    if (keyIssues.length > 0) out.push({ path: ['spec', 'auth', 'secretKey'], message: `is not a valid Secret key (${keyIssues.join('; ')}), got ${show(key)}` });
  }
  return out;
}

/**
 * What renders but is probably a mistake, e.g. a replicated instance without a memory
 * limit or maxmemory. Synth prints these as warnings and carries on.
 */
export function specWarnings(instance: ResolvedRedisInstance, source: ValidationSource = {}): ValidationIssue[] {
  return memoryWarnings(instance.spec).map((w) => new ValidationIssue(
    `${instance.namespace}/${instance.name}`, formatPath(w.path), w.message, source.file, source.lineOf?.(w.path)));
}

function metadataIssues(metadata: any, origin: 'source' | 'cluster'): Array<{ path: FieldPath; message: string }> {
  const out: Array<{ path: FieldPath; message: string }> = [];
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) {
    return [{ path: ['metadata'], message: 'required: an object with at least a name' }];
  }
  const { name, namespace } = metadata;
  if (name === undefined || name === '') out.push({ path: ['metadata', 'name'], message: 'required field is missing' });
  else if (typeof name !== 'string' || !DNS1035_LABEL.test(name) || name.length > MAX_NAME_LENGTH) {
    out.push({
      path: ['metadata', 'name'],
      message: `must be a DNS-1035 label of at most ${MAX_NAME_LENGTH} characters (lower-case letters, digits and '-', starting with a letter), got ${show(name)}`,
    });
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !DNS1123_LABEL.test(namespace) || namespace.length > 63)) {
    out.push({ path: ['metadata', 'namespace'], message: `must be a DNS-1123 label of at most 63 characters, got ${show(namespace)}` });
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined) continue;
    if (!map || typeof map !== 'object' || Array.isArray(map)) {
      out.push({ path: ['metadata', field], message: 'must be a map of strings' });
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      // The apiserver checks annotation keys lower-cased, label keys as they are.
      const keyIssues = isQualifiedName(field === 'annotations' ? key.toLowerCase() : key);
      if (keyIssues.length > 0) out.push({ path: ['metadata', field, key], message: `is not a valid key: ${keyIssues.join('; ')}` });
      else if (typeof value !== 'string') out.push({ path: ['metadata', field, key], message: `must be a string, got ${quoteField(value, ['metadata', field, key])}` });
      else if (field === 'labels' && isValidLabelValue(value).length > 0) {
        out.push({ path: ['metadata', field, key], message: `is not a valid label value (${isValidLabelValue(value).join('; ')}), got ${quoteField(value, ['metadata', field, key])}` });
      }
    }
    if (field === 'annotations' && annotationsSize(map) > TOTAL_ANNOTATION_SIZE_LIMIT) {
      out.push({ path: ['metadata', field], message: `must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes in total (keys and values), got ${annotationsSize(map)}` });
    }
  }
  if (origin === 'source') {
    for (const key of Object.keys(metadata)) {
      if (!SOURCE_METADATA_FIELDS.includes(key)) {
        out.push({ path: ['metadata', key], message: `unknown or server-set field${suggestion(key, SOURCE_METADATA_FIELDS)}; metadata may hold ${SOURCE_METADATA_FIELDS.join(', ')}` });
      }
    }
  }
  return out;
}

/**
 * Validate one RedisInstance (from YAML, TypeScript or the cluster) and resolve its
 * defaults. Every problem is reported, not only the first. Pure: the input is not changed.
 */
export function validateRedisInstance(input: unknown, source: ValidationSource = {}): ValidationResult {
  const origin = source.origin ?? 'source';
  const found: Array<{ path: FieldPath; message: string }> = [];
  const obj = input as Partial<RedisInstanceObject> | undefined;
  let object: string | undefined;

  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    found.push({ path: [], message: `not a ${KIND}: expected an object with apiVersion ${API_VERSION} and kind ${KIND}` });
  } else if (obj.apiVersion !== API_VERSION || obj.kind !== KIND) {
    found.push({ path: [], message: `not a ${KIND}: apiVersion ${show(obj.apiVersion)} and kind ${show(obj.kind)} (expected apiVersion ${API_VERSION}, kind ${KIND})` });
  } else {
    const meta = obj.metadata;
    if (meta && typeof meta === 'object' && typeof meta.name === 'string' && meta.name !== '') {
      // Names are input: bounded, and quoted when they hold more than name characters.
      const cut = (text: string) => {
        const short = text.length > MAX_QUOTED_LENGTH ? `${text.slice(0, MAX_QUOTED_LENGTH - 1)}…` : text;
        return /^[-A-Za-z0-9_.]+$/.test(text) && short === text ? text : jsonString(short);
      };
      object = `${cut(typeof meta.namespace === 'string' ? meta.namespace : source.defaultNamespace ?? 'default')}/${cut(meta.name)}`;
    }
    for (const key of Object.keys(obj)) {
      if (!TOP_LEVEL_FIELDS.includes(key)) found.push({ path: [key], message: `unknown field${suggestion(key, TOP_LEVEL_FIELDS)}` });
    }
    if (origin === 'source' && obj.status !== undefined) {
      found.push({ path: ['status'], message: 'status is written by the reconciler; remove it from the source' });
    }
    found.push(...metadataIssues(meta, origin));
    if (obj.spec === undefined) {
      found.push({ path: ['spec'], message: 'required field is missing' });
    } else {
      const spec = structuredClone(obj.spec);
      for (const error of validateSpecSchema(spec)) {
        const described = describe(error, ['spec']);
        if (described) found.push(described);
      }
      if (spec && typeof spec === 'object') found.push(...semanticIssues(spec, source), ...kubernetesIssues(spec));
      if (found.length === 0) {
        const meta = obj.metadata!;
        const instance: ResolvedRedisInstance = {
          name: meta.name,
          namespace: meta.namespace ?? source.defaultNamespace ?? 'default',
          ...(meta.labels ? { labels: meta.labels } : {}),
          ...(meta.annotations && origin === 'source' ? { annotations: meta.annotations } : {}),
          spec: resolvedSpec(spec),
        };
        return { ok: true, instance, issues: [], warnings: specWarnings(instance, source) };
      }
    }
  }

  // One message per field path: the first is the most specific.
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const { path, message } of found) {
    const key = formatPath(path);
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(new ValidationIssue(object, formatPath(path), message, source.file, source.lineOf?.(path)));
  }
  return { ok: false, issues };
}

/** The spec after Ajv applied the CRD's defaults, in the shape the renderer expects. */
function resolvedSpec(spec: any): ResolvedRedisInstanceSpec {
  return {
    image: spec.image,
    replicas: spec.replicas,
    ...(spec.resources ? { resources: spec.resources } : {}),
    storage: spec.storage,
    config: spec.config ?? {},
    ...(spec.auth ? { auth: spec.auth } : {}),
    networkPolicy: spec.networkPolicy,
    ...(spec.metrics ? { metrics: spec.metrics } : {}),
    ...(spec.tls ? { tls: spec.tls } : {}),
    ...(failoverModeOf(spec) === 'sentinel' ? {
      failover: {
        mode: 'sentinel' as const,
        quorum: Math.floor(spec.replicas / 2) + 1,
        downAfterMilliseconds: spec.sentinel?.downAfterMilliseconds ?? SENTINEL_DEFAULTS.downAfterMilliseconds,
        failoverTimeoutMilliseconds: spec.sentinel?.failoverTimeoutMilliseconds ?? SENTINEL_DEFAULTS.failoverTimeoutMilliseconds,
      },
    } : {}),
    podAgent: podAgentOf(spec),
    ...(spec.affinity !== undefined ? { affinity: spec.affinity } : {}),
    ...(spec.topologySpreadConstraints !== undefined ? { topologySpreadConstraints: spec.topologySpreadConstraints } : {}),
  };
}

/** Sentinel's defaults in this API (the CRD states the same). */
export const SENTINEL_DEFAULTS = { downAfterMilliseconds: 5000, failoverTimeoutMilliseconds: 60000 } as const;

/** Issues for instances defined more than once (same namespace and name). */
export function duplicateIssues(
  instances: ReadonlyArray<{ readonly instance: ResolvedRedisInstance; readonly file?: string; readonly lineOf?: (path: FieldPath) => number | undefined; readonly definedAt?: string }>,
): ValidationIssue[] {
  const first = new Map<string, (typeof instances)[number]>();
  const issues: ValidationIssue[] = [];
  for (const entry of instances) {
    const key = `${entry.instance.namespace}/${entry.instance.name}`;
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, entry);
      continue;
    }
    const line = earlier.lineOf?.([]);
    const where = earlier.file ? `${earlier.file}${line ? `:${line}` : ''}` : `TypeScript at ${earlier.definedAt ?? 'an unknown path'}`;
    issues.push(new ValidationIssue(key, 'metadata.name', `defined more than once (first defined in ${where})`, entry.file, entry.lineOf?.(['metadata', 'name'])));
  }
  return issues;
}
