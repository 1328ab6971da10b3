import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ChildJob =
  | { readonly name: string; readonly mode: 'synth'; readonly instances: string; readonly displayRoot: string; readonly out: string }
  /** `instances`: the folder the app module (test/check/fixtures/env-instances-app.ts) reads. */
  | { readonly name: string; readonly mode: 'check'; readonly dist: string; readonly app: string; readonly instances: string };

export interface ChildReport {
  readonly name: string;
  readonly code: number;
  /** What the synth or check printed, line by line. */
  readonly lines: string[];
  /** Time of the synth or check itself, without the process start-up. */
  readonly seconds: number;
  /** Peak resident memory of the process during the job. */
  readonly maxRssMiB: number;
}

const CHILD = join(__dirname, 'child.ts');
const ROOT = join(__dirname, '..', '..', '..');
/** The app module for check jobs: its instance folder is the job's. */
export const ENV_INSTANCES_APP = join(ROOT, 'test', 'check', 'fixtures', 'env-instances-app.ts');

/**
 * Run the jobs one after another in a fresh Node process (its own heap, so its peak memory
 * is the jobs', not the test runner's); rejects after `timeoutMs`, so a hang fails the test.
 */
export function runChild(jobs: readonly ChildJob[], timeoutMs = 60_000): Promise<ChildReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-gitops-hostile-jobs-'));
  const jobsFile = join(dir, 'jobs.json');
  writeFileSync(jobsFile, JSON.stringify(jobs));
  return new Promise<ChildReport[]>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, jobsFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobs ${jobs.map((j) => j.name).join(', ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      const last = out.trimEnd().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ChildReport[]);
      } catch {
        reject(new Error(`child exited ${status} without a report:\n${err.slice(0, 2000)}`));
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
