import { MAX_QUANTITY_LENGTH, isQuantity, parseQuantity } from './quantity';
import type { FieldPath } from './validate';

/**
 * Kubernetes' own rules for what we render, so that synth refuses what the apiserver or
 * the kubelet would refuse later. Each follows the upstream check of the same name
 * (k8s.io/apimachinery/pkg/util/validation, k8s.io/kubernetes/pkg/apis/core/validation,
 * github.com/distribution/reference) and returns its messages; an empty list means valid.
 */

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const QUALIFIED_NAME_MAX_LENGTH = 63;
export const LABEL_VALUE_MAX_LENGTH = 63;
/** Sum of the lengths of all annotation keys and values (apimachinery's TotalAnnotationSizeLimitB). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** IsDNS1123Subdomain. */
export function isDns1123Subdomain(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) out.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters`);
  if (!DNS1123_SUBDOMAIN.test(value)) out.push("a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
  return out;
}

/** IsQualifiedName: label keys, annotation keys (lower-cased first), resource names. */
export function isQualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const out: string[] = [];
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else out.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX_LENGTH) out.push(`name part must be no more than ${QUALIFIED_NAME_MAX_LENGTH} characters`);
  if (name.length > 0 && !QUALIFIED_NAME_PART.test(name)) out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  return out;
}

/** IsValidLabelValue. */
export function isValidLabelValue(value: string): string[] {
  const out: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) out.push(`must be no more than ${LABEL_VALUE_MAX_LENGTH} characters`);
  if (!LABEL_VALUE.test(value)) out.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  return out;
}

/** IsConfigMapKey: the keys of a Secret's data, so also `auth.secretKey`. */
export function isConfigMapKey(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) out.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters`);
  if (!CONFIG_MAP_KEY.test(value)) out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
  if (value === '.') out.push("must not be '.'");
  else if (value === '..') out.push("must not be '..'");
  else if (value.startsWith('..')) out.push("must not start with '..'");
  return out;
}

/** ValidateAnnotationsSize: the total size in bytes of keys and values. */
export function annotationsSize(annotations: Readonly<Record<string, unknown>>): number {
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) total += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  return total;
}

// Container resources (pkg/apis/core/validation, pkg/apis/core/v1/helper).

const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
const HUGE_PAGES_PREFIX = 'hugepages-';

const isHugePages = (name: string) => name.startsWith(HUGE_PAGES_PREFIX);
/** IsNativeResource: no domain, or a kubernetes.io domain. */
const isNative = (name: string) => !name.includes('/') || name.includes('kubernetes.io/');
/** IsExtendedResourceName: domain-prefixed, not native, and valid as a quota name. */
const isExtended = (name: string) => !isNative(name) && !name.startsWith('requests.') && isQualifiedName(`requests.${name}`).length === 0;
/** isOvercommitAllowed: requests below limits are allowed only for native resources other than huge pages. */
const overcommitAllowed = (name: string) => isNative(name) && !isHugePages(name);

/** validateContainerResourceName. */
export function containerResourceNameIssues(name: string): string[] {
  const qualified = isQualifiedName(name);
  if (qualified.length > 0) return qualified;
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.includes(name) && !isHugePages(name)) {
      return ['must be a standard resource for containers (cpu, memory, ephemeral-storage, hugepages-<size>) or a domain-prefixed extended resource such as example.com/gpu'];
    }
  } else if (!isNative(name) && !isExtended(name)) {
    return ["doesn't follow extended resource name standard"];
  }
  return [];
}

type Issue = { path: FieldPath; message: string };

/**
 * ValidateResourceRequirements for the redis container: resource names; extended
 * resources and huge pages cannot be overcommitted (a request needs a limit, and equals
 * it); extended resources are whole numbers; huge pages are whole pages and need cpu or
 * memory. Request above limit and negative amounts are checked with the schema.
 */
