import { describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import {
  containerResourceNameIssues, imageReferenceIssues, isConfigMapKey, isQualifiedName,
} from '../../src/api/kubernetes-rules';

function manifest(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'cache', namespace: 'web' }) {
  return { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata, spec: { image: 'redis:7.2.4', ...spec } };
}

/** Every issue as "path: message". */
function issues(input: unknown): string[] {
  return validateRedisInstance(input).issues.map((i) => `${i.path}: ${i.message}`);
}

const SHA = 'a'.repeat(64);

describe("Kubernetes' own rules at synth time (what the apiserver or the kubelet would refuse)", () => {
  it('annotations over 256 KiB in total', () => {
    const annotations = { 'example.com/a': 'x'.repeat(200 * 1024), 'example.com/b': 'y'.repeat(56 * 1024) };
    expect(issues(manifest({}, { name: 'cache', namespace: 'web', annotations }))).toEqual([
      'metadata.annotations: must have at most 262144 bytes in total (keys and values), got 262170',
    ]);
    const fits = { 'example.com/a': 'x'.repeat(256 * 1024 - 13) };
    expect(validateRedisInstance(manifest({}, { name: 'cache', annotations: fits })).ok).toBe(true);
  });

  it.each([
    ['a prefix that is not a DNS subdomain', 'Example.COM/team', 'labels', "prefix part a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"],
    ['a prefix longer than 253 characters', `${'a'.repeat(250)}.com/team`, 'labels', 'prefix part must be no more than 253 characters'],
    ['an empty prefix', '/team', 'annotations', 'prefix part must be non-empty'],
    ['a name over 63 characters', `example.com/${'n'.repeat(64)}`, 'labels', 'name part must be no more than 63 characters'],
    ['two slashes', 'a/b/c', 'annotations', "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"],
  ])('a label or annotation key with %s', (_case, key, field, message) => {
    const [result] = validateRedisInstance(manifest({}, { name: 'cache', [field]: { [key]: 'v' } })).issues;
    expect(result.message).toBe(`is not a valid key: ${message}`);
    expect(result.path.startsWith(`metadata.${field}`)).toBe(true);
  });

  it('annotation keys are checked lower-cased, as the apiserver does; label keys as written', () => {
    expect(validateRedisInstance(manifest({}, { name: 'cache', annotations: { 'Example.com/Team': 'a' } })).ok).toBe(true);
    expect(validateRedisInstance(manifest({}, { name: 'cache', labels: { 'Example.com/Team': 'a' } })).ok).toBe(false);
  });

  it.each([
    ['an unknown standard name', { limits: { gpu: '1' } }, 'spec.resources.limits.gpu: is not a valid resource name: must be a standard resource for containers (cpu, memory, ephemeral-storage, hugepages-<size>) or a domain-prefixed extended resource such as example.com/gpu'],
    ['a name that is not a qualified name', { requests: { 'cpu!': '1' } }, "spec.resources.requests[cpu!]: is not a valid resource name: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"],
    ['a requests.-prefixed extended name', { limits: { 'requests.example.com/gpu': '1' } }, "spec.resources.limits[requests.example.com/gpu]: is not a valid resource name: doesn't follow extended resource name standard"],
    ['an extended resource with a request but no limit', { requests: { 'example.com/gpu': '1' } }, 'spec.resources.limits[example.com/gpu]: a limit must be set: example.com/gpu cannot be overcommitted, so its request needs a limit equal to it'],
    ['an extended resource requested below its limit', { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '2' } }, 'spec.resources.requests[example.com/gpu]: must be equal to the example.com/gpu limit: example.com/gpu cannot be overcommitted'],
    ['a fractional extended resource', { limits: { 'example.com/gpu': '500m' } }, 'spec.resources.limits[example.com/gpu]: must be an integer'],
    ['huge pages without cpu or memory', { limits: { 'hugepages-2Mi': '4Mi' } }, 'spec.resources.limits: huge pages require a cpu or memory request or limit'],
    ['huge pages that are not whole pages', { limits: { 'hugepages-2Mi': '3Mi', memory: '1Gi' } }, 'spec.resources.limits[hugepages-2Mi]: must be a whole multiple of the page size of hugepages-2Mi'],
    ['huge pages requested below the limit', { requests: { 'hugepages-2Mi': '2Mi' }, limits: { 'hugepages-2Mi': '4Mi', memory: '1Gi' } }, 'spec.resources.requests[hugepages-2Mi]: must be equal to the hugepages-2Mi limit: hugepages-2Mi cannot be overcommitted'],
    ['an absurd exponent', { limits: { cpu: '1e999999999' } }, 'spec.resources.limits.cpu: is out of range: at most 64 characters and exponents up to e64'],
  ])('resources: %s', (_case, resources, expected) => {
    expect(issues(manifest({ resources }))).toEqual([expected]);
  });

  it('accepts standard, kubernetes.io and extended resources used as Kubernetes allows', () => {
    const resources = {
      requests: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '1Gi', 'example.com/gpu': '2', 'hugepages-2Mi': '4Mi' },
      limits: { memory: '128Mi', 'example.com/gpu': '2', 'hugepages-2Mi': '4Mi', 'kubernetes.io/network-bandwidth': '1' },
    };
    expect(issues(manifest({ resources }))).toEqual([]);
  });

  it.each([
    ['an upper-case repository', 'Redis:7', 'repository name must be lowercase'],
    ['an upper-case path', 'registry.example.com/Team/redis:7', 'repository name must be lowercase'],
    ['a digest that is too short', 'redis@sha256:abc123', 'invalid digest: must be algorithm:hex, e.g. sha256:<64 lower-case hex digits>'],
    ['a digest of the wrong length', `redis@sha256:${'a'.repeat(63)}0a`, 'invalid sha256 digest: must be 64 lower-case hex digits'],
    ['an upper-case digest', `redis@sha256:${'A'.repeat(64)}`, 'invalid sha256 digest: must be 64 lower-case hex digits'],
    ['an unknown digest algorithm', `redis@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5" (sha256, sha384 or sha512)'],
    ['shell metacharacters', 'redis:7;rm', 'must be an image reference: [registry[:port]/]repository[:tag][@algorithm:digest], e.g. redis:7.2.4 or registry.example.com/redis@sha256:<64 hex digits>'],
    ['a command substitution', 'redis:$(id)', 'must be an image reference: [registry[:port]/]repository[:tag][@algorithm:digest], e.g. redis:7.2.4 or registry.example.com/redis@sha256:<64 hex digits>'],
    ['a NEL (U+0085), which is not whitespace to the schema', 'redis:7\u0085', 'must be an image reference: [registry[:port]/]repository[:tag][@algorithm:digest], e.g. redis:7.2.4 or registry.example.com/redis@sha256:<64 hex digits>'],
    ['a tag over 128 characters', `redis:${'t'.repeat(129)}`, 'must be an image reference: [registry[:port]/]repository[:tag][@algorithm:digest], e.g. redis:7.2.4 or registry.example.com/redis@sha256:<64 hex digits>'],
  ])('an image with %s', (_case, image, reason) => {
    const [issue] = validateRedisInstance(manifest({ image })).issues;
    expect(issue.path).toBe('spec.image');
    expect(issue.message).toMatch(new RegExp(`^is not a valid image reference \\(${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\), got "`));
  });

  it.each([
    'redis', 'redis:7.2.4-alpine', 'docker.io/library/redis:7', 'localhost:5000/redis', 'registry.example.com:443/team/redis_cache:v1.2',
    `redis@sha256:${SHA}`, `redis:7@sha256:${SHA}`, `[::1]:5000/redis:7`, `quay.io/a--b/c__d.e:x`,
  ])('accepts the image %s', (image) => {
    expect(imageReferenceIssues(image)).toEqual([]);
    expect(validateRedisInstance(manifest({ image })).ok).toBe(true);
  });

  it.each([
    ['..', "must not be '..'"],
    ['.', "must not be '.'"],
    ['..password', "must not start with '..'"],
  ])('auth.secretKey %s is not a valid Secret key', (secretKey, reason) => {
    expect(issues(manifest({ auth: { secretName: 'pw', secretKey } }))).toEqual([
      `spec.auth.secretKey: is not a valid Secret key (${reason}), got ${JSON.stringify(secretKey)}`,
    ]);
  });

  it('the rules as functions, with the apiserver\'s messages', () => {
    expect(isQualifiedName('app.kubernetes.io/name')).toEqual([]);
    expect(isConfigMapKey('tls.crt')).toEqual([]);
    expect(isConfigMapKey('k'.repeat(254))).toEqual(['must be no more than 253 characters']);
    expect(containerResourceNameIssues('nvidia.com/gpu')).toEqual([]);
    expect(containerResourceNameIssues('hugepages-1Gi')).toEqual([]);
  });
});
