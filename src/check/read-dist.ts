import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Every file under `dir`, keyed by its path relative to `dir` with `/` separators (the
 * keys `synthesize` uses). All files count, not only YAML: synth replaces the whole
 * folder, so anything else in it is not what synth writes.
 */
export function readDistFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (abs: string, rel: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const childAbs = join(abs, entry.name);
      const childRel = rel ? posix.join(rel, entry.name) : entry.name;
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(childAbs).isDirectory());
      if (isDir) walk(childAbs, childRel);
      else files.set(childRel, readFileSync(childAbs, 'utf8'));
    }
  };
  walk(dir, '');
  return files;
}