export function resourceRequirementsIssues(resources: unknown): Issue[] {
  if (!resources || typeof resources !== 'object') return [];
  const { limits = {}, requests = {} } = resources as { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  const out: Issue[] = [];
  const amounts = (list: Record<string, unknown>) => (list && typeof list === 'object' ? Object.entries(list) : []);
  let hugePages = false;
  let cpuOrMemory = false;
  for (const [kind, list] of [['limits', limits], ['requests', requests]] as const) {
    for (const [name, value] of amounts(list)) {
      const path = ['spec', 'resources', kind, name];
      const nameIssues = containerResourceNameIssues(name);
      if (nameIssues.length > 0) {
        out.push({ path, message: `is not a valid resource name: ${nameIssues.join('; ')}` });
        continue;
      }
      if (name === 'cpu' || name === 'memory') cpuOrMemory = true;
      if (!isQuantity(value)) continue;
      const amount = parseQuantity(value);
      if (amount === undefined) {
        out.push({ path, message: `is out of range: at most ${MAX_QUANTITY_LENGTH} characters and exponents up to e64` });
        continue;
      }
      if (isExtended(name) && amount % 1_000_000_000n !== 0n) out.push({ path, message: 'must be an integer' });
      if (isHugePages(name)) {
        hugePages = true;
        const page = parseQuantity(name.slice(HUGE_PAGES_PREFIX.length));
        if (page === undefined || page <= 0n || page % 1_000_000_000n !== 0n) out.push({ path, message: `is not a valid huge page size: ${name}` });
        else if (amount % page !== 0n) out.push({ path, message: `must be a whole multiple of the page size of ${name}` });
      }
    }
  }
  for (const [name, request] of amounts(requests)) {
    if (containerResourceNameIssues(name).length > 0 || overcommitAllowed(name)) continue;
    const limit = (limits as Record<string, unknown>)[name];
    if (limit === undefined) {
      out.push({ path: ['spec', 'resources', 'limits', name], message: `a limit must be set: ${name} cannot be overcommitted, so its request needs a limit equal to it` });
    } else if (isQuantity(limit) && isQuantity(request) && parseQuantity(limit) !== parseQuantity(request)) {
      out.push({ path: ['spec', 'resources', 'requests', name], message: `must be equal to the ${name} limit: ${name} cannot be overcommitted` });
    }
  }
  if (hugePages && !cpuOrMemory) out.push({ path: ['spec', 'resources', 'limits'], message: 'huge pages require a cpu or memory request or limit' });
  return out;
}

// Image references (github.com/distribution/reference, which the kubelet parses images with).

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
/** Registered digest algorithms and the length of their lower-case hex encoding (opencontainers/go-digest). */
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
export const IMAGE_NAME_MAX_LENGTH = 255;

/** What the kubelet's image reference parser refuses in `image`. */
export function imageReferenceIssues(image: string): string[] {
  const m = REFERENCE.exec(image);
  if (!m) {
    if (REFERENCE.test(image.toLowerCase())) return ['repository name must be lowercase'];
    const at = image.lastIndexOf('@');
    if (at > 0 && REFERENCE.test(image.slice(0, at))) return ['invalid digest: must be algorithm:hex, e.g. sha256:<64 lower-case hex digits>'];
    return ['must be an image reference: [registry[:port]/]repository[:tag][@algorithm:digest], e.g. redis:7.2.4 or registry.example.com/redis@sha256:<64 hex digits>'];
  }
  const [, name, , digest] = m;
  if (name.length > IMAGE_NAME_MAX_LENGTH) return [`repository name must not be more than ${IMAGE_NAME_MAX_LENGTH} characters`];
  if (digest) {
    const [algorithm, hex] = digest.split(':');
    const length = DIGEST_LENGTHS[algorithm];
    if (length === undefined) return [`unsupported digest algorithm ${JSON.stringify(algorithm.slice(0, 20))} (sha256, sha384 or sha512)`];
    if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) return [`invalid ${algorithm} digest: must be ${length} lower-case hex digits`];
  }
  return [];
}
