import { parseQuantity } from '../api/quantity';
import type { ResourceRequirements } from '../api/types';

/**
 * `maxmemory` sized from the container's memory limit.
 *
 * Redis needs memory beyond its dataset (`maxmemory` counts only the dataset and its
 * overhead): a fork for BGSAVE or an AOF rewrite copies every page the primary writes
 * while the child runs (copy-on-write), the replication backlog and each replica's output
 * buffer (up to 256 MB hard limit by default) and the AOF rewrite buffer come on top, and
 * so do jemalloc fragmentation and the process itself. A container that reaches its limit
 * is OOM-killed, which loses every write since the last fsync and restarts with a full
 * reload. 70 % leaves 30 % for all of that: enough for a write-heavy fork of a few
 * seconds and a replica's full sync at the sizes this is used for; users whose workload
 * needs more (or less) headroom set `maxmemory` themselves.
 */
export const MAXMEMORY_LIMIT_PERCENT = 70n;

/** Bytes per unit in redis.conf memory values (Redis's memtoull: case-insensitive). */
const REDIS_MEMORY_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n, b: 1n, k: 1000n, kb: 1024n, m: 1000n ** 2n, mb: 1024n ** 2n, g: 1000n ** 3n, gb: 1024n ** 3n,
};

/**
 * A redis.conf memory value (`100mb`, `1gb`, `1000000`, optionally in quotes) in bytes, as
 * Redis reads it; undefined when Redis would refuse it.
 */
export function redisMemoryBytes(value: string): bigint | undefined {
  const unquoted = /^"(.*)"$|^'(.*)'$/s.exec(value);
  const text = unquoted ? (unquoted[1] ?? unquoted[2]) : value;
  const m = /^(\d+)([a-z]*)$/i.exec(text);
  const unit = m ? REDIS_MEMORY_UNITS[m[2].toLowerCase()] : undefined;
  return m && unit !== undefined ? BigInt(m[1]) * unit : undefined;
}

/** The memory limit of the redis container in bytes (fractions of a byte rounded down), if set. */
export function memoryLimitBytes(resources: ResourceRequirements | undefined): bigint | undefined {
  const limit = resources?.limits?.memory;
  const nanos = limit === undefined ? undefined : parseQuantity(limit);
  return nanos === undefined ? undefined : nanos / 1_000_000_000n;
}

/** `maxmemory` in bytes for a memory limit: MAXMEMORY_LIMIT_PERCENT of it, rounded down. */
export function maxmemoryForLimit(limitBytes: bigint): bigint {
  return (limitBytes * MAXMEMORY_LIMIT_PERCENT) / 100n;
}

/**
 * The `maxmemory` directive redis-gitops adds: the fraction of the memory limit when one
 * is set and the user's config has no `maxmemory`; nothing otherwise.
 */
export function derivedMemoryConfig(spec: {
  readonly resources?: ResourceRequirements; readonly config: Readonly<Record<string, string>>;
}): Record<string, string> {
  if (spec.config.maxmemory !== undefined) return {};
  const limit = memoryLimitBytes(spec.resources);
  return limit === undefined || limit <= 0n ? {} : { maxmemory: String(maxmemoryForLimit(limit)) };
}

/** A problem with a field, for validate.ts to report with the object and file. */
export interface MemoryIssue {
  readonly path: ReadonlyArray<string>;
  readonly message: string;
}

/** `maxmemory` that Redis would refuse, or above the memory limit (the pod would be OOM-killed before Redis evicts). */
export function maxmemoryIssues(spec: any): MemoryIssue[] {
  const value = spec?.config?.maxmemory;
  if (typeof value !== 'string') return [];
  const path = ['spec', 'config', 'maxmemory'];
  const bytes = redisMemoryBytes(value);
  if (bytes === undefined) {
    return [{ path, message: `must be a Redis memory value (a whole number of bytes, or with a unit b, k, kb, m, mb, g, gb such as "512mb"), got ${JSON.stringify(value)}` }];
  }
  const limitValue = spec?.resources?.limits?.memory;
  const limit = memoryLimitBytes(spec?.resources);
  if (limit !== undefined && bytes > limit) {
    return [{
      path,
      message: `${value} (${bytes} bytes) is above the memory limit spec.resources.limits.memory ${limitValue} (${limit} bytes): `
        + 'the container would be OOM-killed before Redis evicts; lower it, or remove it to get '
        + `${MAXMEMORY_LIMIT_PERCENT}% of the limit (${maxmemoryForLimit(limit)} bytes)`,
    }];
  }
  return [];
}

/**
 * Warnings (not errors): a replicated instance with neither a memory limit nor `maxmemory`
 * grows until the node runs out of memory, and a replica's full sync doubles the primary's
 * needs at the worst moment.
 */
export function memoryWarnings(spec: {
  readonly replicas: number; readonly resources?: ResourceRequirements; readonly config: Readonly<Record<string, string>>;
}): MemoryIssue[] {
  if (spec.replicas <= 1 || spec.config.maxmemory !== undefined || memoryLimitBytes(spec.resources) !== undefined) return [];
  return [{
    path: ['spec', 'resources', 'limits', 'memory'],
    message: `a replicated instance (replicas: ${spec.replicas}) has no memory limit and no config.maxmemory: Redis grows without bound `
      + `and a replica's full sync needs extra memory on the primary; set a memory limit (maxmemory becomes ${MAXMEMORY_LIMIT_PERCENT}% of it) or maxmemory`,
  }];
}
