import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ApiObject, Chart, type App } from 'cdk8s';
import { RedisInstance } from '../constructs/redis-instance';
import { toYamlDocuments } from './yaml';

/**
 * The dist/ layout: one file per chart (`<chart id>.yaml`) for shared objects such as the
 * CRD, and one file per RedisInstance (`instances/<namespace>/<name>.yaml`), so a change
 * to one instance shows up as a change to one file in review.
 */
export function instanceFile(namespace: string, name: string): string {
  return `instances/${namespace}/${name}.yaml`;
}

/** Render the app's objects into file contents, keyed by path relative to the output folder. */
export function renderDistFiles(app: App): Map<string, string> {
  const files = new Map<string, string>();
  for (const chart of app.node.children.filter(Chart.isChart)) {
    const shared: ApiObject[] = [];
    const visit = (node: typeof chart.node.children[number]) => {
      if (node instanceof RedisInstance) {
        const path = instanceFile(node.namespace, node.name);
        if (files.has(path)) throw new Error(`two RedisInstances render to ${path}: ${node.namespace}/${node.name} is defined twice`);
        files.set(path, toYamlDocuments(node.apiObjects.map((o) => o.toJson())));
        return;
      }
      if (node instanceof ApiObject) shared.push(node);
      for (const child of node.node.children) visit(child);
    };
    for (const child of chart.node.children) visit(child);
    if (shared.length > 0) files.set(`${chart.node.id}.yaml`, toYamlDocuments(shared.map((o) => o.toJson())));
  }
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Replace `outdir` with exactly `files`, or leave it untouched: the files are written to a
 * staging folder beside it, which then takes its place by rename. Files are written
 * concurrently: on some disks creating a file costs about a millisecond, and a fleet of a
 * thousand instances is a thousand files.
 */
export async function writeDistAtomically(outdir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const target = resolve(outdir);
  mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.staging-`));
  chmodSync(staging, 0o755); // mkdtemp makes it private; dist/ is an ordinary folder
  try {
    const folders = new Set([...files.keys()].map((path) => dirname(join(staging, path))));
    await Promise.all([...folders].map((folder) => mkdir(folder, { recursive: true })));
    await Promise.all([...files].map(([path, content]) => writeFile(join(staging, path), content)));
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const previous = `${staging}.previous`;
  const hadTarget = existsSync(target);
  if (hadTarget) renameSync(target, previous);
  try {
    renameSync(staging, target);
  } catch (error) {
    if (hadTarget) renameSync(previous, target);
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  if (hadTarget) await rm(previous, { recursive: true, force: true });
}
