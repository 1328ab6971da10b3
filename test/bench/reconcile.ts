/**
 * Reconciler scale bench, against the test API server: N RedisInstances already in sync,
 * then one pass of the real bin as its own process (start-up included), then a pass where
 * 10% of the instances have a new image. Prints requests by verb, wall time, and the
 * reconciler process's CPU time and peak RSS. Figures only; the tests assert behaviour.
 * The test API server runs in this process and is single-threaded: in the acting pass its
 * write path (a garbage-collector sweep over every object after each write) dominates the
 * wall time, which is why the reconciler's own CPU time is printed too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, KIND } from '../../src/api/types';
import { KubeClient, loadKubeConfig } from '../../src/reconcile/kube';
import { runPass } from '../../src/reconcile/run';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

const ROOT = join(__dirname, '..', '..');
/** The bin compiled as `npm run build` does (the image runs compiled JS), under .bench/. */
const LIB = join(ROOT, '.bench', 'reconcile-lib');

function compile(): string {
  rmSync(LIB, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', LIB], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  copyFileSync(join(ROOT, 'src', 'api', 'redisinstance.crd.yaml'), join(LIB, 'src', 'api', 'redisinstance.crd.yaml'));
  return join(LIB, 'src', 'cli', 'bin.js');
}

export interface PassFigures {
  readonly requests: Record<string, number>;
  readonly total: number;
  readonly writes: number;
  readonly wallSeconds: number;
  /** CPU time of the reconciler process (user + system). */
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  readonly acted: number;
}

export interface ReconcileBenchFigures {
  readonly instances: number;
  readonly inSync: PassFigures;
  readonly tenPercent: PassFigures;
}

function fleet(server: TestApiServer, count: number): void {
  for (let i = 0; i < count; i++) {
    server.create({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: `redis-${i}`, namespace: `team-${i % 20}` },
      spec: {
        image: 'redis:7.2.4-alpine',
        replicas: i % 3 === 0 ? 3 : 1,
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        storage: { size: `${1 + (i % 5)}Gi` },
        config: { 'maxmemory-policy': 'allkeys-lru', hz: String(10 + (i % 10)) },
      },
    });
  }
}

/** One `redis-gitops reconcile -A -o json -v` as a separate process (async: the server lives in this one). */
async function reconcileProcess(server: TestApiServer, kubeconfig: string, bin: string): Promise<PassFigures> {
  server.resetRequestLog();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'reconcile', '-A', '-o', 'json', '-v', '--kubeconfig', kubeconfig], {
    cwd: ROOT,
    env: { ...process.env, POD_NAMESPACE: 'redis-gitops' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (status !== 0) throw new Error(`reconcile exited ${status}: ${stderr}`);
  const requests: Record<string, number> = {};
  for (const r of server.requests) requests[r.method] = (requests[r.method] ?? 0) + 1;
  const total = server.requests.length;
  const writes = server.requests.filter((r) => r.method !== 'GET').length;
  const peakRssMiB = Number(/peak RSS (\d+) MiB/.exec(stderr)?.[1] ?? NaN);
  const cpuSeconds = Number(/CPU (\d+) ms/.exec(stderr)?.[1] ?? NaN) / 1000;
  const acted = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.action !== 'none').length;
  return { requests, total, writes, wallSeconds, cpuSeconds, peakRssMiB, acted };
}

function show(label: string, f: PassFigures): string {
  const verbs = Object.entries(f.requests).sort().map(([m, n]) => `${m} ${n}`).join(', ');
  return `  ${label.padEnd(22)} ${String(f.total).padStart(6)} requests (${verbs}); ${f.writes} writes; ${f.acted} acted; ${f.wallSeconds.toFixed(2)} s wall, ${f.cpuSeconds.toFixed(2)} s CPU; peak RSS ${f.peakRssMiB} MiB`;
}

export async function benchReconcile(counts: readonly number[] = [100, 1000]): Promise<ReconcileBenchFigures[]> {
  const results: ReconcileBenchFigures[] = [];
  console.log('reconcile: one pass of the compiled bin as its own process (node start-up included) against the test API server');
  const bin = compile();
  for (const count of counts) {
    const server = await startTestApiServer({ autoReadyPods: true });
    const dir = mkdtempSync(join(tmpdir(), 'redis-gitops-bench-'));
    try {
      server.create({
        apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
        metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'bench',
      });
      const kubeconfig = server.writeKubeconfig(dir);
      fleet(server, count);
      // Bring the fleet in sync in-process: create everything, let the controller run, write Running.
      const client = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig);
      await runPass({ client, leaseNamespace: 'redis-gitops', concurrency: 32 });
      server.settle(1000);
      await runPass({ client, leaseNamespace: 'redis-gitops', concurrency: 32 });

      const inSync = await reconcileProcess(server, kubeconfig, bin);
      for (let i = 0; i < count; i += 10) {
        const ri = server.get({ apiVersion: API_VERSION, kind: KIND, namespace: `team-${i % 20}`, name: `redis-${i}` });
        server.update({ ...ri, spec: { ...ri.spec, image: 'redis:7.4.1-alpine' } });
      }
      const tenPercent = await reconcileProcess(server, kubeconfig, bin);
      console.log(`${count} instances`);
      console.log(show('in sync', inSync));
      console.log(show('10% new image', tenPercent));
      results.push({ instances: count, inSync, tenPercent });
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(LIB, { recursive: true, force: true });
  return results;
}

if (require.main === module) {
  benchReconcile().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
