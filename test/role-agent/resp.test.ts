import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateRedisInstance } from '../../src/api/validate';
import { ROLE_AGENT_TLS_SERVER_NAME } from '../../src/render/role-agent';
import { tlsDnsNames } from '../../src/render/tls';
import {
  MAX_REPLY_BYTES, RedisReplyError, encodeCommand, parseInfo, parseReply, sendCommand, type RedisTarget, type RedisTls,
} from '../../src/role-agent/resp';
import { cleanupRedisPods, makeTempDir, renderSpec, secretsFor, startRedisPod } from '../support/redis';
import { issue, makeCa, tlsSecret } from '../support/tls';

describe('RESP', () => {
  it('encodes a command as an array of bulk strings, lengths in bytes', () => {
    expect(encodeCommand(['AUTH', 'pä ss']).toString()).toBe('*2\r\n$4\r\nAUTH\r\n$6\r\npä ss\r\n');
  });

  it('parses each reply type, and waits for a reply that is not complete', () => {
    const all = Buffer.from('+OK\r\n-NOAUTH Authentication required.\r\n:42\r\n$5\r\nab\r\nc\r\n$-1\r\n*2\r\n$1\r\nx\r\n:1\r\n');
    const values: unknown[] = [];
    for (let at = 0; at < all.length;) {
      const reply = parseReply(all, at)!;
      values.push(reply.value);
      at = reply.end;
    }
    expect(values).toEqual(['OK', new RedisReplyError('NOAUTH Authentication required.'), 42, 'ab\r\nc', null, ['x', 1]]);
    for (let cut = 0; cut < all.length; cut++) {
      const partial = parseReply(all.subarray(0, Math.min(cut, 4)));
      expect(partial).toBeUndefined();
    }
    expect(parseReply(Buffer.from('$5\r\nab'))).toBeUndefined();
    expect(parseReply(Buffer.from('*2\r\n:1\r\n'))).toBeUndefined();
  });

  it('refuses what is not RESP or too large', () => {
    expect(() => parseReply(Buffer.from('HTTP/1.1 400\r\n'))).toThrow('not a RESP reply (starts with "H")');
    expect(() => parseReply(Buffer.from(`$${MAX_REPLY_BYTES + 1}\r\n`))).toThrow('bad bulk length');
    expect(() => parseReply(Buffer.from('*100000\r\n'))).toThrow('bad array length');
  });

  it('reads INFO fields', () => {
    expect(parseInfo('# Replication\r\nrole:slave\r\nmaster_host:a:b\r\n\r\n')).toEqual({ role: 'slave', master_host: 'a:b' });
  });
});

describe('sendCommand', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function fake(onData: (socket: import('node:net').Socket) => void): Promise<number> {
    server = createServer((socket) => socket.on('data', () => onData(socket)));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  it('gives up on a server that never answers, within its timeout', async () => {
    const port = await fake(() => undefined);
    const started = Date.now();
    await expect(sendCommand({ host: '127.0.0.1', port, timeoutMs: 300 }, ['PING'])).rejects.toThrow(`no reply from 127.0.0.1:${port} within 300 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops reading a reply larger than the bound', async () => {
    const port = await fake((socket) => socket.write(`$${MAX_REPLY_BYTES}\r\n${'x'.repeat(MAX_REPLY_BYTES + 10)}`));
    await expect(sendCommand({ host: '127.0.0.1', port }, ['INFO'])).rejects.toThrow(`reply larger than ${MAX_REPLY_BYTES} bytes`);
  });
});

describe('sendCommand over TLS, against a real redis-server (spec.tls)', () => {
  afterEach(cleanupRedisPods);
  const PASSWORD = 'agent-pw';

  /** A TLS pod (certificate for the rendered Certificate's names, localhost among them) and its files as the agent reads them. */
  async function tlsPod(options: { readonly authClients?: boolean } = {}) {
    const dir = makeTempDir('resp-tls-');
    const ca = makeCa(dir, 'ca');
    const wrongCa = makeCa(dir, 'wrong-ca');
    const spec = { image: 'redis:7.2.4', auth: { secretName: 'pw' }, tls: { secretName: 'cache-tls', authClients: options.authClients ?? false } };
    const resolved = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'test' }, spec });
    const leaf = issue(ca, 'cache', tlsDnsNames(resolved.instance!, 'cache-primary'));
    const rendered = renderSpec(spec);
    const pod = await startRedisPod(rendered, 0, { secrets: { ...secretsFor(rendered.statefulSet, PASSWORD), 'cache-tls': tlsSecret(ca, leaf) } });
    const file = (name: string, content: string) => { writeFileSync(join(dir, name), content); return join(dir, name); };
    const tls: RedisTls = { caFile: ca.certFile, certFile: file('tls.crt', leaf.cert), keyFile: file('tls.key', leaf.key), serverName: ROLE_AGENT_TLS_SERVER_NAME };
    return { pod, tls, wrongCa, target: { host: '127.0.0.1', port: pod.port, password: PASSWORD, tls } satisfies RedisTarget };
  }

  it('connects with the CA, checks the server name the pods use (localhost), and authenticates; a plain connection gets no reply', async () => {
    const { target } = await tlsPod();
    expect(ROLE_AGENT_TLS_SERVER_NAME).toBe('localhost');
    expect(parseInfo(String(await sendCommand(target, ['INFO', 'replication']))).role).toBe('master');
    await expect(sendCommand({ ...target, tls: { ...target.tls, serverName: 'cache-0.cache.other.svc' } }, ['PING']))
      .rejects.toThrow("Hostname/IP does not match certificate's altnames");
    await expect(sendCommand({ ...target, tls: undefined, timeoutMs: 1_000 }, ['PING'])).rejects.toThrow(/closed the connection|no reply|ECONNRESET/);
  });

  it('refuses a server its CA did not sign, and says which file it could not read', async () => {
    const { target, wrongCa } = await tlsPod();
    await expect(sendCommand({ ...target, tls: { ...target.tls, caFile: wrongCa.certFile } }, ['PING'])).rejects.toThrow(/self[- ]signed certificate in certificate chain/);
    await expect(sendCommand({ ...target, tls: { ...target.tls, caFile: '/nonexistent/ca.crt' } }, ['PING'])).rejects.toThrow("ENOENT: no such file or directory, open '/nonexistent/ca.crt'");
  });

  it('with authClients: presents the pod certificate; without one the server refuses', async () => {
    const { target } = await tlsPod({ authClients: true });
    expect(await sendCommand(target, ['PING'])).toBe('PONG');
    await expect(sendCommand({ ...target, tls: { caFile: target.tls.caFile, serverName: 'localhost' } }, ['PING'])).rejects.toThrow();
  });
});
