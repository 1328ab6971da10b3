import { Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from './main';
import { UsageError } from './io';

interface RoleAgentCommandOptions {
  kubeconfig?: string;
  redisHost: string;
  pollInterval: number;
  podInterval: number;
  statusOnly?: boolean;
}

function milliseconds(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 50 || n > 600_000) throw new InvalidArgumentError(`${name} must be a whole number of milliseconds from 50 to 600000, got "${value}"`);
    return n;
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new UsageError(`${name} is not set (the StatefulSet sets it in the role-agent container)`);
  return value;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name] ?? String(fallback);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${name} must be a TCP port, got "${value}"`);
  return n;
}

/**
 * `redis-gitops role-agent`: the pod agent, in every pod of an instance with spec.podAgent
 * (always with failover: docs/failover.md; the config status: docs/live-changes.md). Its pod,
 * namespace and instance come from the env the StatefulSet gives it; the config agent's
 * status file from CONFIG_STATUS_FILE; the password, with auth, from the file
 * REDIS_PASSWORD_FILE names (read again on each connection); with TLS, the CA, certificate
 * and key from REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, checking the
 * server name REDIS_TLS_SERVER_NAME. Runs until SIGTERM or SIGINT.
 */
export function roleAgentCommand(ctx: CommandContext): Command {
  return new Command('role-agent')
    .description("Keep this pod's redis.github.com/role label in step with its Redis, and answer failover requests (runs in the Redis pods)")
    .option('--kubeconfig <path>', 'kubeconfig file (default: the in-cluster service account)')
    .option('--redis-host <host>', 'where the pod\'s Redis and Sentinel listen', '127.0.0.1')
    .addOption(new Option('--poll-interval <ms>', 'how often to ask Redis for its role').argParser(milliseconds('--poll-interval')).default(1000))
    .addOption(new Option('--pod-interval <ms>', 'how often to read the pod (labels, failover requests)').argParser(milliseconds('--pod-interval')).default(2000))
    .option('--status-only', 'only publish the config agent\'s status as the pod annotation (instances without failover)')
    .action(async (options: RoleAgentCommandOptions) => {
      const env = ctx.io.env;
      const podName = required(env, 'POD_NAME');
      const namespace = required(env, 'POD_NAMESPACE');
      const instance = required(env, 'INSTANCE');
      const statusOnly = options.statusOnly === true;
      const redisPort = port(env, 'REDIS_PORT', 6379);
      const configStatusFile = env.CONFIG_STATUS_FILE || undefined;
      const sentinelPort = port(env, 'SENTINEL_PORT', 26379);
      // Loaded here: the other commands never pay for the agent.
      const [{ runRoleAgent, readPasswordFile }, { loadKubeConfig, KubeConfigError }] = await Promise.all([
        import('../role-agent/agent'), import('../reconcile/kube'),
      ]);
      let password: string | undefined;
      if (env.REDIS_PASSWORD_FILE && !statusOnly) {
        try {
          password = readPasswordFile(env.REDIS_PASSWORD_FILE);
        } catch (error) {
          throw new UsageError(`cannot read the password file ${env.REDIS_PASSWORD_FILE}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      // spec.tls: Redis and Sentinel speak TLS only; the agent presents the pod's certificate.
      const tls = env.REDIS_TLS_CA_FILE ? {
        caFile: env.REDIS_TLS_CA_FILE,
        ...(env.REDIS_TLS_CERT_FILE ? { certFile: env.REDIS_TLS_CERT_FILE } : {}),
        ...(env.REDIS_TLS_KEY_FILE ? { keyFile: env.REDIS_TLS_KEY_FILE } : {}),
        ...(env.REDIS_TLS_SERVER_NAME ? { serverName: env.REDIS_TLS_SERVER_NAME } : {}),
      } : undefined;
      let kubeConfig;
      try {
        kubeConfig = loadKubeConfig({ kubeconfig: options.kubeconfig, env: options.kubeconfig ? env : { KUBERNETES_SERVICE_HOST: env.KUBERNETES_SERVICE_HOST } }).kubeConfig;
      } catch (error) {
        if (error instanceof KubeConfigError) throw new UsageError(error.message);
        throw error;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      ctx.io.stderr(statusOnly
        ? `role-agent: pod ${namespace}/${podName}, instance ${instance}, config status only (${configStatusFile ?? 'no CONFIG_STATUS_FILE'})`
        : `role-agent: pod ${namespace}/${podName}, instance ${instance}, Redis ${options.redisHost}:${redisPort}, Sentinel ${options.redisHost}:${sentinelPort}${tls ? ` (TLS, server name ${tls.serverName ?? options.redisHost})` : ''}`);
      try {
        await runRoleAgent({
          kubeConfig, namespace, podName, instance, statusOnly, configStatusFile,
          ...(statusOnly ? {} : {
            redis: { host: options.redisHost, port: redisPort, password, ...(tls ? { tls } : {}) },
            sentinel: { host: options.redisHost, port: sentinelPort, password, ...(tls ? { tls } : {}) },
            passwordFile: env.REDIS_PASSWORD_FILE || undefined,
          }),
          // Sentinel knows the pods by their stable DNS names (announce-hostnames).
          self: { host: `${podName}.${instance}.${namespace}.svc`, port: redisPort },
          pollMs: options.pollInterval,
          podMs: options.podInterval,
          log: (entry) => ctx.io.stdout(JSON.stringify({ time: new Date().toISOString(), ...entry })),
          signal: stop.signal,
        });
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}

