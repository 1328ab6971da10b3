import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { FAILOVER_BELOW_ANNOTATION, FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, type Role } from '../render/role-agent';
import { ConnectionPool } from '../reconcile/http';
import { shapeRequest } from '../reconcile/kube';
import { CONFIG_STATUS_ANNOTATION, configStatusAnnotation, configStatusPatch, readConfigStatusFile } from './config-status';
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
 * - every `pollMs`: the config agent's status file (`configStatusFile`); when its line
 *   differs from the pod's `redis.github.com/config-status` annotation, merge-patch the
 *   annotation (only then). With `statusOnly` (spec.podAgent without failover) that is
 *   all it does: no Redis, no Sentinel, no role label, and the pod is read only at start
 *   and after a failed write.
 * With `passwordFile`, the password is read from it on each connection (a rotation updates
 * the Secret volume; the previous password is tried when Redis refuses the new one, until
 * the config agent has applied it).
 * Every call is bounded by a timeout; nothing grows with time.
 */

export interface RoleAgentOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly podName: string;
  /** The instance name: Sentinel's master name. */
  readonly instance: string;
  readonly redis?: RedisTarget;
  /** Sentinel of this pod (same host, its own port, the same password). */
  readonly sentinel?: RedisTarget;
  /** Where the password is (a Secret volume): read again on each connection, so a rotation is followed. */
  readonly passwordFile?: string;
  /** The config agent's status file, published as the pod annotation redis.github.com/config-status. */
  readonly configStatusFile?: string;
  /** Publish the config status only (no role label, no Redis or Sentinel). @default false */
  readonly statusOnly?: boolean;
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

/** True for the replies Redis and Sentinel give a wrong or missing password. */
function isAuthError(error: unknown): boolean {
  return error instanceof RedisReplyError && /^(NOAUTH|WRONGPASS|ERR invalid password)/.test(error.message);
}

/**
 * The password to use for a connection: the file's (a rotated Secret), then, when Redis
 * refuses it, the last one that worked (the config agent has not applied the new one yet).
 */
class Passwords {
  private lastGood: string | undefined;
  constructor(private readonly file: string | undefined, initial: string | undefined) {
    this.lastGood = initial;
  }

  async use<T>(target: RedisTarget, send: (target: RedisTarget) => Promise<T>): Promise<T> {
    let fresh = this.lastGood;
    if (this.file !== undefined) {
      try { fresh = readPasswordFile(this.file); } catch { /* keep the last one */ }
    }
    const candidates = [...new Set([fresh, this.lastGood].filter((p) => p !== undefined))];
    if (candidates.length === 0) return send(target);
    let failure: unknown;
    for (const password of candidates) {
      try {
        const reply = await send({ ...target, password });
        this.lastGood = password;
        return reply;
      } catch (error) {
        if (!isAuthError(error)) throw error;
        failure = error;
      }
    }
    throw failure;
  }

  /** What might have to stay out of the annotation. */
  known(): Array<string | undefined> {
    return [this.lastGood];
  }
}

export async function runRoleAgent(options: RoleAgentOptions): Promise<void> {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const { namespace, podName: name, signal } = options;
  const statusOnly = options.statusOnly ?? false;
  const pollMs = options.pollMs ?? 1000;
  const podMs = options.podMs ?? 2000;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`));
  if (!statusOnly && (options.redis === undefined || options.sentinel === undefined)) throw new Error('the role agent needs redis and sentinel unless statusOnly');
  const passwords = new Passwords(options.passwordFile, options.redis?.password);

  let label: string | undefined;
  /** The pod's config-status annotation as last read or written; undefined until the pod is read. */
  let published: string | undefined | null;
  let podReadAt = -Infinity;
  // One log line per distinct problem, not one per second.
  const problems = new Map<string, string>();
  const note = (event: string, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (problems.get(event) !== message) log({ event, error: message });
    problems.set(event, message);
  };

  // One kept-alive connection to the apiserver, not a TLS handshake every poll.
  const pool = new ConnectionPool(2);
  const readPod = async (): Promise<V1Pod> => core.readNamespacedPod({ name, namespace }, shapeRequest('get', timeoutMs, undefined, pool));
  const patchPod = async (body: object): Promise<V1Pod> => core.patchNamespacedPod({ name, namespace, body, fieldManager: 'redis-gitops-role-agent' }, shapeRequest('patch', timeoutMs, undefined, pool));

  while (!signal?.aborted) {
    const started = Date.now();
    let role: Role | undefined;
    if (!statusOnly) {
      try {
        role = roleFromInfo(parseInfo(String(await passwords.use(options.redis!, (t) => sendCommand(t, ['INFO', 'replication'])))));
        problems.delete('redis-unreachable');
      } catch (error) {
        note('redis-unreachable', error);
      }
    }
    if (role === 'primary' && options.self) {
      // After a failover the old primary still says master until Sentinel demotes it (up to
      // ~10 s): if Sentinel already names another primary, take this pod out of <name>-primary
      // now, so writes never go to two primaries. Without an answer from Sentinel, INFO decides.
      const elsewhere = await passwords.use(options.sentinel!, (t) => sentinelPrimaryElsewhere(t, options.instance, options.self!)).catch(() => undefined);
      if (elsewhere) {
        if (!problems.has('stale-primary')) log({ event: 'stale-primary', pod: name, sentinelPrimary: elsewhere });
        problems.set('stale-primary', elsewhere);
        role = 'replica';
      } else {
        problems.delete('stale-primary');
      }
    }
    let status: string | undefined;
    if (options.configStatusFile !== undefined) {
      try {
        const content = readConfigStatusFile(options.configStatusFile);
        status = content === undefined ? undefined : configStatusAnnotation(content, passwords.known());
        if (content !== undefined && status === undefined && content.trim() !== '') note('config-status-withheld', 'the status line is empty after cleaning, or carries the password: not published');
        else problems.delete('config-status-withheld');
      } catch (error) {
        note('config-status-unreadable', error);
      }
    }
    try {
      const podDue = statusOnly ? published === undefined : started - podReadAt >= podMs || label === undefined;
      if (podDue) {
        const pod = await readPod();
        podReadAt = started;
        label = pod.metadata?.labels?.[ROLE_LABEL] ?? '';
        published = pod.metadata?.annotations?.[CONFIG_STATUS_ANNOTATION] ?? null;
        const requested = statusOnly ? undefined : pod.metadata?.annotations?.[FAILOVER_REQUESTED_ANNOTATION];
        if (requested !== undefined && role === 'primary') {
          let reply: string;
          try {
            // The password that works now (a rotation may be under way), then one hand-over with it.
            const redis = await passwords.use(options.redis!, async (t) => { await sendCommand(t, ['PING']); return t; });
            const sentinel = { ...options.sentinel!, password: redis.password };
            reply = await handOver({
              redis, sentinel, instance: options.instance,
              self: options.self ?? { host: '127.0.0.1', port: options.redis!.port },
              sentinelCommand: (command) => sentinelCommand(sentinel, command),
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
      if (status !== undefined && status !== published) {
        await patchPod(configStatusPatch(status));
        log({ event: 'config-status', pod: name, status: status.split('\t')[0] });
        published = status;
      }
      problems.delete('api-failed');
    } catch (error) {
      note('api-failed', error);
      label = undefined; // read the pod again before the next patch
      published = undefined;
    }
    const wait = Math.max(0, pollMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, wait);
      signal?.addEventListener('abort', done);
    });
  }
}
