/**
 * Hostile input (alias bombs, deep nesting, huge files; test/support/hostile/files.ts):
 * the time and peak memory of synth and of check refusing each one, in a child process.
 * test/synth/hostile-input.test.ts asserts the refusals and the memory bound; the time,
 * which the issue wants under 2 s, is a figure here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOSTILE_INSTANCE_FILES } from '../support/hostile/files';
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
