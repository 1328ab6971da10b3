import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadAll } from 'js-yaml';
import { LineCounter, parseAllDocuments, isMap, isSeq, type Document, type Node } from 'yaml';
import { ValidationIssue, type FieldPath } from '../api/validate';

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
  /** YAML that does not parse, with its line. */
  readonly issues: ValidationIssue[];
}

/** Every `.yaml`/`.yml` file under `dir`, recursively, in a stable order. */
export function findYamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path);
    }
  };
  walk(dir);
  return out;
}

/**
 * Parse YAML text holding any number of documents; empty documents are skipped.
 * js-yaml parses (it is several times faster); the `yaml` package, which keeps source
 * positions, parses a file again only when a line number is needed for a message.
 */
export function parseYamlDocuments(text: string, file: string): LoadResult {
  let manifests: unknown[];
  try {
    manifests = loadAll(text, undefined, { filename: file }).filter((m) => m !== null && m !== undefined);
  } catch {
    return { documents: [], issues: syntaxIssues(text, file) };
  }
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
  const documents = manifests.map((manifest, index): LoadedDocument => ({
    manifest,
    file,
    lineOf: (path) => {
      const { docs, lineAt } = positions();
      return docs[index] ? lineOfPath(docs[index], path, lineAt) : undefined;
    },
  }));
  return { documents, issues: [] };
}

/** Every syntax error in the text, each with its line (the `yaml` package reports them all). */
function syntaxIssues(text: string, file: string): ValidationIssue[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: ValidationIssue[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    for (const error of doc.errors) {
      issues.push(new ValidationIssue(undefined, '', `YAML does not parse: ${error.message.split('\n')[0]}`, file, lineCounter.linePos(error.pos[0]).line));
    }
  }
  if (issues.length === 0) {
    // js-yaml refused something the `yaml` package accepts (e.g. a YAML 1.1-only construct).
    try {
      loadAll(text);
    } catch (error: any) {
      issues.push(new ValidationIssue(undefined, '', `YAML does not parse: ${error.reason ?? error.message}`, file, (error.mark?.line ?? 0) + 1));
    }
  }
  return issues;
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

/** Load every YAML file under `dir`; file names in issues are relative to `displayRoot`. */
export function loadYamlDirectory(dir: string, displayRoot = process.cwd()): LoadResult {
  const documents: LoadedDocument[] = [];
  const issues: ValidationIssue[] = [];
  for (const path of findYamlFiles(dir)) {
    const result = parseYamlDocuments(readFileSync(path, 'utf8'), relative(displayRoot, path));
    documents.push(...result.documents);
    issues.push(...result.issues);
  }
  return { documents, issues };
}
