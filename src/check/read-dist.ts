import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { DIST_YAML_LIMITS, decodeUtf8, formatBytes } from '../synth/read-yaml';

/** A dist/ entry that is not read: synth writes only regular UTF-8 files of bounded size. */
export interface UnreadableFile {
  readonly unreadable: string;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Every file under `dir`, keyed by its path relative to `dir` with `/` separators (the
 * keys `synthesize` uses). All files count, not only YAML: synth replaces the whole
 * folder, so anything else in it is not what synth writes. Symlinks are followed (each
 * folder once, so a link back up ends); an entry that cannot be a file synth wrote (a
 * dangling link, a link loop, a FIFO or other special file, a file over the size bound,
 * bytes that are not UTF-8) is returned with the reason instead of its content. Nothing
 * but a regular file is opened, so a FIFO cannot block the check.
 */
export function readDistFiles(dir: string, maxBytes = DIST_YAML_LIMITS.maxBytes): Map<string, string | UnreadableFile> {
  const files = new Map<string, string | UnreadableFile>();
  const seen = new Set<string>([realpathSync(dir)]);
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const childAbs = join(abs, name);
      const childRel = rel ? posix.join(rel, name) : name;
      let stats = lstatSync(childAbs);
      if (stats.isSymbolicLink()) {
        try {
          stats = statSync(childAbs);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          files.set(childRel, { unreadable: code === 'ELOOP' ? `symlink loop (${readlinkSync(childAbs)})` : `dangling symlink: ${readlinkSync(childAbs)} does not exist` });
          continue;
        }
      }
      if (stats.isDirectory()) {
        const real = realpathSync(childAbs);
        if (seen.has(real)) files.set(childRel, { unreadable: 'symlink to a folder already read (a loop)' });
        else {
          seen.add(real);
          walk(childAbs, childRel);
        }
      } else if (!stats.isFile()) {
        files.set(childRel, { unreadable: `${kindOf(stats)}, not a regular file: not read` });
      } else if (stats.size > maxBytes) {
        files.set(childRel, { unreadable: `larger than ${formatBytes(maxBytes)} (${stats.size} bytes): not read` });
      } else {
        // The mark is kept: a file that starts with one is not the bytes synth writes.
        const decoded = decodeUtf8(readFileSync(childAbs), { keepByteOrderMark: true });
        files.set(childRel, 'text' in decoded ? decoded.text : { unreadable: `${decoded.message}${decoded.line ? ` (line ${decoded.line})` : ''}` });
      }
    }
  };
  walk(dir, '');
  return files;
}
