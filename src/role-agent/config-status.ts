import { closeSync, openSync, readSync } from 'node:fs';
import { CONFIG_STATUS_ANNOTATION } from '../reconcile/live-config';

/**
 * The pod agent's share of live changes (docs/live-changes.md, "Status file and what the
 * owner sees"): the config agent (POSIX sh, no API client) writes one status line to the
 * runtime emptyDir; the pod agent publishes it as the pod annotation
 * `redis.github.com/config-status`, compact and bounded, and only when it changed. Pure
 * but for the bounded read.
 */

export { CONFIG_STATUS_ANNOTATION };

/** Longest annotation written (the config agent's line is far shorter: a hash, a state, refusals of at most 300 bytes each). */
export const MAX_CONFIG_STATUS_BYTES = 4096;

/**
 * The status file's first bytes (at most MAX_CONFIG_STATUS_BYTES + 1, so a longer file is
 * seen as such), or undefined when there is none yet. Never reads more, whatever the file.
 */
export function readConfigStatusFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(MAX_CONFIG_STATUS_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * The annotation value for a status file's content: its first line, control characters
 * other than tabs (the field separator) as spaces, at most MAX_CONFIG_STATUS_BYTES bytes
 * cut at a field boundary; undefined when the line is empty (the agent has not reported).
 * `secrets` (the password the agent holds, if any) never go out: a line that carries one
 * (of 4 characters or more) is withheld: the config agent never writes one; this is a second lock.
 */
export function configStatusAnnotation(content: string, secrets: readonly (string | undefined)[] = []): string | undefined {
  // eslint-disable-next-line no-control-regex
  let line = (content.split('\n', 1)[0] ?? '').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ').trim();
  if (line === '') return undefined;
  if (Buffer.byteLength(line) > MAX_CONFIG_STATUS_BYTES) {
    const fields = line.split('\t');
    line = '';
    for (const field of fields) {
      const next = line === '' ? field : `${line}\t${field}`;
      if (Buffer.byteLength(next) > MAX_CONFIG_STATUS_BYTES) break;
      line = next;
    }
    if (line === '') return undefined;
  }
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4 && line.includes(secret)) return undefined;
  }
  return line;
}

/** The merge patch that sets the annotation (and nothing else). */
export function configStatusPatch(value: string): object {
  return { metadata: { annotations: { [CONFIG_STATUS_ANNOTATION]: value } } };
}
