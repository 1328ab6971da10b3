import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { dump, loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import {
  annotationsSize, containerResourceNameIssues, imageReferenceIssues, isConfigMapKey, isQualifiedName, isValidLabelValue,
  TOTAL_ANNOTATION_SIZE_LIMIT,
} from '../../src/api/kubernetes-rules';
import { synthesizeToDirectory } from '../../src/synth';
import { ResourceRegistry } from '../support/apiserver/resources';
import { validateCreate } from '../support/apiserver/validation';
import { kubernetesSchemaErrors } from '../support/k8s-schema';
import { aliasBomb } from '../support/hostile/files';

/**
 * Property: any RedisInstance document, however hostile its YAML (aliases, deep nesting,
 * odd scalars, control characters, huge values, secrets in the wrong place), goes through
 * load → validate → render (synthesizeToDirectory) and ends either in manifests that pass
 * the apiserver's checks, or in errors that name the file (and, for an object, the object
 * and the field), bounded in length, with no secret in them, and dist/ left exactly as it
 * was. Nothing may throw. FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> runs longer.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const SECRET = 'S3CRET';

// --- documents ----------------------------------------------------------------------

const oddScalar = fc.constantFrom<unknown>(
  'yes', 'no', 'on', '~', null, '0x1F', '1e3', '.inf', '-.nan', '0o17', '1_000', '12:30', '2024-01-01', true, 0, -1, 1.5,
  '', ' ', '\u0085', '\u2028', '\t', '\u0000', '\u001b[31m', '"', "'", '\\', '#', '&a', '*a', '!!str', '---', '...', '{', '[',
);
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('x'.repeat(5000), `redis:${'7'.repeat(200)}`, '\u0000\u0001\u0002', 'a\nb', 'a\rb', '$(id)', '`id`', ';rm -rf /'),
);
const anyValue = fc.oneof(oddScalar, hostileString, fc.integer(), fc.array(oddScalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), oddScalar, { maxKeys: 3 }));

/** Mostly a valid value, sometimes a hostile one: about a third of the documents are valid as a whole. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) => fc.oneof({ weight: 14, arbitrary: good }, { weight: 1, arbitrary: bad });

const name = mostly(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), fc.oneof(fc.constantFrom('x'.repeat(53), 'Cache', '-a', ''), anyValue));
const namespace = mostly(fc.constantFrom('web', 'default', 'shop'), fc.oneof(fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,8}$/), anyValue));
const image = mostly(
  fc.constantFrom('redis:7.2.4', 'redis', 'docker.io/library/redis:7', `redis@sha256:${'ab'.repeat(32)}`, 'localhost:5000/redis:dev', `redis:${'t'.repeat(100)}`),
  fc.oneof(fc.constantFrom('Redis:7', 'redis@sha256:abc', 'redis:7\u0085', 'redis 7', 'redis:$(id)', `redis:${'t'.repeat(129)}`), anyValue),
);
const quantity = fc.oneof(fc.constantFrom('100m', '1', '64Mi', '1Gi', '0', '-1', '1e3', '1e999999999', '1.5', '2Mi'), fc.integer({ min: -5, max: 10 }), anyValue);
const resourceName = fc.oneof(
  fc.constantFrom('cpu', 'memory', 'ephemeral-storage', 'hugepages-2Mi', 'example.com/gpu', 'gpu', 'kubernetes.io/x', 'requests.example.com/x'),
  fc.string({ maxLength: 12 }),
);
const resources = mostly(
  fc.record({
    requests: fc.record({ cpu: fc.constantFrom('50m', '100m', 1), memory: fc.constantFrom('64Mi', '100M') }, { requiredKeys: [] }),
    limits: fc.record({ memory: fc.constantFrom('128Mi', '1Gi'), 'example.com/gpu': fc.constant('1') }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  fc.oneof(fc.record({ limits: fc.dictionary(resourceName, quantity, { maxKeys: 3 }), requests: fc.dictionary(resourceName, quantity, { maxKeys: 3 }) }, { requiredKeys: [] }), anyValue),
);
const configKey = fc.oneof(
  fc.constantFrom('maxmemory', 'maxmemory-policy', 'hz', 'save', 'appendonly', 'requirepass', 'masterauth', 'user', 'api-token', 'dir', 'port', 'include', 'MaxMemory'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
  fc.string({ maxLength: 10 }),
);
const configValue = fc.oneof(fc.constantFrom('10', 'allkeys-lru', '100mb', 'yes', '3600 1'), anyValue);
const config = mostly(
  fc.record({ maxmemory: fc.constantFrom('100mb', '1gb'), 'maxmemory-policy': fc.constantFrom('allkeys-lru', 'noeviction'), hz: fc.constantFrom('10', '20'), appendonly: fc.constantFrom('yes', 'no') }, { requiredKeys: [] }),
  fc.oneof(fc.dictionary(configKey, configValue, { maxKeys: 5 }), anyValue),
);
const spec = fc.record(
  {
    image,
    replicas: mostly(fc.integer({ min: 1, max: 16 }), fc.oneof(fc.integer({ min: -1, max: 20 }), anyValue)),
    resources,
    storage: mostly(
      fc.record({ size: fc.constantFrom('1Gi', '500Mi', '10G'), storageClassName: fc.constantFrom('fast', 'standard') }, { requiredKeys: [] }),
      fc.oneof(fc.record({ size: quantity, storageClassName: fc.oneof(fc.constant('fast'), anyValue) }, { requiredKeys: [] }), anyValue),
    ),
    config,
    auth: mostly(
      fc.record({ secretName: fc.constantFrom('pw', 'cache-auth'), secretKey: fc.constantFrom('password', 'redis.pw') }, { requiredKeys: ['secretName'] }),
      fc.oneof(fc.record({ secretName: fc.oneof(fc.constant('pw'), anyValue), secretKey: fc.oneof(fc.constantFrom('..', '.', 'a/b'), anyValue) }, { requiredKeys: [] }), anyValue),
    ),
    unknown: anyValue,
  },
  { requiredKeys: ['image'] },
).map((s) => s as Record<string, unknown>);
const metadataMap = mostly(
  fc.dictionary(fc.constantFrom('app', 'example.com/team', 'team'), fc.constantFrom('v', 'web-1'), { maxKeys: 2 }),
  fc.dictionary(
    fc.oneof(fc.constantFrom('app', 'Example.com/x', `${'a'.repeat(254)}/x`, 'example.com/password'), fc.string({ maxLength: 12 })),
    fc.oneof(fc.constantFrom('v', 'x'.repeat(64)), anyValue),
    { maxKeys: 3 },
  ),
);
const document = fc.record(
  {
    apiVersion: mostly(fc.constant('redis.github.com/v1'), anyValue),
    kind: mostly(fc.constant('RedisInstance'), anyValue),
    metadata: mostly(fc.record({ name, namespace, labels: metadataMap, annotations: metadataMap }, { requiredKeys: ['name'] }), anyValue),
    spec: mostly(spec.map(({ unknown, ...rest }) => rest), fc.oneof(spec, anyValue)),
    status: fc.oneof({ weight: 1, arbitrary: anyValue }, { weight: 9, arbitrary: fc.constant(undefined) }),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
).chain((doc) => fc.constantFrom<unknown>(`${SECRET}-1`, 84736251, [`${SECRET}-2`]).map((secret) => {
  // Secret-like config keys carry a marker that must never reach a message.
  const copy = structuredClone(doc);
  const config = (copy.spec as { config?: unknown } | undefined)?.config;
  if (config && typeof config === 'object' && !Array.isArray(config)) {
    for (const key of Object.keys(config)) if (/pass|auth|token|^user$/.test(key)) (config as Record<string, unknown>)[key] = secret;
  }
  return copy;
}));

/** YAML text for the documents, written in one of several hostile ways. */
const style = fc.oneof(
  { weight: 6, arbitrary: fc.constant('plain') },
  { weight: 2, arbitrary: fc.constantFrom('json', 'flow') },
  { weight: 3, arbitrary: fc.constantFrom('alias', 'bomb', 'deep', 'huge', 'tags', 'garbage') },
);
const yamlText = fc.tuple(fc.array(document, { minLength: 1, maxLength: 3 }), style).map(([docs, style]) => {
  const plain = docs.map((d) => dump(d, { skipInvalid: true, lineWidth: -1 })).join('---\n');
  switch (style) {
    case 'json': return docs.map((d) => JSON.stringify(d)).join('\n---\n');
    case 'flow': return docs.map((d) => dump(d, { skipInvalid: true, flowLevel: 0 })).join('---\n');
    // Values shared through anchors and aliases (js-yaml writes a shared object once): legal YAML, small expansion.
    case 'alias': return docs.map((d) => {
      const shared = structuredClone(d) as any;
      if (shared.spec && typeof shared.spec === 'object') shared.spec.config = shared.metadata?.labels ?? shared.spec.config;
      return dump(shared, { skipInvalid: true, lineWidth: -1 });
    }).join('---\n');
    case 'bomb': return plain.replace(/^(\s*)image: .*$/m, `$1image: ${aliasBomb().replace(/\n/g, ' ')}`);
    case 'deep': return plain.replace(/^(\s*)replicas: .*$/m, `$1replicas: ${'['.repeat(500)}${']'.repeat(500)}`);
    case 'huge': return plain.replace(/^kind: .*$/m, `kind: RedisInstance\nx-huge: "${'x'.repeat(300_000)}"`);
    case 'tags': return plain.replace(/^(\s*)image: .*$/m, '$1image: !!binary aGVsbG8=').replace(/^kind: .*$/m, 'kind: !!js/function "x"');
    case 'garbage': return plain.slice(0, Math.floor(plain.length / 2)) + '\u0000: [';
    default: return plain;
  }
});

// --- the checks -----------------------------------------------------------------------

const registry = new ResourceRegistry();

/** What the apiserver would say about a rendered object: its own checks (test API server) and those of kubernetes-rules. */
function apiserverErrors(obj: any): string[] {
  const id = `${obj?.kind} ${obj?.metadata?.namespace}/${obj?.metadata?.name}`;
  const rt = registry.byKind(obj.apiVersion, obj.kind);
  // Kinds the test API server does not serve (NetworkPolicy) are checked against client-node's schema.
  if (!rt && obj.apiVersion === 'networking.k8s.io/v1') return kubernetesSchemaErrors(obj).map((e) => `${id}: ${e}`);
  if (!rt) return [`${id}: unknown kind`];
  const errors = validateCreate(rt, obj).map((e) => `${id}: ${e.field}: ${'detail' in e ? e.detail : e.type}`);
  const metas = [obj.metadata, obj.spec?.template?.metadata].filter(Boolean);
  for (const meta of metas) {
    for (const [k, v] of Object.entries<any>(meta.labels ?? {})) errors.push(...[...isQualifiedName(k), ...isValidLabelValue(v)].map((m) => `${id}: label ${k}: ${m}`));
    for (const k of Object.keys(meta.annotations ?? {})) errors.push(...isQualifiedName(k.toLowerCase()).map((m) => `${id}: annotation ${k}: ${m}`));
    if (annotationsSize(meta.annotations ?? {}) > TOTAL_ANNOTATION_SIZE_LIMIT) errors.push(`${id}: annotations too large`);
  }
  const pod = obj.spec?.template?.spec;
  for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
    errors.push(...imageReferenceIssues(c.image).map((m) => `${id}: ${c.name}.image: ${m}`));
    for (const list of [c.resources?.limits ?? {}, c.resources?.requests ?? {}]) {
      for (const r of Object.keys(list)) errors.push(...containerResourceNameIssues(r).map((m) => `${id}: ${c.name}.resources ${r}: ${m}`));
    }
    for (const env of c.env ?? []) {
      const key = env.valueFrom?.secretKeyRef?.key;
      if (key !== undefined) errors.push(...isConfigMapKey(key).map((m) => `${id}: ${c.name}.env ${env.name}: ${m}`));
    }
  }
  if (obj.kind === 'RedisInstance') {
    const again = validateRedisInstance(obj);
    if (!again.ok) errors.push(...again.issues.map((i) => `${id}: does not validate again: ${i}`));
  }
  return errors;
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/**
 * Each error line: `file[:line]: ` then either `RedisInstance ns/name: field: message`, or
 * `field: message` for an object whose name is missing or invalid (then one of its issues
 * is about metadata), or a message about the file or document as a whole.
 */
/** A field path as formatPath writes it: `spec.config[maxmemory-policy]`, `metadata.labels["a b"]`. */
const BRACKET = '\\[(?:"(?:[^"\\\\]|\\\\.)*"|[^\\]\\s]*)\\]';
const FIELD = `(?:[^\\s.[:"]+|${BRACKET})(?:\\.[^\\s.[:"]+|${BRACKET})*`;
const FIELD_ONLY = new RegExp(`^error: instances/doc\\.yaml:\\d+: ${FIELD}: .+$`);
const PART = '(?:"(?:[^"\\\\]|\\\\.)*"|[^\\s/"]+)';
const WITH_OBJECT = new RegExp(`^error: instances/doc\\.yaml:\\d+: RedisInstance ${PART}/${PART}: ${FIELD}: .+$`);
const DOCUMENT = /^error: instances\/doc\.yaml(?::\d+)?: (?:not a RedisInstance: .+|YAML .+|file .+)$/;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'redis-gitops-fuzz-'));
  mkdirSync(join(work, 'instances'));
  // A previous synth's output, which a failed synth must leave exactly as it was.
  mkdirSync(join(work, 'dist', 'instances', 'old'), { recursive: true });
  writeFileSync(join(work, 'dist', 'instances', 'old', 'keep.yaml'), 'kept: true\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fuzz: load → validate → render', () => {
  it(`ends in valid manifests or in errors naming file, object and field (seed ${SEED}, ${RUNS} runs)`, async () => {
    console.log(`fuzz seed: ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const dist = join(work, 'dist');
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(yamlText, async (text) => {
        writeFileSync(join(work, 'instances', 'doc.yaml'), text);
        const before = tree(dist);
        const lines: string[] = [];
        const code = await synthesizeToDirectory(dist, { instanceDirs: [join(work, 'instances')], displayRoot: work }, (l) => lines.push(l));
        if (code === 1) {
          expect(tree(dist)).toEqual(before);
          // Warnings (e.g. a replicated instance without a memory limit) are printed too, and
          // name file, object and field like errors.
          const warnings = lines.slice(0, -1).filter((l) => l.startsWith('warning: '));
          for (const line of warnings) expect(line.replace(/^warning: /, 'error: '), line).toMatch(WITH_OBJECT);
          const issues = lines.slice(0, -1).filter((l) => !l.startsWith('warning: '));
          expect(issues.length).toBeGreaterThan(0);
          for (const line of issues) {
            if (!WITH_OBJECT.test(line) && !DOCUMENT.test(line)) {
              expect(line, line).toMatch(FIELD_ONLY);
              expect(issues.some((l) => / metadata(\.name)?: /.test(l)), `${line}: no object named, and no issue about its metadata`).toBe(true);
            }
            expect(line.length).toBeLessThan(600);
            expect(line).not.toContain(SECRET);
            expect(line).not.toContain('84736251');
          }
          expect(lines.at(-1)).toMatch(/^synth failed: \d+ problems?; .* was left unchanged$/);
        } else {
          expect(code).toBe(0);
          valid++;
          const files = tree(dist);
          expect(Object.keys(files).length).toBeGreaterThan(0);
          for (const [file, content] of Object.entries(files)) {
            for (const obj of loadAll(content) as any[]) expect(apiserverErrors(obj), `${file}: ${JSON.stringify(apiserverErrors(obj))}`).toEqual([]);
          }
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(`fuzz: ${valid} of ${RUNS} documents rendered, the others refused`);
  }, 60_000);
});
