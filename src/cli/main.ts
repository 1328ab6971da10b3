import { Command, CommanderError } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, processIO, type CliIO } from './io';

/**
 * A command registers itself on the program. Its action returns the exit code;
 * it writes through `io` only, so tests capture stdout, stderr and the code.
 */
export type CommandFactory = (io: CliIO) => Command;

/** The commands of the `redis-gitops` bin, one file each under src/cli/. */
const COMMANDS: CommandFactory[] = [];

/** Add a command (used by the files under src/cli/ and by tests). */
export function registerCommand(factory: CommandFactory): void {
  COMMANDS.push(factory);
}

export function makeProgram(io: CliIO = processIO()): Command {
  const program = new Command('redis-gitops')
    .description('Declarative Redis on Kubernetes for GitOps: synthesize, check and reconcile RedisInstances.')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const factory of COMMANDS) {
    program.addCommand(factory(io).exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) }));
  }
  return program;
}

/** Exit code a command action stores here; `run` returns it. */
export const exitCodes = new WeakMap<CliIO, number>();

/** Run the CLI with `args` (without `node` and the script) and return the exit code. */
export async function run(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = makeProgram(io);
  try {
    exitCodes.delete(io);
    await program.parseAsync([...args], { from: 'user' });
    return exitCodes.get(io) ?? EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exitCode 0; parse errors were already printed.
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
