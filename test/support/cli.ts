import type { CliIO } from '../../src/cli/io';

/** A CliIO that records what a command writes, for `run(args, io)` in tests. */
export function captureIO(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, cwd };
}
