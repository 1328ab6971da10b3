/**
 * Reconciler bench, on the bin compiled by `npm run build` (lib/, what the image runs):
 * - cold start: `reconcile` against an empty cluster beside `node -e 0` and a bare
 *   `require('@kubernetes/client-node')`, interleaved, median of several runs;
 * - scale: a fleet of N RedisInstances (mixed 1/2/3 replicas) already in sync, one pass of
 *   the bin as its own process, then a pass where 10% have a new image. Requests by verb,
 *   writes, wall time, the reconciler's CPU and peak RSS (from its own -v line), and the
 *   test API server's CPU apart (it runs in this process, the reconciler in another).
 * Figures only; the tests assert behaviour. BENCH_BIN=<lib/src/cli/bin.js of another build>
 * measures that build on the same fleet (a side-by-side comparison in one run);
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each reconciler process there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, KIND } from '../../src/api/types';
import { DEFAULT_RECONCILER_RESOURCES, RECONCILER_PROCESS_ENV, reconcilerNodeOptions } from '../../src/constructs/reconciler';
import { desiredFor } from '../../src/reconcile/desired';
import { KubeClient, LIST_PAGE_SIZE, loadKubeConfig } from '../../src/reconcile/kube';
import { runPass } from '../../src/reconcile/run';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

const ROOT = join(__dirname, '..', '..');
const BIN = process.env.BENCH_BIN ?? join(ROOT, 'lib', 'src', 'cli', 'bin.js');

function build(): void {
  const npm = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm run build failed: ${npm.stdout}${npm.stderr}`);
}

interface Child { status: number | null; stdout: string; stderr: string; wallSeconds: number }

/** A child process, asynchronously (the test API server lives in this one and must answer). */
function runChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr, wallSeconds: Number(process.hrtime.bigint() - started) / 1e9 })));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

export interface ColdStart { nodeSeconds: number; clientNodeSeconds: number; reconcileSeconds: number; goalSeconds: number }

/** Cold start of `reconcile -A` against an empty cluster, beside node itself and client-node's import. */
export async function benchColdStart(runs = 9): Promise<ColdStart> {
  const server = await startTestApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'redis-gitops-bench-'));
  try {
    const kubeconfig = server.writeKubeconfig(dir);
    const subjects: Record<string, string[]> = {
      node: ['-e', '0'],
      clientNode: ['-e', "require('@kubernetes/client-node')"],
      reconcile: [BIN, 'reconcile', '-A', '--kubeconfig', kubeconfig],
    };
    const times: Record<string, number[]> = { node: [], clientNode: [], reconcile: [] };
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of Object.entries(subjects)) {
        const child = await runChild(args);
        if (child.status !== 0) throw new Error(`${name} exited ${child.status}: ${child.stderr}`);
        times[name].push(child.wallSeconds);
      }
    }
    const nodeSeconds = median(times.node);
    const clientNodeSeconds = median(times.clientNode);
    const reconcileSeconds = median(times.reconcile);
    // The goal: 1.5 × node's own start plus what importing client-node costs.
    const goalSeconds = 1.5 * nodeSeconds + (clientNodeSeconds - nodeSeconds);
    console.log(`cold start, median of ${runs} (wall):`);
    console.log(`  node -e 0                                      ${(nodeSeconds * 1000).toFixed(0).padStart(5)} ms`);
    console.log(`  node -e "require('@kubernetes/client-node')"   ${(clientNodeSeconds * 1000).toFixed(0).padStart(5)} ms`);
    console.log(`  redis-gitops reconcile -A (empty cluster)      ${(reconcileSeconds * 1000).toFixed(0).padStart(5)} ms`
      + `  (goal ≤ 1.5 × node + client-node import = ${(goalSeconds * 1000).toFixed(0)} ms: ${reconcileSeconds <= goalSeconds ? 'met' : 'NOT met'})`);
    return { nodeSeconds, clientNodeSeconds, reconcileSeconds, goalSeconds };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PassFigures {
  readonly requests: Record<string, number>;
  readonly total: number;
  readonly lists: number;
  readonly writes: number;
  readonly wallSeconds: number;
  /** CPU time of the reconciler process (user + system), from its -v line. */
  readonly cpuSeconds: number;
  /** CPU time of the test API server (this process) during the pass. */
  readonly serverCpuSeconds: number;
  readonly peakRssMiB: number;
  readonly acted: number;
}

export interface ReconcileBenchFigures {
  readonly instances: number;
  readonly inSync: PassFigures;
  readonly tenPercent: PassFigures;
}

const namespaceOf = (i: number, count: number) => `team-${i % Math.max(1, Math.round(count / 100))}`;

/**
 * The fleet, in sync: each RedisInstance and what the reconciler would create for it are
 * written into the store directly (the same desiredFor), the StatefulSet controller
 * settles, then two in-process passes write the statuses and the fingerprints. Going through HTTP for 60,000
 * creates would only measure the setup.
 */
