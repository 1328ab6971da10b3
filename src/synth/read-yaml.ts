import { loadAll, YAMLException, type LoadOptions } from 'js-yaml';
import { LineCounter, isScalar, parseAllDocuments, visit, type Document } from 'yaml';

/**
 * Reading YAML that someone else wrote (instance files, a committed dist/): bytes to
 * text to documents, with bounds on size, nesting and alias expansion, so that a small
 * hostile file (a "billion laughs" alias bomb, deep nesting) costs milliseconds and a few
 * megabytes, and every refusal names its line.
 */

export interface YamlLimits {
  /** Largest file read, in bytes; also the most a document may expand to through its aliases. */
  readonly maxBytes: number;
  /** Deepest nesting of mappings and sequences. */
  readonly maxDepth: number;
  /**
   * Most nodes (mappings, sequences, scalars) in a file. Memory follows the node count more
   * than the byte count: 8 MiB of one-character keys is a million objects, 400 MB.
   */
  readonly maxNodes: number;
}

const MiB = 1024 * 1024;

/**
 * Instance files: a RedisInstance is a few hundred bytes (its annotations may take up to
 * 256 KiB, Kubernetes' bound), so 1 MiB leaves room for many documents per file.
 * 64 levels: the deepest field of a RedisInstance is 4 levels down.
 */
export const INSTANCE_YAML_LIMITS: YamlLimits = { maxBytes: 1 * MiB, maxDepth: 64, maxNodes: 20_000 };

/**
 * Files in dist/: one chart's objects (an instance's file has about 400 nodes, the CRD
 * about 600, and a CRD schema nests about 20 levels).
 */
export const DIST_YAML_LIMITS: YamlLimits = { maxBytes: 8 * MiB, maxDepth: 64, maxNodes: 100_000 };

/** Texts up to this size are parsed a second time by the `yaml` package for lines and all syntax errors; larger ones only by js-yaml. */
export const MAX_POSITIONED_BYTES = 1 * MiB;

/** A file (or a document in it) refused before or while parsing, with its 1-based line. */
export interface YamlProblem {
  readonly message: string;
  readonly line?: number;
}

export function formatBytes(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const fatalUtf8KeepingBom = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The file's text, or why it is not UTF-8 text. YAML files are UTF-8 (a UTF-8 byte-order
 * mark is allowed and dropped); UTF-16 is named as such, and an invalid byte is refused
 * with its line rather than turned into U+FFFD, which would end up in a redis.conf.
 */
export function decodeUtf8(bytes: Uint8Array, options: { keepByteOrderMark?: boolean } = {}): { text: string } | YamlProblem {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || looksLikeUtf16(bytes)) {
    return { message: 'file is not UTF-8 (looks like UTF-16): save it as UTF-8' };
  }
  try {
    return { text: (options.keepByteOrderMark ? fatalUtf8KeepingBom : fatalUtf8).decode(bytes) };
  } catch {
    // A line feed byte never occurs inside a UTF-8 sequence: decode line by line to find it.
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      const slice = bytes.subarray(start, end === -1 ? bytes.length : end);
      try {
        fatalUtf8.decode(slice);
      } catch {
        return { message: 'file is not UTF-8: invalid byte sequence; save it as UTF-8', line };
      }
      if (end === -1) return { message: 'file is not UTF-8: invalid byte sequence; save it as UTF-8' };
      start = end + 1;
    }
  }
}

/** UTF-16 without a byte-order mark: ASCII text then has a NUL in every other byte. */
function looksLikeUtf16(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512) & ~1;
  if (n < 2) return false;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) even++;
    if (bytes[i + 1] === 0) odd++;
  }
  return Math.max(even, odd) * 4 >= n;
}

/**
 * How large a value is once every alias is expanded: one per node plus the length of every
 * string and key. Shared nodes (what an alias resolves to) are counted from a memo, so the
 * walk costs the size of the graph, never of its expansion. Returns the path at which the
 * budget is first exceeded (the deepest such node), or undefined.
 */
