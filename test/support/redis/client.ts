import Redis from 'ioredis';
import { onCleanup } from './pod';

/**
 * A client for one pod, closed by cleanupRedisPods. No retries and no offline queue: a
 * refused command fails at once with Redis's own error (NOAUTH, READONLY, WRONGPASS).
 */
export async function connect(pod: { readonly port: number }, options: {
  readonly password?: string;
  /** An ACL user other than default. */
  readonly username?: string;
  /** TLS with these PEM files (a client certificate when cert and key are given); the host name is not checked. */
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
  /** Connect to this port instead of the pod's. */
  readonly port?: number;
} = {}): Promise<Redis> {
  const client = new Redis({
    host: '127.0.0.1',
    port: options.port ?? pod.port,
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.tls ? { tls: { ...options.tls, checkServerIdentity: () => undefined } } : {}),
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  client.on('error', () => undefined); // errors surface on the commands that fail
  onCleanup(async () => { client.disconnect(); });
  await client.connect();
  return client;
}

/** `INFO <section>` as a map of fields. */
export async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':') && !l.startsWith('#')).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

/** `CONFIG GET key` → its value (throws if Redis does not know the key). */
export async function configGet(client: Redis, key: string): Promise<string> {
  const reply = (await client.config('GET', key)) as string[];
  const i = reply.indexOf(key);
  if (i < 0 || i % 2 !== 0) throw new Error(`CONFIG GET ${key} returned ${JSON.stringify(reply)}`);
  return reply[i + 1];
}

/** Poll `fn` until it returns true, or fail after `timeoutMs` with `what`. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
