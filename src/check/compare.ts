import { quote } from '../api/quote';
import { parseYamlDocuments } from '../synth/load';
import { DIST_YAML_LIMITS } from '../synth/read-yaml';
import { diffValues, sameValue, type FieldChange } from './diff';
import type { UnreadableFile } from './read-dist';

/**
 * Compare the committed dist/ with what the app synthesizes. Equality is decided on the
 * exact bytes of every file: a file that parses to the same objects but differs in its
 * bytes (formatting, order, comments) is still stale, because the next synth rewrites it
 * and the commit then shows a change nobody made. The parsed objects explain what differs.
 */

/** One object that differs inside a file present on both sides. */
export type ObjectDiff =
  /** Synthesized, but not in the committed file. */
  | { readonly change: 'missing'; readonly object: string }
  /** In the committed file, but no longer synthesized. */
  | { readonly change: 'extra'; readonly object: string }
  /** `truncated`: more fields differ than MAX_REPORTED are listed. */
  | { readonly change: 'changed'; readonly object: string; readonly fields: readonly FieldChange[]; readonly truncated?: boolean };

export type FileDiff =
  /** Synthesized, but not in dist/. `objects`: what it would hold. */
  | { readonly file: string; readonly status: 'missing'; readonly objects: readonly string[] }
  /** In dist/, but not synthesized. `objects`: what it holds. */
  | { readonly file: string; readonly status: 'extra'; readonly objects: readonly string[] }
  /** Objects or fields differ. `truncated`: more objects differ than MAX_REPORTED are listed. */
  | { readonly file: string; readonly status: 'changed'; readonly objects: readonly ObjectDiff[]; readonly truncated?: boolean }
  /** The same objects, but not the same bytes. */
  | { readonly file: string; readonly status: 'formatting'; readonly detail: string }
  /** The committed file is not valid YAML (or exceeds the bounds on nesting and aliases). */
  | { readonly file: string; readonly status: 'unparsable'; readonly error: string }
  /** The dist/ entry is not a file synth could have written (special file, bad symlink, too large, not UTF-8). */
  | { readonly file: string; readonly status: 'unreadable'; readonly error: string };

export interface DistComparison {
  /** Every file byte-for-byte equal, none missing, none extra. */
  readonly upToDate: boolean;
  /** Files compared (the union of both sides). */
  readonly fileCount: number;
  /** Only the files that differ, sorted by path. */
  readonly files: readonly FileDiff[];
}

interface ParsedObject {
  readonly key: string;
  readonly label: string;
  readonly value: unknown;
}

/** A name from a committed file, for a report line: as is when it is a plain name, else quoted and bounded. */
function shortName(text: string): string {
  return /^[-A-Za-z0-9_.:]{1,80}$/.test(text) ? text : quote(text);
}

/** `Kind namespace/name`, `Kind name` for cluster-scoped objects, `document N` for anything else. */
export function objectLabel(value: unknown, index: number): string {
  const obj = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
  const name = obj?.metadata?.name;
  if (!obj || typeof obj !== 'object' || typeof obj.kind !== 'string' || typeof name !== 'string') return `document ${index + 1}`;
  const ns = obj.metadata?.namespace;
  return `${shortName(obj.kind)} ${typeof ns === 'string' && ns ? `${shortName(ns)}/` : ''}${shortName(name)}`;
}

/** Most objects per file, and fields per object, a comparison lists: the report is for people. */
export const MAX_REPORTED = 50;

/** Thrown by parse(): the message names the line. */
class UnparsableYaml extends Error {}

function parse(text: string, file: string): ParsedObject[] {
  if (!/\.ya?ml$/.test(file)) return [{ key: 'text', label: 'text', value: text }];
  // Bounded like instance files: a committed file is input too (an alias bomb prepended to it).
  const { documents, issues } = parseYamlDocuments(text, file, DIST_YAML_LIMITS);
  if (issues.length > 0) throw new UnparsableYaml(`${issues[0].line ? `line ${issues[0].line}: ` : ''}${issues[0].message}`);
  return documents.map(({ manifest: value }, index) => {
    const v = value as { apiVersion?: unknown };
    const label = objectLabel(value, index);
    const identified = !label.startsWith('document ');
    return { key: identified ? `${String(v.apiVersion)} ${label}` : label, label, value };
  });
}

function labels(text: string, file: string): string[] {
  try {
    return parse(text, file).map((o) => o.label);
  } catch {
    return [];
  }
}

function compareFile(file: string, committed: string, synthesized: string): FileDiff {
  let oldObjects: ParsedObject[];
  try {
    oldObjects = parse(committed, file);
  } catch (error) {
    return { file, status: 'unparsable', error: String((error as Error).message).split('\n')[0] };
  }
  const newObjects = parse(synthesized, file);

  // Pair objects by identity (apiVersion, kind, namespace, name), in order for duplicates.
  const pending = new Map<string, ParsedObject[]>();
  for (const o of oldObjects) pending.set(o.key, [...(pending.get(o.key) ?? []), o]);
  const objects: ObjectDiff[] = [];
  for (const n of newObjects) {
    const o = pending.get(n.key)?.shift();
    if (!o) {
      objects.push({ change: 'missing', object: n.label });
      continue;
    }
    const fields = diffValues(o.value, n.value, [], MAX_REPORTED + 1);
    if (fields.length > MAX_REPORTED) objects.push({ change: 'changed', object: n.label, fields: fields.slice(0, MAX_REPORTED), truncated: true });
    else if (fields.length > 0) objects.push({ change: 'changed', object: n.label, fields });
  }
  for (const rest of pending.values()) for (const o of rest) objects.push({ change: 'extra', object: o.label });
  if (objects.length > MAX_REPORTED) return { file, status: 'changed', objects: objects.slice(0, MAX_REPORTED), truncated: true };
  if (objects.length > 0) return { file, status: 'changed', objects };

  const sameOrder = oldObjects.length === newObjects.length && oldObjects.every((o, i) => sameValue(o.value, newObjects[i].value));
  return {
    file,
    status: 'formatting',
    detail: sameOrder ? 'same objects, different bytes (formatting, quoting or comments)' : 'same objects in a different order',
  };
}

/**
 * Compare committed files (`actual`, relative path → content) with synthesized ones
 * (`expected`). Pure: reads nothing, writes nothing.
 */
export function compareDist(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string | UnreadableFile>): DistComparison {
  const paths = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  const files: FileDiff[] = [];
  for (const file of paths) {
    const synthesized = expected.get(file);
    const committed = actual.get(file);
    if (typeof committed === 'object') files.push({ file, status: 'unreadable', error: committed.unreadable });
    else if (committed === undefined) files.push({ file, status: 'missing', objects: labels(synthesized!, file) });
    else if (synthesized === undefined) files.push({ file, status: 'extra', objects: labels(committed, file) });
    else if (committed !== synthesized) files.push(compareFile(file, committed, synthesized));
  }
  return { upToDate: files.length === 0, fileCount: paths.length, files };
}
