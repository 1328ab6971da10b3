import { Command, Option } from 'commander';
import { DEFAULT_LEASE_NAME } from '../reconcile/permissions';
import { addKubeOptions, namespaceName, type KubeCommandOptions } from './kube-options';
import type { CommandContext } from './main';

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
    .addOption(new Option('--lease-namespace <namespace>', 'namespace of the Lease that keeps two runs from acting at once (default: $POD_NAMESPACE, else default)')
      .argParser(namespaceName('--lease-namespace')))
    .option('--lease-name <name>', 'name of that Lease', DEFAULT_LEASE_NAME)
    .action(async (options: ReconcileOptions) => {
      // Loaded here, so the other commands (and --help) never load the client, and reconcile never loads synth.
      const { runAndReport } = await import('./kube-run');
      await runAndReport(ctx, options, { dryRun: options.dryRun ?? false, leaseNamespace: options.leaseNamespace, leaseName: options.leaseName });
    });
}
