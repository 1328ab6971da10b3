/** Where a command writes, and what it reads from its surroundings; tests pass their own. */
export interface CliIO {
  /** Data (tables, JSON): one call per line or block. */
  readonly stdout: (text: string) => void;
  /** Diagnostics: one call per line. */
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
/** The work failed (an action, the API after retries, a stale dist/, a config Redis refused). */
export const EXIT_FAILED = 1;
/** Bad usage or unusable input (flags, kubeconfig). */
export const EXIT_USAGE = 2;

/** Thrown by a command for bad usage; main turns it into exit code 2 and one stderr line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