function expansionOverflow(root: unknown, budget: number): Array<string | number> | undefined {
  const sizes = new Map<object, number>();
  let culprit: Array<string | number> | undefined;
  const size = (value: unknown, path: Array<string | number>): number => {
    if (typeof value === 'string') return 1 + value.length;
    if (value === null || typeof value !== 'object') return 1 + String(value).length;
    const known = sizes.get(value);
    if (known !== undefined) {
      if (known > budget && !culprit) culprit = path;
      return known;
    }
    let total = 1;
    const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of entries) {
      total += (typeof key === 'string' ? key.length : 0) + size(child, [...path, key]);
      if (total > budget) break;
    }
    sizes.set(value, total);
    if (total > budget && !culprit) culprit = path;
    return total;
  };
  size(root, []);
  return culprit;
}

class TooManyNodes extends Error {
  constructor(readonly line: number) {
    super('too many nodes');
  }
}

export type ParsedYaml =
  | { readonly ok: true; readonly documents: readonly unknown[] }
  /** `path`: the field where alias expansion went over the bound, inside document `index`. */
  | { readonly ok: false; readonly problems: readonly YamlProblem[]; readonly index?: number; readonly path?: ReadonlyArray<string | number> };

/**
 * Parse every document of a YAML stream (empty ones dropped) within `limits`. Syntax
 * errors are all reported, each with its line (the `yaml` package finds them all; it
 * parses only when js-yaml, which is several times faster, refused the text).
 */
export function parseYamlStream(text: string, limits: YamlLimits): ParsedYaml {
  let documents: unknown[];
  let nodes = 0;
  const listener: LoadOptions['listener'] = (event, state) => {
    if (event === 'open' && ++nodes > limits.maxNodes) throw new TooManyNodes((state as unknown as { line: number }).line + 1);
  };
  try {
    // maxDepth: js-yaml 4.1.1+ bounds nesting (its type definitions predate the option).
    documents = loadAll(text, undefined, { maxDepth: limits.maxDepth, listener } as LoadOptions).filter((d) => d !== null && d !== undefined);
  } catch (error) {
    if (error instanceof TooManyNodes) {
      return { ok: false, problems: [{ message: `YAML has more than ${limits.maxNodes} nodes (mappings, sequences and scalars)`, line: error.line }] };
    }
    if (error instanceof YAMLException && /maxDepth/.test(error.reason)) {
      return { ok: false, problems: [{ message: `YAML nests deeper than ${limits.maxDepth} levels`, line: error.mark.line + 1 }] };
    }
    if (error instanceof YAMLException && /maxTotalMergeKeys/.test(error.reason)) {
      return { ok: false, problems: [{ message: 'YAML merge keys (<<) copy too many keys', line: error.mark.line + 1 }] };
    }
    return { ok: false, problems: syntaxProblems(text, error) };
  }
  for (const [index, document] of documents.entries()) {
    const path = expansionOverflow(document, limits.maxBytes);
    if (path) {
      return {
        ok: false,
        index,
        path,
        problems: [{ message: `YAML aliases expand this document beyond ${formatBytes(limits.maxBytes)}: anchors (&) and aliases (*) may not multiply content` }],
      };
    }
  }
  return { ok: true, documents };
}

const MAX_MESSAGE = 200;

function firstLine(message: string): string {
  const line = message.split('\n')[0];
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

function syntaxProblems(text: string, jsYamlError: unknown): YamlProblem[] {
  const e = jsYamlError as { reason?: string; message?: string; mark?: { line?: number } };
  const jsYamlProblem = { message: `YAML does not parse: ${firstLine(String(e.reason ?? e.message))}`, line: (e.mark?.line ?? 0) + 1 };
  if (text.length > MAX_POSITIONED_BYTES) return [jsYamlProblem];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: YamlProblem[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    for (const error of doc.errors) {
      const line = lineCounter.linePos(error.pos[0]).line;
      if (error.code === 'DUPLICATE_KEY') {
        const key = keyAt(doc, error.pos[0]) ?? text.slice(error.pos[0]).split(/[:\n]/)[0].trim();
        problems.push({ message: `YAML does not parse: duplicate key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 79)}…` : key)} (each key may appear once in a mapping)`, line });
      } else {
        problems.push({ message: `YAML does not parse: ${firstLine(error.message)}`, line });
      }
    }
  }
  if (problems.length === 0) {
    // js-yaml refused something the `yaml` package accepts (e.g. a YAML 1.1-only construct).
    problems.push(jsYamlProblem);
  }
  return problems;
}

/** The text of the mapping key that starts at `offset`. */
function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}