export async function fleetInSync(server: TestApiServer, kubeconfig: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const instance = server.create({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: `redis-${i}`, namespace: namespaceOf(i, count) },
      spec: {
        image: 'redis:7.2.4-alpine',
        replicas: 1 + (i % 3),
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        storage: { size: `${1 + (i % 5)}Gi` },
        config: { 'maxmemory-policy': 'allkeys-lru', hz: String(10 + (i % 10)) },
      },
    });
    const desired = desiredFor(instance);
    if (!desired.ok) throw new Error(`bench fleet: ${JSON.stringify(desired.issues)}`);
    const o = desired.objects;
    for (const child of [o.configMap, o.service, o.primaryService, o.podDisruptionBudget, o.statefulSet]) if (child) server.create(child);
  }
  server.settle(1000);
  const client = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig);
  // The first pass writes the statuses (and the role labels of failover pods, which have
  // no agent here); the second finds every instance settled and keeps its fingerprint.
  for (let pass = 0; pass < 2; pass++) {
    const result = await runPass({ client, leaseNamespace: 'redis-gitops', concurrency: 32 });
    const failed = result.instances.find((r) => r.error || r.action !== 'none');
    if (failed) throw new Error(`bench fleet not in sync: ${JSON.stringify(failed)}`);
  }
}

/** The V8 flags the CronJob sets (NODE_OPTIONS), so the pass is measured as it runs there. */
const CRONJOB_NODE_OPTIONS = reconcilerNodeOptions(DEFAULT_RECONCILER_RESOURCES) ?? '';

/** One `redis-gitops reconcile -A -o json -v` of the compiled bin as its own process. */
async function reconcileProcess(server: TestApiServer, kubeconfig: string): Promise<PassFigures> {
  server.resetRequestLog();
  const cpu = process.cpuUsage();
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = await runChild([...profile, BIN, 'reconcile', '-A', '-o', 'json', '-v', '--kubeconfig', kubeconfig], { POD_NAMESPACE: 'redis-gitops', NODE_OPTIONS: CRONJOB_NODE_OPTIONS, ...RECONCILER_PROCESS_ENV });
  const serverCpu = process.cpuUsage(cpu);
  if (child.status !== 0) throw new Error(`reconcile exited ${child.status}: ${child.stderr}`);
  const requests: Record<string, number> = {};
  for (const r of server.requests) requests[r.method] = (requests[r.method] ?? 0) + 1;
  const lists = server.requests.filter((r) => r.method === 'GET' && /(^|&)limit=/.test(r.query)).length;
  return {
    requests,
    total: server.requests.length,
    lists,
    writes: server.requests.filter((r) => r.method !== 'GET').length,
    wallSeconds: child.wallSeconds,
    cpuSeconds: Number(/CPU (\d+) ms/.exec(child.stderr)?.[1] ?? NaN) / 1000,
    serverCpuSeconds: (serverCpu.user + serverCpu.system) / 1e6,
    peakRssMiB: Number(/peak RSS (\d+) MiB/.exec(child.stderr)?.[1] ?? NaN),
    acted: child.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.action !== 'none').length,
  };
}

function show(label: string, f: PassFigures): string {
  const verbs = Object.entries(f.requests).sort().map(([m, n]) => `${m} ${n}`).join(', ');
  return `  ${label.padEnd(14)} ${String(f.total).padStart(5)} requests (${verbs}; ${f.lists} LIST pages); ${f.writes} writes; ${f.acted} acted; `
    + `${f.wallSeconds.toFixed(2)} s wall; reconciler ${f.cpuSeconds.toFixed(2)} s CPU, peak RSS ${f.peakRssMiB} MiB; test API server ${f.serverCpuSeconds.toFixed(2)} s CPU`;
}

export async function benchReconcileScale(counts: readonly number[] = [1000, 10_000]): Promise<ReconcileBenchFigures[]> {
  const results: ReconcileBenchFigures[] = [];
  console.log(`reconcile passes: the compiled bin as its own process (node start-up included; NODE_OPTIONS as the CronJob: ${CRONJOB_NODE_OPTIONS}; ${Object.entries(RECONCILER_PROCESS_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}), `
    + `test API server in the bench process, LIST pages of ${LIST_PAGE_SIZE}`);
  for (const count of counts) {
    const server = await startTestApiServer({ autoReadyPods: true });
    const dir = mkdtempSync(join(tmpdir(), 'redis-gitops-bench-'));
    try {
      server.create({
        apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
        metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'bench',
      });
      const kubeconfig = server.writeKubeconfig(dir);
      const setup = Date.now();
      await fleetInSync(server, kubeconfig, count);
      const inSync = await reconcileProcess(server, kubeconfig);
      for (let i = 0; i < count; i += 10) {
        const ri = server.get({ apiVersion: API_VERSION, kind: KIND, namespace: namespaceOf(i, count), name: `redis-${i}` });
        server.update({ ...ri, spec: { ...ri.spec, image: 'redis:7.4.1-alpine' } });
      }
      const tenPercent = await reconcileProcess(server, kubeconfig);
      console.log(`${count} instances over ${Math.max(1, Math.round(count / 100))} namespaces (setup ${((Date.now() - setup) / 1000).toFixed(0)} s)`);
      console.log(show('in sync', inSync));
      console.log(show('10% new image', tenPercent));
      results.push({ instances: count, inSync, tenPercent });
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

export async function benchReconcile(counts?: readonly number[]): Promise<void> {
  build();
  await benchColdStart();
  console.log('');
  await benchReconcileScale(counts);
}

if (require.main === module) {
  const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
  benchReconcile(counts.length > 0 ? counts : undefined).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
