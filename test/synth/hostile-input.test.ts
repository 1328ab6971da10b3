import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeToDirectory } from '../../src/synth';
import { HOSTILE_DIST_CASES as distCases, HOSTILE_INSTANCE_FILES, VALID_INSTANCE } from '../support/hostile/files';
import { ENV_INSTANCES_APP, runChild, type ChildJob, type ChildReport } from '../support/hostile/run';

/**
 * Each hostile file goes through synth and through `check` in a child process that
 * reports its peak memory; each must be refused with its message, file and line, within
 * 300 MB. (Their time is a figure of `npm run bench`, not an assertion here.)
 */
const PEAK_MIB = 300;

let work: string;
let reports: Map<string, ChildReport>;

function instanceFolder(name: string, content: string): string {
  const dir = join(work, name, 'instances');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name.endsWith('.yaml') ? name : `${name}.yaml`), content);
  return dir;
}


beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'redis-gitops-hostile-'));
  const valid = instanceFolder('valid', VALID_INSTANCE);
  const base = join(work, 'dist-base');
  expect(await synthesizeToDirectory(base, { instanceDirs: [valid], displayRoot: join(valid, '..') }, () => {})).toBe(0);

  const synthJobs: ChildJob[] = [];
  const checkJobs: ChildJob[] = [];
  for (const file of HOSTILE_INSTANCE_FILES) {
    const instances = instanceFolder(file.name, file.content);
    synthJobs.push({ name: `synth ${file.name}`, mode: 'synth', instances, displayRoot: join(instances, '..'), out: join(work, file.name, 'out') });
    const dist = join(work, file.name, 'dist');
    cpSync(base, dist, { recursive: true });
    checkJobs.push({ name: `check ${file.name}`, mode: 'check', dist, app: ENV_INSTANCES_APP, instances });
  }
  for (const c of distCases) {
    const dist = join(work, c.name);
    cpSync(base, dist, { recursive: true });
    c.mutate(dist);
    checkJobs.push({ name: `check ${c.name}`, mode: 'check', dist, app: ENV_INSTANCES_APP, instances: valid });
  }
  // Two processes, one per core.
  const all = (await Promise.all([runChild(synthJobs), runChild(checkJobs)])).flat();
  reports = new Map(all.map((r) => [r.name, r]));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(HOSTILE_INSTANCE_FILES.map((f) => [f.name, f] as const))('%s', (name, file) => {
  it(`synth refuses it, naming file and line, within ${PEAK_MIB} MB, and writes no output`, () => {
    const report = reports.get(`synth ${name}`)!;
    expect(report.code).toBe(1);
    expect(report.lines).toEqual([expect.stringMatching(new RegExp(`error: ${file.expected.source.slice(1)}`)), `synth failed: 1 problem; ${join(work, name, 'out')} was left unchanged`]);
    expect(report.lines[0].length).toBeLessThan(400);
    expect(report.maxRssMiB).toBeLessThan(PEAK_MIB);
    expect(existsSync(join(work, name, 'out'))).toBe(false);
  });

  it(`check refuses it the same way, within ${PEAK_MIB} MB`, () => {
    const report = reports.get(`check ${name}`)!;
    expect(report.code).toBe(1);
    expect(report.lines[0]).toMatch(new RegExp(`error: ${file.expected.source.slice(1)}`));
    expect(report.lines[1]).toMatch(/^check failed: .*env-instances-app\.ts does not synthesize \(1 problem\); .* was not compared$/);
    expect(report.maxRssMiB).toBeLessThan(PEAK_MIB);
  });
});

describe('check with a hostile committed dist/', () => {
  it.each(distCases.map((c) => c.name))(`%s: reported as stale, naming the file and why, exit 1, within ${PEAK_MIB} MB`, (name) => {
    const c = distCases.find((d) => d.name === name)!;
    const report = reports.get(`check ${name}`)!;
    const dist = join(work, name);
    const expected = c.expected.map((e) => (typeof e === 'string' ? e.replace('%DIST%', dist) : expect.stringMatching(new RegExp(e.source.replace('%DIST%', dist)))));
    expect(report.code).toBe(1);
    const fileLines = report.lines.filter((l) => l.startsWith('~ '));
    expect(fileLines).toEqual(expected);
    expect(report.lines.at(-1)).toMatch(new RegExp(`^error: ${dist}/ is stale \\(${fileLines.length} files?\\)$`));
    expect(report.maxRssMiB).toBeLessThan(PEAK_MIB);
  });
});
