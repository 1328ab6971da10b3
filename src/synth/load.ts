import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isSeq, type Document, type Node } from 'yaml';
import { ValidationIssue, type FieldPath } from '../api/validate';
import { INSTANCE_YAML_LIMITS, MAX_POSITIONED_BYTES, decodeUtf8, formatBytes, parseYamlStream, type YamlLimits } from './read-yaml';

/** One YAML document read from a file, with a way to find the line of any field in it. */
export interface LoadedDocument {
  readonly manifest: unknown;
  /** The file, as given to the loader (relative to the display root). */
  readonly file: string;
  /** Line of a field path (`[]`: the document's start); falls back to the nearest parent that exists. */
  readonly lineOf: (path: FieldPath) => number | undefined;
}

export interface LoadResult {
  readonly documents: LoadedDocument[];
  /** Files that cannot be read and YAML that does not parse, with its line. */
  readonly issues: ValidationIssue[];
}

/** The files read under an instance folder: `.yaml`, `.yml` and `.json` (JSON is YAML), in any letter case. */
export const INSTANCE_FILE = /\.(ya?ml|json)$/i;

/** A file that was found under an instance folder but cannot be read, and why. */
export interface SkippedPath {
  readonly path: string;
  readonly message: string;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Every instance file under `dir`, recursively, in a stable order, and every path that
 * must be reported instead. Symlinks are followed when they stay inside `dir` (each real
 * file and folder is read once, so links to what is already there add nothing); a link
 * that leaves `dir`, dangles or loops is refused. Hidden names (`.git`, editor lock files
 * such as `.#cache.yaml`) are skipped, as are files with other extensions (a README).
 * Nothing that is not a regular file is ever opened: a FIFO would block the read.
 */
export function findInstanceFiles(dir: string): { files: string[]; problems: SkippedPath[] } {
  const files: string[] = [];
  const problems: SkippedPath[] = [];
  const root = realpathSync(dir);
  const seen = new Set<string>([root]);
  const inside = (real: string) => {
    const rel = relative(root, real);
    return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
  };
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      let stats = lstatSync(path);
      let real = path;
      if (stats.isSymbolicLink()) {
        const target = readlinkSync(path);
        try {
          real = realpathSync(path);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          problems.push({ path, message: code === 'ELOOP' ? `symlink loop (${target})` : `dangling symlink: ${target} does not exist` });
          continue;
        }
        if (!inside(real)) {
          problems.push({ path, message: `symlink leaves the instance folder (points to ${target}); copy the file in instead` });
          continue;
        }
        stats = statSync(real);
      } else {
        real = realpathSync(path);
      }
      if (stats.isDirectory()) {
        if (seen.has(real)) continue;
        seen.add(real);
        walk(path);
      } else if (!INSTANCE_FILE.test(name)) {
        continue;
      } else if (!stats.isFile()) {
        problems.push({ path, message: `${kindOf(stats)}, not a regular file: not read` });
      } else if (!seen.has(real)) {
        seen.add(real);
        files.push(path);
      }
    }
  };
  walk(dir);
  return { files, problems };
}

/** Every instance file under `dir` (see findInstanceFiles); paths to report are left out. */
export function findYamlFiles(dir: string): string[] {
  return findInstanceFiles(dir).files;
}

/**
 * Parse YAML text holding any number of documents; empty documents are skipped.
 * js-yaml parses (it is several times faster); the `yaml` package, which keeps source
 * positions, parses a file again only when a line number is needed for a message.
 */
export function parseYamlDocuments(text: string, file: string, limits: YamlLimits = INSTANCE_YAML_LIMITS): LoadResult {
  let positioned: { docs: Document[]; lineAt: (offset: number | undefined) => number | undefined } | undefined;
  const positions = () => {
    if (!positioned) {
      const lineCounter = new LineCounter();
      const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
      positioned = {
        docs: (Array.isArray(docs) ? docs : [docs]).filter((d) => d.contents !== null),
        lineAt: (offset) => (offset === undefined ? undefined : lineCounter.linePos(offset).line),
      };
    }
    return positioned;
  };
  const lineOf = (index: number, path: FieldPath) => {
    if (text.length > MAX_POSITIONED_BYTES) return undefined; // a large dist/ file: not parsed twice
    const { docs, lineAt } = positions();
    return docs[index] ? lineOfPath(docs[index], path, lineAt) : undefined;
  };
  const parsed = parseYamlStream(text, limits);
  if (!parsed.ok) {
    const line = (problem: { line?: number }) => problem.line ?? (parsed.index !== undefined ? lineOf(parsed.index, parsed.path ?? []) : undefined);
    return { documents: [], issues: parsed.problems.map((p) => new ValidationIssue(undefined, '', p.message, file, line(p))) };
  }
  const documents = parsed.documents.map((manifest, index): LoadedDocument => ({ manifest, file, lineOf: (path) => lineOf(index, path) }));
  return { documents, issues: [] };
}

function lineOfPath(doc: Document, path: FieldPath, lineAt: (offset: number | undefined) => number | undefined): number | undefined {
  let node: unknown = doc.contents;
  let best = lineAt((node as Node | null)?.range?.[0]);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as any)?.value === key || p.key === key);
      if (!pair) break;
      best = lineAt((pair.key as Node | null)?.range?.[0]) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      best = lineAt((node as Node | null)?.range?.[0]) ?? best;
    } else break;
  }
  return best;
}

/** Load every instance file under `dir`; file names in issues are relative to `displayRoot`. */
export function loadYamlDirectory(dir: string, displayRoot = process.cwd(), limits: YamlLimits = INSTANCE_YAML_LIMITS): LoadResult {
  const documents: LoadedDocument[] = [];
  const issues: ValidationIssue[] = [];
  if (!existsSync(dir)) return { documents, issues: [new ValidationIssue(undefined, '', 'instance folder not found', relative(displayRoot, dir))] };
  const { files, problems } = findInstanceFiles(dir);
  for (const { path, message } of problems) issues.push(new ValidationIssue(undefined, '', message, relative(displayRoot, path)));
  for (const path of files) {
    const file = relative(displayRoot, path);
    const size = statSync(path).size;
    if (size > limits.maxBytes) {
      issues.push(new ValidationIssue(undefined, '', `file is larger than ${formatBytes(limits.maxBytes)} (${size} bytes): not read`, file));
      continue;
    }
    const decoded = decodeUtf8(readFileSync(path));
    if (!('text' in decoded)) {
      issues.push(new ValidationIssue(undefined, '', decoded.message, file, decoded.line));
      continue;
    }
    const result = parseYamlDocuments(decoded.text, file, limits);
    documents.push(...result.documents);
    issues.push(...result.issues);
  }
  return { documents, issues };
}
