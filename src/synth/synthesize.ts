import { App, Chart } from 'cdk8s';
import { RedisInstance } from '../constructs/redis-instance';
import { RedisValidationError, ValidationIssue, duplicateIssues, specWarnings, validateRedisInstance, type FieldPath } from '../api/validate';
import type { ResolvedRedisInstance } from '../api/types';
import { loadYamlDirectory, type LoadedDocument } from './load';
import { renderDistFiles, writeDistAtomically } from './dist';

export interface SynthesizeOptions {
  /** Folders searched recursively for RedisInstance YAML (several documents per file allowed). */
  readonly instanceDirs?: readonly string[];
  /** Defines the charts written in TypeScript (CRD, examples, platform objects). */
  readonly define?: (app: App) => void;
  /** File names in messages are relative to this folder. @default process.cwd() */
  readonly displayRoot?: string;
  /**
   * Runs once every chart exists (those of `define` and the one of the YAML instances),
   * right before rendering; e.g. `prepareForArgoCd` for sync waves.
   * @default - nothing
   */
  readonly finalize?: (app: App) => void;
  /**
   * Module paths the YAML instances' `config.loadmodule` may name. Modules run native
   * code in redis-server, so the allowlist lives here, in TypeScript, never in YAML.
   * @default - none: loadmodule is refused
   */
  readonly allowedModules?: readonly string[];
}

export interface SynthesizeResult {
  /** dist/ contents keyed by relative path; empty when there are issues. */
  readonly files: Map<string, string>;
  /** Every problem found in every input. */
  readonly issues: readonly ValidationIssue[];
  /** What synthesizes but is probably a mistake (specWarnings), in file order. */
  readonly warnings: readonly ValidationIssue[];
  /** Where each instance (`namespace/name`) was defined, for messages about its rendered files. */
  readonly sources?: ReadonlyMap<string, InstanceSource>;
}

/** A YAML file (and a way to find the line of a field in it), or a TypeScript construct path. */
export interface InstanceSource {
  readonly instance: ResolvedRedisInstance;
  readonly file?: string;
  readonly lineOf?: (path: FieldPath) => number | undefined;
  readonly definedAt?: string;
}

/** Id of the chart that holds the RedisInstances read from YAML. */
export const YAML_INSTANCES_CHART = 'instances';

/**
 * Build the app in memory: the TypeScript charts, then every RedisInstance from YAML.
 * Nothing is written; all inputs are checked and all issues are returned together.
 */
export function synthesize(options: SynthesizeOptions): SynthesizeResult {
  const app = new App({ outdir: '.' });
  const issues: ValidationIssue[] = [];
  try {
    options.define?.(app);
  } catch (error) {
    if (!(error instanceof RedisValidationError)) throw error;
    issues.push(...error.issues);
  }

  // Instances already defined in TypeScript take part in the duplicate check.
  const all: Parameters<typeof duplicateIssues>[0][number][] = app.node
    .findAll()
    .filter(RedisInstance.isRedisInstance)
    .map((r) => ({ instance: { name: r.name, namespace: r.namespace, spec: r.spec }, definedAt: r.node.path }));
  // A construct whose props were refused stays in the tree without a spec.
  const warnings: ValidationIssue[] = app.node.findAll().filter(RedisInstance.isRedisInstance).filter((r) => r.spec !== undefined)
    .flatMap((r) => specWarnings({ name: r.name, namespace: r.namespace, spec: r.spec }));
  const fromYaml: Array<{ instance: ResolvedRedisInstance; file: string; lineOf: LoadedDocument['lineOf'] }> = [];
  for (const dir of options.instanceDirs ?? []) {
    const loaded = loadYamlDirectory(dir, options.displayRoot);
    issues.push(...loaded.issues);
    for (const doc of loaded.documents) {
      const result = validateRedisInstance(doc.manifest, { file: doc.file, lineOf: doc.lineOf, allowedModules: options.allowedModules });
      if (!result.ok) issues.push(...result.issues);
      else {
        warnings.push(...result.warnings);
        fromYaml.push({ instance: result.instance, file: doc.file, lineOf: doc.lineOf });
      }
    }
  }
  all.push(...fromYaml);
  issues.push(...duplicateIssues(all));
  if (issues.length > 0) return { files: new Map(), issues: inFileOrder(issues), warnings: inFileOrder(warnings) };

  if (fromYaml.length > 0) {
    const chart = new Chart(app, YAML_INSTANCES_CHART);
    for (const { instance } of fromYaml) {
      RedisInstance.fromResolved(chart, `${instance.namespace}.${instance.name}`, instance);
    }
  }
  options.finalize?.(app);
  const sources = new Map<string, InstanceSource>(all.map((source) => [`${source.instance.namespace}/${source.instance.name}`, source]));
  return { files: renderDistFiles(app), issues: [], sources, warnings: inFileOrder(warnings) };
}

/** Issues without a file (TypeScript) first, then by file and line; stable otherwise. */
function inFileOrder(issues: ValidationIssue[]): ValidationIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.file ?? '').localeCompare(b.issue.file ?? '')
      || (a.issue.line ?? 0) - (b.issue.line ?? 0)
      || a.index - b.index)
    .map(({ issue }) => issue);
}

/**
 * Synthesize and replace `outdir` atomically. On any issue, print them all to `stderr`,
 * leave `outdir` exactly as it was and return exit code 1.
 */
export async function synthesizeToDirectory(
  outdir: string,
  options: SynthesizeOptions,
  stderr: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const { files, issues, warnings } = synthesize(options);
  for (const warning of warnings) stderr(`warning: ${warning}`);
  if (issues.length > 0) {
    for (const issue of issues) stderr(`error: ${issue}`);
    stderr(`synth failed: ${issues.length} problem${issues.length === 1 ? '' : 's'}; ${outdir} was left unchanged`);
    return 1;
  }
  await writeDistAtomically(outdir, files);
  return 0;
}
