import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { FAILOVER_BELOW_ANNOTATION, FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, type Role } from '../render/role-agent';
import { shapeRequest } from '../reconcile/kube';
import { handOver } from './handover';
import { RedisReplyError, parseInfo, sendCommand, type RedisTarget } from './resp';

/**
 * The role agent's loop (docs/failover.md, "Role labels and the primary Service"):
 * - every `pollMs`: INFO replication on the local Redis; when the role differs from the
 *   pod's label, merge-patch the label (only then: a steady pod writes nothing);
 * - every `podMs`: GET its own pod (labels changed by others, the failover request); a
 *   `redis.github.com/failover-requested` annotation on a primary is answered with a
 *   hand-over (handover.ts: writes paused, replicas caught up, `SENTINEL FAILOVER
 *   <instance>` on the pod's Sentinel), then removed.
 * A Redis that says master while its pod's Sentinel names another primary (a demotion in
 * progress) is labelled replica, so `<name>-primary` never has two endpoints that accept
 * writes. When Redis does not answer, the label is left alone: the agent cannot know the role,
 * and the readiness probe already takes a silent pod out of `<name>-primary`'s endpoints.
 * Every call is bounded by a timeout; nothing grows with time.
 */

export interface RoleAgentOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly podName: string;
  /** The instance name: Sentinel's master name. */
  readonly instance: string;
  readonly redis: RedisTarget;
  /** Sentinel of this pod (same host, its own port, the same password). */
  readonly sentinel: RedisTarget;
  /**
   * How Sentinel names this pod's Redis (`<pod>.<instance>.<namespace>.svc`, 6379): a Redis
   * that says master while Sentinel names another primary is labelled replica.
   */
  readonly self?: { readonly host: string; readonly port: number };
  /** @default 1000 */
  readonly pollMs?: number;
  /** @default 2000 */
  readonly podMs?: number;
  /** API request timeout. @default 5000 */
  readonly requestTimeoutMs?: number;
  /** One JSON object per line: what the agent did or could not do. */
  readonly log?: (entry: Record<string, unknown>) => void;
  readonly signal?: AbortSignal;
}

/** The role INFO replication reports: `role:master` is the primary, `role:slave` a replica. */
export function roleFromInfo(info: Record<string, string>): Role | undefined {
  if (info.role === 'master') return 'primary';
  if (info.role === 'slave') return 'replica';
  return undefined;
}

/** The password from a file (a mounted Secret key): its exact bytes, as the pods' init script gives Redis. */
export function readPasswordFile(path: string): string {
  return readFileSync(path, 'utf8');
}

