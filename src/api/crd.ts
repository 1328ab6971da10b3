import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

/** Path of the CRD manifest, the single source of truth for the RedisInstance API. */
export const CRD_FILE = join(__dirname, 'redisinstance.crd.yaml');

/**
 * The CustomResourceDefinition for `redisinstances.redis.github.com`, as a plain object.
 * Parsed with js-yaml (the Kubernetes client's own YAML parser): the same object as with
 * `yaml` in a fifth of the time, and the reconciler never loads `yaml` (synth does).
 */
export const redisInstanceCrd: Record<string, any> = deepFreeze(load(readFileSync(CRD_FILE, 'utf8')) as Record<string, any>);

/** The openAPIV3Schema of the served version. */
export const redisInstanceSchema: Record<string, any> = redisInstanceCrd.spec.versions[0].schema.openAPIV3Schema;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
