import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Small hostile YAML files (issue: resource exhaustion from small files) and the message
 * each must be refused with. Shared by the test that measures them in a child process,
 * by `npm run bench` (their time) and by the fuzz test.
 */

/** A "billion laughs" alias bomb: 9 levels of 9 aliases, about 9^9 strings once expanded. */
export function aliasBomb(leaf = '"lol"', levels = 9): string {
  const names = 'abcdefghijklmnop'.split('');
  const lines = [`{a: &a [${Array(9).fill(leaf).join(', ')}]`];
  for (let i = 1; i < levels; i++) lines.push(`  ${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return `${lines.join(',\n')}}`;
}

const HEAD = 'apiVersion: redis.github.com/v1\nkind: RedisInstance\n';

export interface HostileFile {
  /** File name under the instance folder. */
  readonly name: string;
  readonly content: string;
  /** The refusal, as synth prints it (`<file>:<line>: message`). */
  readonly expected: RegExp;
}

const MiB = 1024 * 1024;

export const HOSTILE_INSTANCE_FILES: readonly HostileFile[] = [
  {
    name: 'bomb-name.yaml',
    content: `${HEAD}metadata:\n  name: ${aliasBomb().replace(/\n/g, '\n    ')}\nspec:\n  image: redis:7\n`,
    expected: /^instances\/bomb-name\.yaml:(4|[5-9]|1[0-2]): YAML aliases expand this document beyond 1 MiB: anchors \(&\) and aliases \(\*\) may not multiply content$/,
  },
  {
    name: 'bomb-replicas.yaml',
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  replicas: ${aliasBomb('1').replace(/\n/g, '\n    ')}\n`,
    expected: /^instances\/bomb-replicas\.yaml:([7-9]|1[0-5]): YAML aliases expand this document beyond 1 MiB: /,
  },
  {
    name: 'bomb-image.yaml',
    // The 630-byte variant: long strings, fewer levels.
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: ${aliasBomb(`"${'x'.repeat(40)}"`, 6).replace(/\n/g, '\n    ')}\n`,
    expected: /^instances\/bomb-image\.yaml:([6-9]|1[0-2]): YAML aliases expand this document beyond 1 MiB: /,
  },
  {
    name: 'deep-flow.yaml',
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  config: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
    expected: /^instances\/deep-flow\.yaml:7: YAML nests deeper than 64 levels$/,
  },
  {
    name: 'deep-block.yaml',
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  config:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 4)}k${i}:`).join('\n')} x\n`,
    expected: /^instances\/deep-block\.yaml:\d+: YAML nests deeper than 64 levels$/,
  },
  {
    // 250 KB, but 50 000 nodes: memory follows nodes more than bytes.
    name: 'many-nodes.yaml',
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  config:\n${Array.from({ length: 25_000 }, (_, i) => `    k${i}: v`).join('\n')}\n`,
    expected: /^instances\/many-nodes\.yaml:\d+: YAML has more than 20000 nodes \(mappings, sequences and scalars\)$/,
  },
  {
    name: 'huge.yaml',
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  config:\n    save: "${'9'.repeat(MiB)}"\n`,
    expected: /^instances\/huge\.yaml: file is larger than 1 MiB \(\d+ bytes\): not read$/,
  },
  {
    name: 'huge-value.yaml',
    // Under the size bound: parsed and validated, and the message quotes 80 characters of it.
    content: `${HEAD}metadata:\n  name: cache\nspec:\n  image: redis:7\n  storage:\n    size: "1 Gi${'x'.repeat(MiB - 200)}"\n`,
    expected: /^instances\/huge-value\.yaml:8: RedisInstance default\/cache: spec\.storage\.size: must be a Kubernetes quantity such as "1Gi" or "500Mi", got "1 Gix{74}…$/,
  },
];

/** The instance the dist/ cases start from, and its file in dist/. */
export const VALID_INSTANCE = 'apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: cache\nspec:\n  image: redis:7\n';
const CACHE = 'instances/default/cache.yaml';

/** A committed dist/ made hostile (from a synth of VALID_INSTANCE), and the report lines of `check` (%DIST%: the folder). */
export interface HostileDistCase {
  readonly name: string;
  readonly mutate: (dist: string) => void;
  readonly expected: ReadonlyArray<string | RegExp>;
}

const prepend = (dist: string, text: string) => writeFileSync(join(dist, CACHE), text + readFileSync(join(dist, CACHE), 'utf8'));
export const HOSTILE_DIST_CASES: readonly HostileDistCase[] = [
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
    // Nothing here is opened, so the FIFO cannot block the check.
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
];