/** `host:port` of the primary Sentinel names, when that is not `self`; undefined when it is, or Sentinel knows none. */
export async function sentinelPrimaryElsewhere(sentinel: RedisTarget, instance: string, self: { host: string; port: number }): Promise<string | undefined> {
  const reply = await sentinelCommand(sentinel, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', instance]);
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [host, port] = reply.map(String);
  const sameHost = host.toLowerCase() === self.host.toLowerCase() || host.toLowerCase().startsWith(`${self.host.toLowerCase()}.`);
  return sameHost && Number(port) === self.port ? undefined : `${host}:${port}`;
}

/** A Sentinel command; the password only if this Sentinel asks for one (Sentinel's own requirepass is optional). */
async function sentinelCommand(sentinel: RedisTarget, command: string[]) {
  try {
    return await sendCommand({ ...sentinel, password: undefined }, command);
  } catch (error) {
    if (sentinel.password !== undefined && error instanceof RedisReplyError && error.message.startsWith('NOAUTH')) return sendCommand(sentinel, command);
    throw error;
  }
}

/** The failover-below annotation as a number, or undefined when absent or not a whole number. */
function belowOf(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The ordinal of `<instance>-<n>.<instance>...` (how Redis lists its replicas), or -1. */
export function ordinalOfHost(host: string, instance: string): number {
  const rest = host.startsWith(`${instance}-`) ? host.slice(instance.length + 1).split('.')[0] : '';
  return /^\d+$/.test(rest) ? Number(rest) : -1;
}

export async function runRoleAgent(options: RoleAgentOptions): Promise<void> {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const { namespace, podName: name, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const podMs = options.podMs ?? 2000;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`));

  let label: string | undefined;
  let podReadAt = -Infinity;
  // One log line per distinct problem, not one per second.
  const problems = new Map<string, string>();
  const note = (event: string, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (problems.get(event) !== message) log({ event, error: message });
    problems.set(event, message);
  };

  const readPod = async (): Promise<V1Pod> => core.readNamespacedPod({ name, namespace }, shapeRequest('get', timeoutMs));
  const patchPod = async (body: object): Promise<V1Pod> => core.patchNamespacedPod({ name, namespace, body, fieldManager: 'redis-gitops-role-agent' }, shapeRequest('patch', timeoutMs));

  while (!signal?.aborted) {
    const started = Date.now();
    let role: Role | undefined;
    try {
      role = roleFromInfo(parseInfo(String(await sendCommand(options.redis, ['INFO', 'replication']))));
      problems.delete('redis-unreachable');
    } catch (error) {
      note('redis-unreachable', error);
    }
    if (role === 'primary' && options.self) {
      // After a failover the old primary still says master until Sentinel demotes it (up to
      // ~10 s): if Sentinel already names another primary, take this pod out of <name>-primary
      // now, so writes never go to two primaries. Without an answer from Sentinel, INFO decides.
      const elsewhere = await sentinelPrimaryElsewhere(options.sentinel, options.instance, options.self).catch(() => undefined);
      if (elsewhere) {
        if (!problems.has('stale-primary')) log({ event: 'stale-primary', pod: name, sentinelPrimary: elsewhere });
        problems.set('stale-primary', elsewhere);
        role = 'replica';
      } else {
        problems.delete('stale-primary');
      }
    }
    try {
      if (started - podReadAt >= podMs || label === undefined) {
        const pod = await readPod();
        podReadAt = started;
        label = pod.metadata?.labels?.[ROLE_LABEL] ?? '';
        const requested = pod.metadata?.annotations?.[FAILOVER_REQUESTED_ANNOTATION];
        if (requested !== undefined && role === 'primary') {
          let reply: string;
          try {
            reply = await handOver({
              redis: options.redis, sentinel: options.sentinel, instance: options.instance,
              self: options.self ?? { host: '127.0.0.1', port: options.redis.port },
              sentinelCommand: (command) => sentinelCommand(options.sentinel, command),
              below: belowOf(pod.metadata?.annotations?.[FAILOVER_BELOW_ANNOTATION]),
              ordinalOf: (host) => ordinalOfHost(host, options.instance),
            });
          } catch (error) {
            reply = error instanceof Error ? error.message : String(error);
          }
          log({ event: 'failover-requested', requested, sentinel: reply });
          await patchPod({ metadata: { annotations: { [FAILOVER_REQUESTED_ANNOTATION]: null, [FAILOVER_BELOW_ANNOTATION]: null } } });
        } else if (requested !== undefined && role === 'replica') {
          // The primary moved already: the request is done.
          await patchPod({ metadata: { annotations: { [FAILOVER_REQUESTED_ANNOTATION]: null, [FAILOVER_BELOW_ANNOTATION]: null } } });
        }
      }
      if (role !== undefined && role !== label) {
        await patchPod({ metadata: { labels: { [ROLE_LABEL]: role } } });
        log({ event: 'role-label', pod: name, from: label || null, to: role });
        label = role;
      }
      problems.delete('api-failed');
    } catch (error) {
      note('api-failed', error);
      label = undefined; // read the pod again before the next patch
    }
    const wait = Math.max(0, pollMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, wait);
      signal?.addEventListener('abort', done);
    });
  }
}
