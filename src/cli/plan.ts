import { Command } from 'commander';
import { addKubeOptions, type KubeCommandOptions } from './kube-options';
import type { CommandContext } from './main';

/** `redis-gitops plan`: per instance, the action and why (fields, old → new). Writes nothing. */
export function planCommand(ctx: CommandContext): Command {
  return addKubeOptions(new Command('plan'))
    .description('Show, per RedisInstance, what reconcile would do and why (fields, old → new); writes nothing')
    .action(async (options: KubeCommandOptions) => {
      const { runAndReport } = await import('./kube-run');
      await runAndReport(ctx, options, { dryRun: true });
    });
}
