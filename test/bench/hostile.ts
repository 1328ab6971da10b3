/**
 * Hostile input (alias bombs, deep nesting, huge files, and a hostile committed dist/;
 * test/support/hostile/files.ts): the time and peak memory of synth and of check refusing
 * each one, in a child process.
 * test/synth/hostile-input.test.ts asserts the refusals and the memory bound; the time,
 * which the issue wants under 2 s, is a figure here.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeToDirectory } from '../../src/synth';
import { HOSTILE_DIST_CASES, HOSTILE_INSTANCE_FILES, VALID_INSTANCE } from '../support/hostile/files';
import { ENV_INSTANCES_APP, runChild, type ChildJob } from '../support/hostile/run';

export async function benchHostile(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'redis-gitops-bench-hostile-'));
  try {
    const jobs: ChildJob[] = [];
    for (const file of HOSTILE_INSTANCE_FILES) {
      const instances = join(work, file.name, 'instances');
      mkdirSync(instances, { recursive: true });
      writeFileSync(join(instances, file.name), file.content);
      mkdirSync(join(work, file.name, 'dist'));
      jobs.push({ name: `synth ${file.name}`, mode: 'synth', instances, displayRoot: join(instances, '..'), out: join(work, file.name, 'out') });
      jobs.push({ name: `check ${file.name}`, mode: 'check', dist: join(work, file.name, 'dist'), app: ENV_INSTANCES_APP, instances });
    }
    // A committed dist/ made hostile (an alias bomb prepended to a file, a FIFO, ...).
    const valid = join(work, 'valid', 'instances');
    mkdirSync(valid, { recursive: true });
    writeFileSync(join(valid, 'cache.yaml'), VALID_INSTANCE);
    const base = join(work, 'dist-base');
    if (await synthesizeToDirectory(base, { instanceDirs: [valid], displayRoot: join(valid, '..') }, () => {}) !== 0) throw new Error('synth of the valid instance failed');
    for (const c of HOSTILE_DIST_CASES) {
      const dist = join(work, c.name);
      cpSync(base, dist, { recursive: true });
      c.mutate(dist);
      jobs.push({ name: `check ${c.name}`, mode: 'check', dist, app: ENV_INSTANCES_APP, instances: valid });
    }
    const reports = await runChild(jobs);
    console.log('hostile input: each refused in a child process (time of the synth or check, start-up excluded; peak RSS of the process)');
    console.log('file                  command  refused in (s)  peak RSS (MiB)');
    for (const r of reports) {
      const [command, name] = r.name.split(' ');
      console.log(`${name.padEnd(20)}  ${command.padEnd(7)}  ${r.seconds.toFixed(3).padStart(14)}  ${r.maxRssMiB.toFixed(0).padStart(14)}`);
    }
    const worst = reports.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    console.log(`slowest: ${worst.name} ${worst.seconds.toFixed(3)} s (target: under 2 s); largest peak: ${Math.max(...reports.map((r) => r.maxRssMiB)).toFixed(0)} MiB (bound: 300)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchHostile().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
