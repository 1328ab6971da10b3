import { Command, CommanderError } from 'commander';
import { checkCommand } from './check';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, processIO, type CliIO } from './io';
import { planCommand } from './plan';
import { reconcileCommand } from './reconcile';
import { roleAgentCommand } from './role-agent';
import { PACKAGE_VERSION } from '../version';

/** What a command gets: where to write, and how to report its exit code. */
export interface CommandContext {
  readonly io: CliIO;
  /** The process exit code; the highest code set wins (1 over 0, 2 over 1). */
  setExitCode(code: number): void;
}

/**
 * Builds one command: its flags only. Its action imports what it runs when it runs, so
 * `reconcile` never loads cdk8s or synth, and `check` never loads the Kubernetes client.
 * Commands write through `ctx.io` only, so tests capture everything.
 */
export type CommandFactory = (ctx: CommandContext) => Command;

/** The commands of the `redis-gitops` bin, in help order; one file each under src/cli/. */
const COMMANDS: readonly CommandFactory[] = [planCommand, reconcileCommand, checkCommand, roleAgentCommand];

/** The commander program; `exitCode` receives what the commands report. */
export function makeProgram(ctx: CommandContext): Command {
  const output = { writeOut: (s: string) => ctx.io.stdout(s), writeErr: (s: string) => ctx.io.stderr(s) };
  const program = new Command('redis-gitops')
    .description('Declarative Redis on Kubernetes for GitOps: synthesize, check and reconcile RedisInstances.')
    .version(PACKAGE_VERSION)
    .configureOutput(output)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const factory of COMMANDS) program.addCommand(factory(ctx).exitOverride().configureOutput(output));
  return program;
}

/** Run the CLI with `args` (without `node` and the script) and return the exit code. */
export async function run(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  let exitCode = EXIT_OK;
  const ctx: CommandContext = { io, setExitCode: (code) => { exitCode = Math.max(exitCode, code); } };
  try {
    await makeProgram(ctx).parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exitCode 0; commander already printed parse errors.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}`);
      return EXIT_USAGE;
    }
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
}
