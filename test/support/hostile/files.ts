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
