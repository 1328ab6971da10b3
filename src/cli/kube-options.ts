import { Command, InvalidArgumentError, Option } from 'commander';

/**
 * The flags `plan` and `reconcile` share (kubeconfig, scope, output, request tuning), with
 * their bounds. No client import: `--help` and a bad flag load nothing else.
 */

export interface KubeCommandOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output: 'text' | 'json';
  requestTimeout: number;
  retries: number;
  retryBackoff: number;
  retryMaxDelay: number;
  passTimeout: number;
  verbose?: boolean;
}

/** The caps (docs/reconciler.md, Faults): together they bound a pass however the flags are set. */
export const LIMITS = {
  /** --request-timeout, ms: 1 ms to 10 minutes. */
  requestTimeoutMs: { min: 1, max: 600_000 },
  /** --retries: attempts per request. */
  retries: { min: 1, max: 10 },
  /** --retry-backoff and --retry-max-delay, ms. */
  retryDelayMs: { min: 0, max: 60_000 },
  /** --pass-timeout, s: 1 s to 1 hour. */
  passTimeoutSeconds: { min: 1, max: 3_600 },
} as const;

/** A whole number in [min, max]; anything else is a usage error (exit 2) naming the flag and the bounds. */
export function wholeNumber(flag: string, { min, max }: { readonly min: number; readonly max: number }) {
  return (value: string) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace name (DNS-1123 label), checked here so a bad one is never sent. */
export function namespaceName(flag: string) {
  return (value: string) => {
    if (value.length > 63 || !DNS1123_LABEL.test(value)) {
      throw new InvalidArgumentError(`${flag} "${value}" is not a valid namespace name: at most 63 characters, lowercase letters, digits and '-', starting and ending with a letter or digit`);
    }
    return value;
  };
}

/** Adds --kubeconfig, --context, -n/-A, -o and the request tuning flags. */
export function addKubeOptions(command: Command): Command {
  return command
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .addOption(new Option('-n, --namespace <namespace>', "namespace to reconcile (default: the context's namespace, else default)").argParser(namespaceName('-n/--namespace')))
    .option('-A, --all-namespaces', 'reconcile RedisInstances in every namespace')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--request-timeout <ms>', `timeout of each API request, in milliseconds (at most ${LIMITS.requestTimeoutMs.max})`)
      .argParser(wholeNumber('--request-timeout', LIMITS.requestTimeoutMs)).default(10_000))
    .addOption(new Option('--retries <n>', `attempts per request on 429, 5xx, timeouts and resets (at most ${LIMITS.retries.max})`)
      .argParser(wholeNumber('--retries', LIMITS.retries)).default(4))
    .addOption(new Option('--pass-timeout <s>', `no request is sent after this many seconds (at most ${LIMITS.passTimeoutSeconds.max}); what is left is done next pass`)
      .argParser(wholeNumber('--pass-timeout', LIMITS.passTimeoutSeconds)).default(200))
    .addOption(new Option('--retry-backoff <ms>', 'first delay between attempts, doubled each time').argParser(wholeNumber('--retry-backoff', LIMITS.retryDelayMs)).default(200).hideHelp())
    .addOption(new Option('--retry-max-delay <ms>', 'longest delay between attempts, Retry-After included').argParser(wholeNumber('--retry-max-delay', LIMITS.retryDelayMs)).default(5_000).hideHelp())
    .option('-v, --verbose', 'print request counts and timing to stderr');
}
