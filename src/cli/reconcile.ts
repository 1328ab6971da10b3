import { Command } from 'commander';
import { registerCommand, type CommandContext } from './main';
import { addKubeOptions, runAndReport, type KubeCommandOptions } from './kube-options';
import { DEFAULT_LEASE_NAME } from '../reconcile/permissions';

interface ReconcileOptions extends KubeCommandOptions {
  dryRun?: boolean;
  leaseNamespace?: string;
  leaseName: string;
}

/** `redis-gitops reconcile`: carry the actions out and write status (what the CronJob runs). */
export function reconcileCommand(ctx: CommandContext): Command {
  return addKubeOptions(new Command('reconcile'))
    .description('Create, update or recreate what each RedisInstance needs, expand claims, and write status')
    .option('--dry-run', 'plan and print what would be done; write nothing (not even the Lease)')
    .option('--lease-namespace <namespace>', 'namespace of the Lease that keeps two runs from acting at once (default: $POD_NAMESPACE, else default)')
    .option('--lease-name <name>', 'name of that Lease', DEFAULT_LEASE_NAME)
    .action(async (options: ReconcileOptions) => {
      await runAndReport(ctx, options, { dryRun: options.dryRun ?? false, leaseNamespace: options.leaseNamespace, leaseName: options.leaseName });
    });
}

registerCommand(reconcileCommand);
