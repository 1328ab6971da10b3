/**
 * Failover figures with real processes (test/support/netns; needs root for `ip netns`),
 * Sentinel defaults (down-after-milliseconds 5000): per run, a fresh 3-pod instance,
 * then
 * - kill -9 of the primary while two writers confirm each write with `WAIT 1 1000`, one
 *   through a Sentinel-aware client, one through `<name>-primary` (the pods' role agents,
 *   with their default intervals, keep the role labels on a test API server; the client
 *   writes, as kube-proxy routes, to the Ready pods the Service selects,
 *   test/support/netns/service.ts): time from the kill to the first successful write of
 *   each, and how many acknowledged writes are missing afterwards (must be 0);
 * - a rolling restart in StatefulSet order (highest ordinal first, preStop on) under plain
 *   SETs: the longest gap between two successful writes, the failed writes, and how many
 *   accepted writes are missing afterwards (must be 0).
 */
import { cleanupClusters, createCluster } from '../support/netns/cluster';
import { connectPodApi } from '../support/netns/kube';
import { ServiceClient } from '../support/netns/service';
import { failoverInstance, failoverPodSource } from '../support/netns/source';
import { countPresent, eventually, killPrimaryUnderWrites, masters, settled, startWriter } from '../support/netns/workload';

interface Run {
  killToWriteMs: number; killToServiceWriteMs: number; lost: number; acknowledged: number; rollingGapMs: number; rollingFailed: number;
  rollingErrors: Readonly<Record<string, number>>;
}

async function oneRun(): Promise<Run> {
  const cluster = createCluster(failoverPodSource(failoverInstance({ image: 'redis:7.0.15', replicas: 3, config: {} }), { roleAgent: true }));
  try {
    const api = await connectPodApi(cluster);
    await cluster.startAll(60_000);
    // The role agents label every pod before the kill (the first one is primary).
    await eventually('the first role labels', async () => api.roleLabels().every((l) => l !== undefined) && api.endpoints().length === 1, 60_000);
    const service = new ServiceClient(api);
    const { killed: first, report: kill, serviceReport, primary: promoted, lost } = await killPrimaryUnderWrites(cluster, { writes: 200, prefix: 'kill', timeoutMs: 60_000, service });
    service.disconnect();
    let primary = promoted;
    await first.start();
    await settled(cluster, 60_000);

    const writer = startWriter(cluster.sentinelClient(), 'roll', { waitMs: null });
    await eventually('writes before the rollout', async () => writer.acknowledgedCount >= 200);
    for (const pod of [...cluster.pods].reverse()) {
      await pod.stop();
      await pod.start();
      await settled(cluster, 60_000);
    }
    const after = writer.acknowledgedCount;
    await eventually('writes after the rollout', async () => writer.acknowledgedCount >= after + 200);
    const roll = await writer.stop();
    primary = await settled(cluster, 60_000);
    const rollLost = roll.acknowledged.length - await countPresent(cluster, primary, roll.acknowledged);
    if ((await masters(cluster)).length !== 1) throw new Error('more than one primary after the rollout');
    return {
      killToWriteMs: kill.firstWriteAfterMarkMs ?? NaN,
      killToServiceWriteMs: serviceReport?.firstWriteAfterMarkMs ?? NaN,
      lost: lost + rollLost,
      acknowledged: kill.acknowledged.length + roll.acknowledged.length,
      rollingGapMs: roll.longestGapMs,
      rollingFailed: roll.failed,
      rollingErrors: roll.errors,
    };
  } finally {
    await cleanupClusters();
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

export async function benchFailover(runs = Number(process.env.BENCH_FAILOVER_RUNS ?? 5)): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('failover: skipped (ip netns needs root)');
    return;
  }
  console.log(`failover: 3 pods, Sentinel defaults (down-after 5000 ms), ${runs} runs`);
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun();
    results.push(r);
    console.log(`  run ${i + 1}: kill -9 to first write ${r.killToWriteMs} ms (Sentinel), ${r.killToServiceWriteMs} ms (<name>-primary); rolling restart: longest gap ${r.rollingGapMs} ms, `
      + `${r.rollingFailed} failed writes${r.rollingFailed ? ` (${JSON.stringify(r.rollingErrors)})` : ''}; `
      + `acknowledged or accepted writes lost ${r.lost} of ${r.acknowledged}`);
  }
  const row = (label: string, xs: number[], unit: string) =>
    console.log(`  ${label.padEnd(46)} median ${String(median(xs)).padStart(6)} ${unit}   max ${String(Math.max(...xs)).padStart(6)} ${unit}`);
  row('kill -9 of the primary to first write (Sentinel)', results.map((r) => r.killToWriteMs), 'ms');
  row('the same through <name>-primary', results.map((r) => r.killToServiceWriteMs), 'ms');
  row('longest write gap, rolling restart', results.map((r) => r.rollingGapMs), 'ms');
  row('failed writes, rolling restart', results.map((r) => r.rollingFailed), '  ');
  row('acknowledged writes lost', results.map((r) => r.lost), '  ');
}

if (require.main === module) {
  benchFailover().catch((e) => { console.error(e); process.exitCode = 1; });
}
