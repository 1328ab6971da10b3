import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeToDirectory } from '../../src/synth';
import { HOSTILE_INSTANCE_FILES, aliasBomb } from '../support/hostile/files';
import { ENV_INSTANCES_APP, runChild, type ChildJob, type ChildReport } from '../support/hostile/run';

/**
 * Each hostile file goes through synth and through `check` in a child process that
 * reports its peak memory; each must be refused with its message, file and line, within
 * 300 MB. (Their time is a figure of `npm run bench`, not an assertion here.)
 */
const PEAK_MIB = 300;

let work: string;
let reports: Map<string, ChildReport>;
const distCases: Array<{ name: string; mutate: (dist: string) => void; expected: Array<string | RegExp> }> = [];

function instanceFolder(name: string, content: string): string {
  const dir = join(work, name, 'instances');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name.endsWith('.yaml') ? name : `${name}.yaml`), content);
  return dir;
}

const VALID = 'apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: cache\nspec:\n  image: redis:7\n';
const CACHE = 'instances/default/cache.yaml';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'redis-gitops-hostile-'));
  const valid = instanceFolder('valid', VALID);
  const base = join(work, 'dist-base');
  expect(await synthesizeToDirectory(base, { instanceDirs: [valid], displayRoot: join(valid, '..') }, () => {})).toBe(0);

  const prepend = (dist: string, text: string) => writeFileSync(join(dist, CACHE), text + readFileSync(join(dist, CACHE), 'utf8'));
  distCases.push(
    {
      name: 'dist-bomb',
      mutate: (dist) => prepend(dist, `lol: ${aliasBomb().replace(/\n/g, '\n  ')}\n---\n`),
      expected: [`~ ${CACHE}: not valid YAML in %DIST%/: line 7: YAML aliases expand this document beyond 8 MiB: anchors (&) and aliases (*) may not multiply content`],
    },
    {
      name: 'dist-deep',
      mutate: (dist) => prepend(dist, `lol: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n---\n`),
      expected: [`~ ${CACHE}: not valid YAML in %DIST%/: line 1: YAML nests deeper than 64 levels`],
    },
    {
      name: 'dist-nodes',
      mutate: (dist) => prepend(dist, `lol:\n${Array.from({ length: 60_000 }, (_, i) => `  k${i}: v`).join('\n')}\n---\n`),
      expected: [`~ ${CACHE}: not valid YAML in %DIST%/: line 50000: YAML has more than 100000 nodes (mappings, sequences and scalars)`],
    },
    {
      name: 'dist-huge',
      mutate: (dist) => appendFileSync(join(dist, CACHE), `# ${'x'.repeat(8 * 1024 * 1024)}\n`),
      expected: [/^~ instances\/default\/cache\.yaml: in %DIST%\/ but not a file synth writes: larger than 8 MiB \(\d+ bytes\): not read$/],
    },
    {
      // §8: nothing here is opened, so the FIFO cannot block the check.
      name: 'dist-special',
      mutate: (dist) => {
        execFileSync('mkfifo', [join(dist, 'fifo.yaml')]);
        symlinkSync('missing.yaml', join(dist, 'dangling.yaml'));
        symlinkSync('loop-b.yaml', join(dist, 'loop-a.yaml'));
        symlinkSync('loop-a.yaml', join(dist, 'loop-b.yaml'));
        symlinkSync('..', join(dist, 'instances', 'up'));
      },
      expected: [
        '~ dangling.yaml: in %DIST%/ but not a file synth writes: dangling symlink: missing.yaml does not exist',
        '~ fifo.yaml: in %DIST%/ but not a file synth writes: a FIFO, not a regular file: not read',
        '~ instances/up: in %DIST%/ but not a file synth writes: symlink to a folder already read (a loop)',
        '~ loop-a.yaml: in %DIST%/ but not a file synth writes: symlink loop (loop-b.yaml)',
        '~ loop-b.yaml: in %DIST%/ but not a file synth writes: symlink loop (loop-a.yaml)',
      ],
    },
  );

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
  it.each(['dist-bomb', 'dist-deep', 'dist-nodes', 'dist-huge', 'dist-special'])(`%s: reported as stale, naming the file and why, exit 1, within ${PEAK_MIB} MB`, (name) => {
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
