import { KubeClient, KubeConfigError, loadKubeConfig } from '../reconcile/kube';
import { runPass, type InstanceResult, type PassOptions, type PassResult } from '../reconcile/run';
import { EXIT_FAILED, UsageError, type CliIO } from './io';
import type { KubeCommandOptions } from './kube-options';
import type { CommandContext } from './main';

/**
 * What `plan` and `reconcile` run (loaded only when one of them runs): building the client,
 * running a pass and printing it (a table, or JSON Lines: one object per instance).
 */

export interface KubeSetup {
  readonly client: KubeClient;
  /** undefined for all namespaces. */
  readonly namespace: string | undefined;
}

/** Build the client; an unusable kubeconfig or conflicting flags are usage errors (exit 2). */
export function setUpKube(options: KubeCommandOptions, io: CliIO): KubeSetup {
  if (options.namespace && options.allNamespaces) throw new UsageError('use either -n/--namespace or -A/--all-namespaces, not both');
  try {
    const loaded = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context, env: io.env });
    const client = new KubeClient(loaded.kubeConfig, {
      timeoutMs: options.requestTimeout,
      attempts: options.retries,
      backoffMs: options.retryBackoff,
      maxBackoffMs: options.retryMaxDelay,
      deadline: new Date(Date.now() + options.passTimeout * 1000),
    });
    return { client, namespace: options.allNamespaces ? undefined : options.namespace ?? loaded.namespace };
  } catch (error) {
    if (error instanceof KubeConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** Run a pass and print it; sets exit code 1 when an instance or the pass failed. */
export async function runAndReport(ctx: CommandContext, options: KubeCommandOptions, pass: Omit<PassOptions, 'client' | 'namespace' | 'leaseNamespace'> & { readonly leaseNamespace?: string }): Promise<PassResult> {
  const { io } = ctx;
  const kube = setUpKube(options, io);
  const started = performance.now();
  const result = await runPass({
    ...pass,
    client: kube.client,
    namespace: kube.namespace,
    leaseNamespace: pass.leaseNamespace ?? io.env.POD_NAMESPACE ?? 'default',
  });
  // The formatter comes with the planning code: loaded only when there is a table row to write.
  const show = options.output === 'text' && result.instances.length > 0 ? (await import('../reconcile/format')).reasonValue : String;
  printResult(io, result, options.output, show);
  if (result.leaseHeld) {
    io.stderr(`lease ${pass.leaseNamespace ?? io.env.POD_NAMESPACE ?? 'default'}/${pass.leaseName ?? 'redis-gitops-reconciler'} is held by ${result.leaseHeld.holder} until ${result.leaseHeld.until}: another run is acting, so this one changed nothing`);
  }
  if (result.error) {
    io.stderr(`error: ${result.error}`);
    ctx.setExitCode(EXIT_FAILED);
  }
  for (const instance of result.instances) {
    for (const warning of instance.warnings) io.stderr(`warning: ${instance.namespace}/${instance.name}: ${warning}`);
    if (instance.error) {
      io.stderr(`error: ${instance.namespace}/${instance.name}: ${instance.error}`);
      ctx.setExitCode(EXIT_FAILED);
    }
  }
  if (options.verbose) {
    const r = result.requests;
    const usage = process.resourceUsage();
    io.stderr(`${result.instances.length} instance(s), ${r.total} request(s) (get ${r.get}, list ${r.list}, create ${r.create}, update ${r.update}, patch ${r.patch}, delete ${r.delete}) in ${Math.round(performance.now() - started)} ms, CPU ${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)} ms, peak RSS ${Math.round(usage.maxRSS / 1024)} MiB`);
  }
  return result;
}

/** What changed, for the table: the reasons (old → new), then the other writes. */
export function describeChanges(instance: InstanceResult, show: (value: unknown) => string): string {
  if (instance.action === 'refuse') return instance.message;
  const parts = instance.reasons
    .filter((r) => r.field)
    .map((r) => (r.from === undefined && r.to === undefined ? `${r.field} changed` : `${r.field}: ${show(r.from)} → ${show(r.to)}`));
  if (instance.reasons.some((r) => !r.field)) parts.unshift(...instance.reasons.filter((r) => !r.field).map((r) => `${r.object} ${show(r.to)}`));
  parts.push(...instance.writes);
  if (parts.length === 0 && instance.message.startsWith('invalid spec')) return instance.message;
  return parts.join('; ') || '-';
}

export function printResult(io: CliIO, result: PassResult, output: 'text' | 'json', show: (value: unknown) => string): void {
  if (output === 'json') {
    for (const instance of result.instances) {
      io.stdout(JSON.stringify({
        namespace: instance.namespace,
        name: instance.name,
        action: instance.action,
        reasons: instance.reasons,
        writes: instance.writes,
        message: instance.message,
        phase: instance.phase,
        statusChanged: instance.statusChanged,
        dryRun: result.dryRun,
        ...(instance.error ? { error: instance.error } : {}),
        ...(instance.warnings.length > 0 ? { warnings: instance.warnings } : {}),
      }));
    }
    return;
  }
  if (result.instances.length === 0) {
    if (!result.leaseHeld && !result.error) io.stdout('No RedisInstances found.');
    return;
  }
  const rows = [
    ['NAMESPACE', 'NAME', 'ACTION', 'CHANGES', 'PHASE'],
    ...result.instances.map((i) => [i.namespace, i.name, i.error ? `${i.action} (failed)` : i.action, describeChanges(i, show), i.phase]),
  ];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  for (const row of rows) {
    io.stdout(row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]))).join('  '));
  }
}
