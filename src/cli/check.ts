import { Command, Option } from 'commander';
import { DEFAULT_APP_MODULE } from '../check/load-app';
import type { CommandContext } from './main';

export interface CheckOptions {
  dist: string;
  app: string;
  redisServer?: string | true;
  output: 'text' | 'json';
}

/** `redis-gitops check`: the CI gate that keeps dist/ honest (see check-run.ts). */
export function checkCommand(ctx: CommandContext): Command {
  return new Command('check')
    .description('Synthesize in memory and compare with the committed dist/ (CI gate): exit 0 when equal, 1 when stale, 2 on bad usage; writes nothing')
    .option('--dist <dir>', 'the committed output folder', 'dist')
    .option('--app <module>', 'the cdk8s app module that exports synthOptions (TypeScript needs tsx)', DEFAULT_APP_MODULE)
    .option('--redis-server [path]', 'also start each rendered redis.conf with redis-server (this path, else redis-server on PATH)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options: CheckOptions) => {
      const { runCheck } = await import('./check-run');
      ctx.setExitCode(await runCheck(options, ctx.io));
    });
}
