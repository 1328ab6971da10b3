import Redis from 'ioredis';
import { SENTINEL_PORT } from '../../../src/render/sentinel';
import { sweepStaleNamespaces, PodNetwork } from './network';
import { NetnsPod, type NetnsPodOptions } from './pod';
import { podTls, type FailoverPodSource, type PodTls } from './seam';

const clusters = new Set<FailoverCluster>();

export interface ClusterOptions extends NetnsPodOptions {
  /** The instance's password (spec.auth), for the tests' clients. */
  readonly password?: string;
}

/** The pods of one StatefulSet on one pod network, and clients that follow them. */
export class FailoverCluster {
  readonly network = new PodNetwork();
  readonly pods: NetnsPod[];
  private readonly clients = new Set<Redis>();
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  private readonly password?: string;
  /** With spec.tls: the pods' CA, certificate and key (from the TLS Secret), which the clients present. */
  readonly tls?: PodTls;

  constructor(readonly source: FailoverPodSource, options: ClusterOptions = {}) {
    this.password = options.password;
    this.tls = podTls(source, options.secrets);
    const replicas = source.statefulSet.spec!.replicas ?? 1;
    this.pods = Array.from({ length: replicas }, (_, i) => new NetnsPod(source, i, this.network, options));
    clusters.add(this);
  }

  get instance(): string { return this.source.statefulSet.metadata!.name!; }

  /** Start every pod at once (podManagementPolicy: Parallel). */
  async startAll(timeoutMs = 30_000): Promise<void> {
    await this.within(timeoutMs, 'start every pod', Promise.all(this.pods.map((p) => p.start())));
  }

  /** `work`, or an error with every pod's logs after `timeoutMs`. */
  async within<T>(timeoutMs: number, what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutMs} ms\n${this.quietLogs()}`)), timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (e) {
      if (e instanceof Error && !e.message.includes('--- ')) e.message += `\n${this.quietLogs()}`;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The pods' logs without Redis's routine lines (kept: warnings, Sentinel events, our scripts). */
  quietLogs(): string {
    return this.logs().split('\n').filter((l) => !/^\d+:[XSCM] .* \* /.test(l)).join('\n');
  }

  /** A connected client of one pod's Redis (or Sentinel, port 26379), by IP; closed by cleanup. */
  async direct(pod: NetnsPod, port = 6379): Promise<Redis> {
    const client = new Redis({
      host: pod.ip, port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0,
      retryStrategy: () => null, connectTimeout: 2_000, enableReadyCheck: false,
      ...(this.password !== undefined ? { password: this.password } : {}),
      ...(this.tls ? { tls: this.tlsOptions() } : {}),
    });
    client.on('error', () => undefined);
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    await client.connect();
    return client;
  }

  /**
   * A Sentinel-aware client, as an application would use it: it asks the Sentinels for
   * the primary. Sentinels announce DNS names; natMap turns them into the pods' current IPs
   * (the test process is outside the pods' DNS). READONLY (a demoted primary) reconnects.
   */
  sentinelClient(options: { readonly commandTimeout?: number } = {}): Redis {
    const client = new Redis({
      sentinels: this.pods.map((p) => ({ host: p.ip, port: SENTINEL_PORT })),
      name: this.instance,
      natMap: (key: string) => {
        const [host, port] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
        const ip = this.network.ipOf(host);
        return ip ? { host: ip, port } : null;
      },
      sentinelRetryStrategy: () => 100,
      retryStrategy: () => 100,
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      connectTimeout: 1_000,
      commandTimeout: options.commandTimeout ?? 2_000,
      maxRetriesPerRequest: null,
      ...(this.password !== undefined ? { password: this.password, sentinelPassword: this.password } : {}),
      ...(this.tls ? { tls: this.tlsOptions(), sentinelTLS: this.tlsOptions(), enableTLSForSentinelMode: true } : {}),
    });
    client.on('error', () => undefined);
    this.clients.add(client);
    return client;
  }

  /** ioredis's TLS options: trust the pods' CA, present their certificate; the chain is checked, not the host name (pod IPs). */
  private tlsOptions() {
    return { ...this.tls!, checkServerIdentity: () => undefined };
  }

  /** `INFO replication` role of every running pod: ordinal → role. */
  async roles(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const pod of this.pods) {
      if (!pod.alive) continue;
      let client: Redis | undefined;
      try {
        client = await this.direct(pod);
        const info = await client.info('replication');
        out.set(pod.ordinal, /^role:(\w+)/m.exec(info)?.[1] ?? '?');
      } catch { /* not answering */ } finally { if (client) { client.disconnect(); this.clients.delete(client); } }
    }
    return out;
  }

  /** Everything every pod wrote, for a failing test's message. */
  logs(): string {
    return this.pods.map((p) => p.allLogs()).join('\n');
  }

  /** Run `fn` at cleanup, after the pods are gone (a test API server, a client). */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    await Promise.all(this.pods.map((p) => p.cleanup()));
    for (const fn of this.cleanups.splice(0)) await Promise.resolve().then(fn).catch(() => undefined);
    this.network.destroy();
    clusters.delete(this);
  }
}

let swept = false;

/** A new cluster for `source` (first call: sweep namespaces left by dead test runs). */
export function createCluster(source: FailoverPodSource, options: ClusterOptions = {}): FailoverCluster {
  if (!swept) { sweepStaleNamespaces(); swept = true; }
  return new FailoverCluster(source, options);
}

/** Clean up every cluster: call in afterEach. */
export async function cleanupClusters(): Promise<void> {
  await Promise.all([...clusters].map((c) => c.cleanup()));
}
