import Redis from 'ioredis';
import type { PodApi } from './kube';
import type { NetnsPod } from './pod';

/**
 * A client that writes through `<name>-primary` as an application behind kube-proxy does:
 * each new connection goes to one of the Service's endpoints at that moment (the Ready pods
 * its selector matches, PodApi.endpoints(); a random one when there are several), and a
 * connection is kept until it fails (kube-proxy keeps established connections on their
 * pod). On an error (the pod died, `READONLY` from a demoted primary, a timeout) the
 * connection is dropped and the command fails; the caller retries, and the next command
 * opens a connection to a current endpoint. It offers the two commands startWriter sends.
 */
export class ServiceClient {
  private connection?: { readonly pod: NetnsPod; readonly client: Redis };

  constructor(private readonly api: PodApi, private readonly options: { readonly password?: string; readonly commandTimeout?: number } = {}) {}

  private async connect(): Promise<Redis> {
    if (this.connection && this.connection.client.status === 'ready') return this.connection.client;
    this.drop();
    const endpoints = this.api.endpoints();
    if (endpoints.length === 0) throw new Error('<name>-primary has no endpoints');
    const pod = endpoints[Math.floor(Math.random() * endpoints.length)];
    const client = new Redis({
      host: pod.ip, port: 6379, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0,
      retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: this.options.commandTimeout ?? 2_000, enableReadyCheck: false,
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    });
    client.on('error', () => undefined);
    this.connection = { pod, client };
    try {
      await client.connect();
    } catch (error) {
      this.drop();
      throw error;
    }
    return client;
  }

  private async send<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await fn(client);
    } catch (error) {
      this.drop();
      throw error;
    }
  }

  set(key: string, value: string): Promise<unknown> {
    return this.send((c) => c.set(key, value));
  }

  wait(replicas: number, timeoutMs: number): Promise<number> {
    return this.send((c) => c.wait(replicas, timeoutMs));
  }

  /** The pod the current connection goes to. */
  get pod(): NetnsPod | undefined {
    return this.connection?.pod;
  }

  drop(): void {
    this.connection?.client.disconnect();
    this.connection = undefined;
  }

  disconnect(): void {
    this.drop();
  }
}
