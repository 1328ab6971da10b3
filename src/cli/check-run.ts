import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ApiObject } from 'cdk8s';
import { RedisInstance } from '../constructs/redis-instance';
import {
  AppModuleError, compareDist, formatComparison, loadSynthOptions, readDistFiles, renderedRedisConfs,
  type DistComparison,
} from '../check';
import { RedisServerNotFoundError, verifyRedisConfigs, type RedisConfigVerification } from '../redis-conf/verify';
import { synthesize, type SynthesizeOptions, type SynthesizeResult } from '../synth/synthesize';
import { ValidationIssue, formatPath, type FieldPath } from '../api/validate';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io';
import type { CheckOptions } from './check';

/**
 * What `redis-gitops check` runs (loaded only when it runs: it brings cdk8s and synth): the CI gate that keeps dist/ honest. It synthesizes the app in
 * memory (the `synthOptions` its module exports), compares the result with the committed
 * dist/ byte for byte and reports every difference. It writes nothing.
 * Exit codes: 0 up to date; 1 stale, invalid input, or a redis.conf Redis refused; 2 usage.
 */

/**
 * The app's RedisInstances must be the CLI's own class: an app that imports another copy
 * of redis-gitops (its TypeScript sources while the CLI runs from lib/, or two installed
 * versions) would be laid out differently, and the comparison would be wrong.
 */
function sameLibraryCopy(options: SynthesizeOptions, file: string): SynthesizeOptions {
  if (!options.define) return options;
  const define = options.define;
  return {
    ...options,
    define: (app) => {
      define(app);
      const foreign = app.node.findAll().find((c) => c.constructor?.name === 'RedisInstance' && !ApiObject.isApiObject(c)
        && !RedisInstance.isRedisInstance(c));
      if (foreign) {
        throw new AppModuleError(
          `${file} uses another copy of redis-gitops than this CLI (${foreign.node.path}): run the CLI of the `
          + 'installation the app imports (npx redis-gitops check in its project; in the redis-gitops repository: npm run cli -- check)',
        );
      }
    },
  };
}

/** A RedisValidationError from any copy of the library: its issues, for the report. */
function validationIssues(error: unknown): readonly unknown[] | undefined {
  const e = error as { name?: unknown; issues?: unknown } | null;
  return e && e.name === 'RedisValidationError' && Array.isArray(e.issues) ? e.issues : undefined;
}

export async function runCheck(options: CheckOptions, io: CliIO): Promise<number> {
  const distDir = resolve(io.cwd, options.dist);
  const distShown = options.dist.replace(/[\\/]+$/, '') || '.';
  if (!existsSync(distDir) || !statSync(distDir).isDirectory()) {
    throw new UsageError(`dist folder not found: ${distShown} (give the committed output folder with --dist <dir>)`);
  }

  let app: Awaited<ReturnType<typeof loadSynthOptions>>;
  try {
    app = await loadSynthOptions(options.app, io.cwd);
  } catch (error) {
    if (error instanceof AppModuleError) throw new UsageError(error.message);
    throw error;
  }
  const appShown = relative(io.cwd, app.file);

  let result: ReturnType<typeof synthesize>;
  try {
    result = synthesize(sameLibraryCopy(app.options, appShown));
  } catch (error) {
    if (error instanceof AppModuleError) throw new UsageError(error.message);
    const issues = validationIssues(error);
    if (!issues) throw error;
    result = { files: new Map(), issues: issues as never, warnings: [] };
  }
  for (const warning of result.warnings ?? []) io.stderr(`warning: ${String(warning)}`);
  if (result.issues.length > 0) {
    for (const issue of result.issues) io.stderr(`error: ${String(issue)}`);
    io.stderr(`check failed: ${appShown} does not synthesize (${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}); ${distShown}/ was not compared`);
    if (options.output === 'json') io.stdout(JSON.stringify({ upToDate: false, issues: result.issues.map(String) }));
    return EXIT_FAILED;
  }

  const comparison: DistComparison = compareDist(result.files, readDistFiles(distDir));
  let code = comparison.upToDate ? EXIT_OK : EXIT_FAILED;

  let verifications: RedisConfigVerification[] | undefined;
  if (options.redisServer !== undefined) {
    const redisServer = options.redisServer === true ? undefined : options.redisServer;
    try {
      verifications = await verifyRedisConfigs(renderedRedisConfs(result.files), redisServer ? { redisServer } : {});
    } catch (error) {
      if (error instanceof RedisServerNotFoundError) throw new UsageError(error.message);
      throw error;
    }
    if (verifications.some((v) => !v.ok)) code = EXIT_FAILED;
  }

  if (options.output === 'json') {
    const redisConfigs = verifications?.map((v) => (v.ok ? v : { ...v, source: String(refusalIssue(v, result.sources)) }));
    io.stdout(JSON.stringify({ ...comparison, ...(redisConfigs ? { redisConfigs } : {}) }));
  } else {
    io.stdout(formatComparison(comparison, distShown).join('\n'));
    if (verifications) {
      const failed = verifications.filter((v) => !v.ok);
      for (const v of failed) {
        io.stdout(`\n${String(refusalIssue(v, result.sources))}:\n${(v.error ?? 'unknown error').replace(/^/gm, '    ')}`);
      }
      io.stdout(failed.length === 0
        ? `redis-server accepted the redis.conf of all ${verifications.length} instances`
        : `redis-server refused ${failed.length} of ${verifications.length} redis.conf files`);
    }
  }
  if (!comparison.upToDate) io.stderr(`error: ${distShown}/ is stale (${comparison.files.length} file${comparison.files.length === 1 ? '' : 's'})`);
  return code;
}

/**
 * Where a refused redis.conf came from: the instance's YAML file and the line of the
 * refused `spec.config` key (else of the document), or the TypeScript construct.
 */
function refusalIssue(v: RedisConfigVerification, sources: SynthesizeResult['sources']): ValidationIssue {
  const source = sources?.get(v.instance);
  // The refused line sets a key of spec.config, not a default or a line redis-gitops adds.
  const field: FieldPath = v.directive !== undefined && source && Object.hasOwn(source.instance.spec.config, v.directive)
    ? ['spec', 'config', v.directive] : [];
  const line = v.line ? ` (line ${v.line})` : '';
  const ts = !source?.file && source?.definedAt ? ` of the TypeScript instance ${source.definedAt}` : '';
  return new ValidationIssue(v.instance, formatPath(field), `redis-server refused the redis.conf${ts}${line}`, source?.file, source?.lineOf?.(field));
}
