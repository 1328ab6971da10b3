import { Command } from 'commander';
import { registerCommand, type CommandContext } from './main';
import { addKubeOptions, runAndReport, type KubeCommandOptions } from './kube-options';

/** `redis-gitops plan`: per instance, the action and why (fields, old → new). Writes nothing. */
export function planCommand(ctx: CommandContext): Command {
  return addKubeOptions(new Command('plan'))
    .description('Show, per RedisInstance, what reconcile would do and why (fields, old → new); writes nothing')
    .action(async (options: KubeCommandOptions) => {
      await runAndReport(ctx, options, { dryRun: true });
    });
}

registerCommand(planCommand);
