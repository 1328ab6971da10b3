import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Path of the CRD manifest, the single source of truth for the RedisInstance API. */
export const CRD_FILE = join(__dirname, 'redisinstance.crd.yaml');

/** The CustomResourceDefinition for `redisinstances.redis.github.com`, as a plain object. */
export const redisInstanceCrd: Record<string, any> = deepFreeze(parse(readFileSync(CRD_FILE, 'utf8')));

/** The openAPIV3Schema of the served version. */
export const redisInstanceSchema: Record<string, any> = redisInstanceCrd.spec.versions[0].schema.openAPIV3Schema;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
