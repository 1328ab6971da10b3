/**
 * Runs synths and checks one after another in this process and prints, as the last line
 * of stdout, a JSON report per job: exit code, what it printed, its time and its peak
 * RSS. The peak is the kernel's high-water mark (VmHWM), reset before each job by writing
 * 5 to /proc/self/clear_refs, so each job's figure is its own (plus what the process held
 * already: an upper bound).
 * Usage: child.ts <jobs.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { synthesizeToDirectory } from '../../../src/synth';
import { run } from '../../../src/cli/main';
import type { ChildJob, ChildReport } from './run';

function peakRssMiB(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib) / 1024;
}

async function runJob(job: ChildJob): Promise<ChildReport> {
  (globalThis as { gc?: () => void }).gc?.();
  writeFileSync('/proc/self/clear_refs', '5');
  const lines: string[] = [];
  const started = process.hrtime.bigint();
  let code: number;
  if (job.mode === 'synth') {
    code = await synthesizeToDirectory(job.out, { instanceDirs: [job.instances], displayRoot: job.displayRoot }, (line) => lines.push(line));
  } else {
    process.env.HOSTILE_INSTANCES = job.instances;
    const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), env: {}, cwd: process.cwd() };
    code = await run(['check', '--dist', job.dist, '--app', job.app], io);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name: job.name, code, lines: lines.flatMap((l) => l.split('\n')), seconds, maxRssMiB: peakRssMiB() };
}

async function main(): Promise<void> {
  const jobs = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ChildJob[];
  const reports: ChildReport[] = [];
  for (const job of jobs) reports.push(await runJob(job));
  process.stdout.write(`\n${JSON.stringify(reports)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exitCode = 99;
});
