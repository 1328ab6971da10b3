/**
 * `npm run bench`: synth of generated fleets (ours vs. one Chart per instance), each as a
 * whole app process, for 100 and 1000 instances; then reconcile passes over 100 and 1000
 * instances against the test API server (test/bench/reconcile.ts); then hostile input refused
 * (test/bench/hostile.ts); then failover with real processes in network namespaces
 * (test/bench/failover.ts); then the pods' config agent: changed file to value in force, and
 * its idle CPU and memory (test/bench/live-agent.ts). Figures only; the
 * tests assert behaviour. `npm run bench -- failover` (or any of synth, reconcile, hostile,
 * failover, live-agent) runs only the parts named.
 * The fleet lives in .bench/ inside the checkout (the disk dist/ is on), removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFleet } from './fleet';
import { benchReconcile } from './reconcile';
import { benchHostile } from './hostile';
import { benchFailover } from './failover';
import { benchLiveAgent } from './live-agent';

const ROOT = join(__dirname, '..', '..');
const WORK = join(ROOT, '.bench');

interface Timing { seconds: number; userSeconds: number; systemSeconds: number; peakRssMiB: number }

function runApp(layout: 'ours' | 'naive', fleet: string, out: string): Timing {
  // Wall time measured here; peak RSS reported by the child itself (BENCH_REPORT_RSS).
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'synth-app.ts'), layout, fleet, out], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, BENCH_REPORT_RSS: '1' },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`${layout} synth failed (${child.status}): ${child.stderr}`);
  const [, rss, user, sys] = /RSS (\d+) USER (\d+) SYS (\d+)/.exec(child.stderr) ?? [];
  return { seconds, userSeconds: Number(user) / 1e6, systemSeconds: Number(sys) / 1e6, peakRssMiB: Number(rss) / 1024 };
}

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

/**
 * Where dist/ is written matters on this kind of machine: creating a file on the project's
 * disk has cost from 0.02 to 0.9 ms of system time, depending on the moment. So the bench
 * also writes to a tmpfs (/dev/shm) when there is one, to show the program's own cost.
 */
export function benchSynth(counts: readonly number[] = [100, 1000]): void {
  const outputs: Array<[string, string]> = [['project disk', WORK]];
  if (existsSync('/dev/shm')) outputs.push(['tmpfs', '/dev/shm/redis-gitops-bench']);
  console.log('synth: whole app process (tsx start-up included, cdk8s CLI not), best of 3 by wall time');
  console.log('instances  output        layout  wall (s)  user+sys CPU (s)  peak RSS (MiB)');
  for (const count of counts) {
    rmSync(WORK, { recursive: true, force: true });
    const fleet = join(WORK, 'fleet');
    mkdirSync(fleet, { recursive: true });
    writeFleet(fleet, count);
    const results: Record<string, Timing> = {};
    for (const [label, outRoot] of outputs) {
      for (const layout of ['ours', 'naive'] as const) {
        if (layout === 'naive' && label !== 'project disk') continue;
        const out = join(outRoot, `out-${layout}`);
        const runs = [0, 1, 2].map(() => runApp(layout, fleet, out));
        const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
        if (layout === 'ours') {
          const files = countFiles(out);
          if (files !== count + 1) throw new Error(`expected ${count + 1} files from our synth, found ${files}`);
        }
        results[`${label}/${layout}`] = best;
        console.log(`${String(count).padStart(9)}  ${label.padEnd(12)}  ${layout.padEnd(6)}  ${best.seconds.toFixed(2).padStart(8)}  `
          + `${(best.userSeconds + best.systemSeconds).toFixed(2).padStart(16)}  ${best.peakRssMiB.toFixed(0).padStart(14)}`);
      }
      if (outRoot !== WORK) rmSync(outRoot, { recursive: true, force: true });
    }
    const ratio = results['project disk/naive'].seconds / results['project disk/ours'].seconds;
    console.log(`${String(count).padStart(9)}  naive/ours on the project disk: ${ratio.toFixed(1)}x`);
  }
  rmSync(WORK, { recursive: true, force: true });
}

const PARTS: ReadonlyArray<readonly [string, () => Promise<void> | void]> = [
  ['synth', () => { benchSynth(); console.log(''); }],
  ['reconcile', async () => { await benchReconcile(); console.log(''); }],
  ['hostile', () => benchHostile()],
  ['failover', async () => { await benchFailover(); console.log(''); }],
  ['live-agent', async () => { await benchLiveAgent('sh'); await benchLiveAgent('busybox'); }],
];

async function main(names: readonly string[]): Promise<void> {
  const unknown = names.filter((n) => !PARTS.some(([part]) => part === n));
  if (unknown.length > 0) {
    console.error(`npm run bench: unknown part ${unknown.join(', ')}; the parts are ${PARTS.map(([p]) => p).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const [part, run] of PARTS) if (names.length === 0 || names.includes(part)) await run();
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
