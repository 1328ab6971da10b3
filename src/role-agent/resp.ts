import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';

/**
 * The few Redis commands the role agent sends (AUTH, INFO replication, SENTINEL FAILOVER),
 * one short-lived connection per command, over RESP2, in plain TCP or TLS. A client library would be one more
 * production dependency of the image for three commands; this reader handles exactly the
 * reply types those commands return and bounds time and memory whatever the server sends.
 */

export type RespValue = string | number | null | RespValue[];

/** An error reply (`-ERR ...`, `-NOAUTH ...`), as Redis sent it. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

/** Longest reply accepted: INFO replication is well under 4 KiB even with 16 replicas. */
export const MAX_REPLY_BYTES = 1 << 20;

/** A command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/**
 * Parse one reply at `offset`: the value and where it ends, or undefined when `buffer`
 * does not hold all of it yet. Error replies come back as RedisReplyError values.
 */
export function parseReply(buffer: Buffer, offset = 0): { value: RespValue | RedisReplyError; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+': return { value: line, end: next };
    case '-': return { value: new RedisReplyError(line), end: next };
    case ':': return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length === -1) return { value: null, end: next };
      if (!Number.isInteger(length) || length < 0 || length > MAX_REPLY_BYTES) throw new Error(`bad bulk length ${JSON.stringify(line)}`);
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count === -1) return { value: null, end: next };
      if (!Number.isInteger(count) || count < 0 || count > 1024) throw new Error(`bad array length ${JSON.stringify(line)}`);
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (!item) return undefined;
        if (item.value instanceof RedisReplyError) throw item.value;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`not a RESP reply (starts with ${JSON.stringify(type)})`);
  }
}

/**
 * TLS to Redis or Sentinel (spec.tls): the files of the pod's TLS Secret, read at every
 * connection (a renewed Secret is used at once; three small files a second cost nothing).
 */
export interface RedisTls {
  /** The CA that signed the server's certificate (ca.crt). */
  readonly caFile: string;
  /** The client certificate and key (the pod's own, for tls-auth-clients). */
  readonly certFile?: string;
  readonly keyFile?: string;
  /**
   * The name the server's certificate must carry (SNI and the host name check). The pods
   * connect to 127.0.0.1 and check `localhost`, which the rendered Certificate lists (and
   * the exporter needs too). @default the host
   */
  readonly serverName?: string;
}

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  /** Sent with AUTH first, when set. */
  readonly password?: string;
  /** For connect, send and reply together. @default 2000 ms */
  readonly timeoutMs?: number;
  /** Connect with TLS (no plain connection is tried). */
  readonly tls?: RedisTls;
}

function connectTo(target: RedisTarget) {
  const tls = target.tls;
  if (!tls) return { socket: createConnection({ host: target.host, port: target.port }), ready: 'connect' as const };
  const serverName = tls.serverName ?? target.host;
  const socket = tlsConnect({
    host: target.host,
    port: target.port,
    ca: readFileSync(tls.caFile),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    // SNI takes host names only; the identity check below takes either.
    ...(/^[\d.]+$|:/.test(serverName) ? {} : { servername: serverName }),
    checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert),
  });
  return { socket, ready: 'secureConnect' as const };
}

/** Send one command (after AUTH, when a password is set) and return its reply; error replies throw. */
export function sendCommand(target: RedisTarget, args: readonly string[]): Promise<RespValue> {
  const commands = [...(target.password !== undefined ? [['AUTH', target.password]] : []), args];
  return new Promise((resolve, reject) => {
    let connection: ReturnType<typeof connectTo>;
    try {
      connection = connectTo(target);
    } catch (error) {
      // An unreadable certificate file: as any other failure to connect.
      reject(error as Error);
      return;
    }
    const { socket, ready } = connection;
    let buffer = Buffer.alloc(0);
    const replies: Array<RespValue | RedisReplyError> = [];
    const finish = (error?: Error, value?: RespValue) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${target.host}:${target.port} within ${target.timeoutMs ?? 2000} ms`)), target.timeoutMs ?? 2000);
    socket.on(ready, () => socket.write(Buffer.concat(commands.map(encodeCommand))));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${target.host}:${target.port} closed the connection`)));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_REPLY_BYTES) return finish(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
      try {
        for (;;) {
          const reply = parseReply(buffer);
          if (!reply) return;
          buffer = buffer.subarray(reply.end);
          replies.push(reply.value);
          if (replies.length === commands.length) {
            const failed = replies.find((r): r is RedisReplyError => r instanceof RedisReplyError);
            const last = replies[replies.length - 1];
            return failed ? finish(failed) : finish(undefined, last as RespValue);
          }
        }
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/** `INFO <section>` text as a map of its `field:value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
