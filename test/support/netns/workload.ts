import type Redis from 'ioredis';
import { SENTINEL_PORT } from '../../../src/render/sentinel';
import type { FailoverCluster } from './cluster';
import type { NetnsPod } from './pod';

/** Poll `fn` until it returns true, or fail after `timeoutMs` with `what`. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000, logs?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${logs ? `\n${logs()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `INFO <section>` of one pod as a map of fields. */
export async function podInfo(cluster: FailoverCluster, pod: NetnsPod, section: string): Promise<Record<string, string>> {
  const client = await cluster.direct(pod);
  try {
    const text = await client.info(section);
    return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':') && !l.startsWith('#')).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1)];
    }));
  } finally {
    client.disconnect();
  }
}

/** The ordinals whose Redis reports `role:master`. */
export async function masters(cluster: FailoverCluster): Promise<number[]> {
  return [...(await cluster.roles()).entries()].filter(([, role]) => role === 'master').map(([o]) => o);
}

/**
 * Until exactly one pod is primary, every other running pod is its replica with the link
 * up and promotable (replica-priority above 0), and every running Sentinel names that primary and knows every other running replica
 * and Sentinel (a Sentinel reconfigures only the replicas it knows of when it fails over).
 */
export async function settled(cluster: FailoverCluster, timeoutMs = 30_000): Promise<NetnsPod> {
  let primary: NetnsPod | undefined;
  await eventually('one primary, every replica linked to it', async () => {
    const found = await masters(cluster);
    if (found.length !== 1) return false;
    primary = cluster.pods[found[0]];
    for (const pod of cluster.pods) {
      if (pod === primary || !pod.alive) continue;
      const info = await podInfo(cluster, pod, 'replication');
      if (info.master_host !== primary.dnsName || info.master_link_status !== 'up') return false;
      // Promotable: the guard has lifted replica-priority 0 after the first sync.
      if (info.slave_priority === '0') return false;
    }
    const running = cluster.pods.filter((p) => p.alive);
    for (const pod of running) {
      const sentinel = await cluster.direct(pod, SENTINEL_PORT);
      try {
        const named = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', cluster.instance)) as string[] | null;
        if (named?.[0] !== primary.dnsName) return false;
        const replicas = (await sentinel.call('SENTINEL', 'replicas', cluster.instance)) as string[][];
        const sentinels = (await sentinel.call('SENTINEL', 'sentinels', cluster.instance)) as string[][];
        const names = (rows: string[][]) => rows.map((r) => r[r.indexOf('ip') + 1]);
        const others = running.filter((p) => p !== primary).map((p) => p.dnsName);
        if (!others.every((n) => names(replicas).includes(n))) return false;
        if (!running.filter((p) => p !== pod).every((p) => names(sentinels).includes(p.dnsName))) return false;
      } finally {
        sentinel.disconnect();
      }
    }
    return true;
  }, timeoutMs, () => cluster.quietLogs());
  return primary!;
}

/** The keys `prefix:0..n-1` written through `client`, each confirmed by one replica (WAIT). */
export async function writeConfirmed(client: Redis, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await client.set(`${prefix}:${i}`, String(i));
  const acked = await client.wait(1, 5_000);
  if (acked < 1) throw new Error(`WAIT 1 acknowledged by ${acked} replicas`);
}

/** How many of `keys` the pod's Redis holds. */
export async function countPresent(cluster: FailoverCluster, pod: NetnsPod, keys: readonly string[]): Promise<number> {
  const client = await cluster.direct(pod);
  try {
    let present = 0;
    for (let i = 0; i < keys.length; i += 500) present += await client.exists(...keys.slice(i, i + 500));
    return present;
  } finally {
    client.disconnect();
  }
}

export interface WriterReport {
  /** Keys whose SET succeeded (and, with WAIT, whose `WAIT 1` reported a replica). */
  readonly acknowledged: string[];
  /** Writes that failed (error or timeout) or were not confirmed by a replica. */
  readonly failed: number;
  /** The distinct errors of the failed writes, with their count. */
  readonly errors: Readonly<Record<string, number>>;
  /** The longest time between two successful writes, ms. */
  readonly longestGapMs: number;
  /** From `mark()` (call it right after the kill) to the first success of a write sent after it, ms. */
  readonly firstWriteAfterMarkMs?: number;
}

/**
 * A writer that runs until stopped: SET `<prefix>:<n>` through a Sentinel-aware client, one
 * at a time, then (unless `waitMs` is null) `WAIT 1 <waitMs>`: a write is acknowledged when SET
 * succeeded and, with WAIT, a replica has it. It counts what was acknowledged, what failed
 * and the longest gap between successes; `mark()` records a moment (the kill) to measure from.
 */
export function startWriter(client: Redis, prefix: string, options: { readonly waitMs?: number | null } = {}) {
  // null: plain SETs; the default confirms each write with WAIT 1 1000.
  const waitMs = options.waitMs === undefined ? 1_000 : options.waitMs;
  const acknowledged: string[] = [];
  let failed = 0;
  const errors: Record<string, number> = {};
  let longestGapMs = 0;
  let lastOk = Date.now();
  let markMs: number | undefined;
  let firstWriteAfterMarkMs: number | undefined;
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const key = `${prefix}:${n}`;
      const startedAt = Date.now();
      try {
        await client.set(key, String(n));
        const replicas = waitMs === null ? 1 : await client.wait(1, waitMs);
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - lastOk);
        lastOk = now;
        // Only a write sent after the mark counts: one in flight may complete just after it.
        if (markMs !== undefined && firstWriteAfterMarkMs === undefined && startedAt >= markMs) firstWriteAfterMarkMs = now - markMs;
        if (replicas >= 1) acknowledged.push(key); else failed += 1;
      } catch (e) {
        failed += 1;
        const message = (e as Error).message;
        errors[message] = (errors[message] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  return {
    mark: () => { markMs = Date.now(); firstWriteAfterMarkMs = undefined; },
    get acknowledgedCount() { return acknowledged.length; },
    stop: async (): Promise<WriterReport> => {
      running = false;
      await done;
      return { acknowledged, failed, errors, longestGapMs, firstWriteAfterMarkMs };
    },
  };
}

/**
 * Kill -9 the settled primary while a `WAIT 1` writer runs through Sentinel: `writes`
 * acknowledged before the kill and as many after it, then the writer's report, the new
 * primary, and how many acknowledged writes it lacks.
 */
export async function killPrimaryUnderWrites(
  cluster: FailoverCluster, options: { readonly writes: number; readonly prefix: string; readonly timeoutMs: number },
): Promise<{ killed: NetnsPod; report: WriterReport; primary: NetnsPod; lost: number }> {
  const killed = await settled(cluster, options.timeoutMs);
  const writer = startWriter(cluster.sentinelClient(), options.prefix);
  await eventually('acknowledged writes before the kill', async () => writer.acknowledgedCount >= options.writes);
  await killed.kill();
  writer.mark();
  const before = writer.acknowledgedCount;
  await eventually('acknowledged writes after the failover', async () => writer.acknowledgedCount >= before + options.writes,
    options.timeoutMs, () => cluster.quietLogs());
  const report = await writer.stop();
  const primary = await settled(cluster, options.timeoutMs);
  const lost = report.acknowledged.length - await countPresent(cluster, primary, report.acknowledged);
  return { killed, report, primary, lost };
}
