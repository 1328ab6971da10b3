/**
 * `npm run bench`: synth of generated fleets (ours vs. one Chart per instance), each as a
 * whole app process, for 100 and 1000 instances; then reconcile passes over 100 and 1000
 * instances against the test API server (test/bench/reconcile.ts). Figures only; the
 * tests assert behaviour.
 * The fleet lives in .bench/ inside the checkout (the disk dist/ is on), removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFleet } from './fleet';
import { benchReconcile } from './reconcile';

const ROOT = join(__dirname, '..', '..');
const WORK = join(ROOT, '.bench');

interface Timing { seconds: number; peakRssMiB: number }

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
  const rss = Number(/RSS (\d+)/.exec(child.stderr)?.[1] ?? 0);
  return { seconds, peakRssMiB: rss / 1024 };
}

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

export function benchSynth(counts: readonly number[] = [100, 1000]): void {
  console.log('synth: whole app process (tsx start-up included, cdk8s CLI not), best of 3');
  console.log('instances  ours (s)  ours RSS (MiB)  naive (s)  naive RSS (MiB)  naive/ours');
  for (const count of counts) {
    rmSync(WORK, { recursive: true, force: true });
    const fleet = join(WORK, 'fleet');
    mkdirSync(fleet, { recursive: true });
    writeFleet(fleet, count);
    const best = (layout: 'ours' | 'naive') => {
      const runs = [0, 1, 2].map(() => runApp(layout, fleet, join(WORK, `out-${layout}`)));
      return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    };
    const ours = best('ours');
    const naive = best('naive');
    const files = countFiles(join(WORK, 'out-ours'));
    if (files !== count + 1) throw new Error(`expected ${count + 1} files from our synth, found ${files}`);
    console.log(
      `${String(count).padStart(9)}  ${ours.seconds.toFixed(2).padStart(8)}  ${ours.peakRssMiB.toFixed(0).padStart(14)}  `
      + `${naive.seconds.toFixed(2).padStart(9)}  ${naive.peakRssMiB.toFixed(0).padStart(15)}  ${(naive.seconds / ours.seconds).toFixed(1).padStart(10)}x`,
    );
  }
  rmSync(WORK, { recursive: true, force: true });
}

async function main(): Promise<void> {
  benchSynth();
  console.log('');
  await benchReconcile();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
