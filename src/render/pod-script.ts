import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A pod script (src/pod/<file>) as the ConfigMap carries it: without its comment lines and
 * blank lines, which are a third of the scripts' bytes and would be stored in etcd and read
 * by every reconcile pass for every instance. The first line says where the commented
 * source is. The scripts have no here-documents and no multi-line strings, so a line whose
 * first non-blank character is `#` is always a comment; every test runs the compacted
 * scripts (dash and busybox ash), not the sources.
 */
export function compactScript(file: string, text: string): string {
  const lines = text.split('\n').filter((line) => !/^\s*(#|$)/.test(line));
  return `# redis-gitops ${file}, comments removed: the commented script is src/pod/${file} in the redis-gitops source\n${lines.join('\n')}\n`;
}

/** Read src/pod/<file> (lib/src/pod once built) and compact it. */
export function podScript(file: string): string {
  return compactScript(file, readFileSync(join(__dirname, '..', 'pod', file), 'utf8'));
}
