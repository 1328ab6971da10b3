import Redis from 'ioredis';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
 * `sentinelViews`: also until every Sentinel's own last INFO of every replica reported it a
 * replica of that primary (`role-reported`, `master-host`). Sentinel INFOs a replica every
 * 10 s: a node demoted since then is, to it, still a replica that claims to be master, and if
 * a forced failover promotes that node, this Sentinel converts it back at once
 * (`+convert-to-slave`) and the primary flaps. Wait for this before a SENTINEL FAILOVER
 * that follows another failover.
 */
export async function settled(cluster: FailoverCluster, timeoutMs = 30_000, options: { readonly sentinelViews?: boolean } = {}): Promise<NetnsPod> {
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
        if (options.sentinelViews) {
          const field = (r: string[], f: string) => r[r.indexOf(f) + 1];
          for (const r of replicas.filter((row) => others.includes(field(row, 'ip')))) {
            if (field(r, 'role-reported') !== 'slave' || field(r, 'master-host') !== primary.dnsName || field(r, 'flags') !== 'slave') return false;
          }
        }
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

/** What a writer sends: an ioredis client (Sentinel-aware or not), or a ServiceClient (`<name>-primary`). */
export interface WriteTarget {
  set(key: string, value: string): Promise<unknown>;
  wait(replicas: number, timeoutMs: number): Promise<number>;
}

/**
 * A writer that runs until stopped: SET `<prefix>:<n>` through a Sentinel-aware client (or
 * any WriteTarget), one
 * at a time, then (unless `waitMs` is null) `WAIT 1 <waitMs>`: a write is acknowledged when SET
 * succeeded and, with WAIT, a replica has it. It counts what was acknowledged, what failed
 * and the longest gap between successes; `mark()` records a moment (the kill) to measure from.
 */
export function startWriter(client: WriteTarget, prefix: string, options: { readonly waitMs?: number | null } = {}) {
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
 * Kill -9 the settled primary while a `WAIT 1` writer runs through Sentinel (and, with
 * `service`, a second one through that target, `<name>-primary`): `writes` acknowledged
 * before the kill and as many after it by each, then the writers' reports, the new primary,
 * and how many acknowledged writes it lacks (both writers together).
 */
export async function killPrimaryUnderWrites(
  cluster: FailoverCluster, options: { readonly writes: number; readonly prefix: string; readonly timeoutMs: number; readonly service?: WriteTarget },
): Promise<{ killed: NetnsPod; report: WriterReport; serviceReport?: WriterReport; primary: NetnsPod; lost: number }> {
  const killed = await settled(cluster, options.timeoutMs);
  const writers = [startWriter(cluster.sentinelClient(), options.prefix), ...(options.service ? [startWriter(options.service, `${options.prefix}-svc`)] : [])];
  await eventually('acknowledged writes before the kill', async () => writers.every((w) => w.acknowledgedCount >= options.writes), options.timeoutMs);
  await killed.kill();
  for (const w of writers) w.mark();
  const before = writers.map((w) => w.acknowledgedCount);
  await eventually('acknowledged writes after the failover', async () => writers.every((w, i) => w.acknowledgedCount >= before[i] + options.writes),
    options.timeoutMs, () => cluster.quietLogs());
  const [report, serviceReport] = await Promise.all(writers.map((w) => w.stop()));
  const primary = await settled(cluster, options.timeoutMs);
  const acknowledged = [...report.acknowledged, ...(serviceReport?.acknowledged ?? [])];
  const lost = acknowledged.length - await countPresent(cluster, primary, acknowledged);
  return { killed, report, ...(serviceReport ? { serviceReport } : {}), primary, lost };
}

/**
 * Samples every running pod's DBSIZE every `intervalMs` until stopped, and records each time
 * a node holds fewer keys than at its previous sample. With writers that only add keys, a
 * drop means the node replaced its data with a smaller dataset (a full sync from an empty or
 * behind primary, or a start on less data). LOADING and unreachable nodes are skipped.
 */
export function watchKeyCounts(cluster: FailoverCluster, intervalMs = 100) {
  const last = new Map<number, number>();
  const drops: string[] = [];
  let samples = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      for (const pod of cluster.pods) {
        if (!pod.alive) continue;
        let client: Redis | undefined;
        try {
          client = await cluster.direct(pod);
          const n = await client.dbsize();
          const before = last.get(pod.ordinal);
          if (before !== undefined && n < before) drops.push(`${pod.name}: ${before} -> ${n} keys`);
          last.set(pod.ordinal, n);
          samples += 1;
        } catch { /* loading, starting, stopped */ } finally { client?.disconnect(); }
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => { running = false; await done; return { drops, samples, last: Object.fromEntries(last) }; },
  };
}

/**
 * kill -9 of the primary under a writer through Sentinel until 20 writes are acknowledged,
 * then one primary, another pod; the old primary comes back as a new pod (new IP, Sentinel
 * state gone) and the cluster settles on the promoted one again. Throws when it does not.
 */
export async function failOverAndRejoin(cluster: FailoverCluster, primary: NetnsPod, client: WriteTarget, what: string): Promise<{ promoted: NetnsPod; acknowledged: string[] }> {
  await primary.kill();
  const writer = startWriter(client, 'during');
  await eventually(what, async () => writer.acknowledgedCount >= 20, 30_000, () => cluster.quietLogs());
  const report = await writer.stop();
  const promoted = await settled(cluster);
  if (promoted === primary) throw new Error(`${primary.name} is still the primary after its kill`);
  const primaries = await masters(cluster);
  if (primaries.join() !== String(promoted.ordinal)) throw new Error(`primaries after the failover: ${primaries.join(', ')}`);
  await primary.start({ newIp: true });
  const again = await settled(cluster);
  if (again !== promoted) throw new Error(`after ${primary.name} came back the primary is ${again.name}, not ${promoted.name}`);
  return { promoted, acknowledged: report.acknowledged };
}

/** `n` key names: `<prefix>:0` .. `<prefix>:<n-1>`. */
export const keys = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

/** Every file under `dir` with its bytes (hex): a data directory's state, to compare before and after. */
export function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => [join(e.parentPath, e.name).slice(dir.length), readFileSync(join(e.parentPath, e.name)).toString('hex')]));
}
