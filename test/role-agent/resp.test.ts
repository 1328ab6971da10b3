import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REPLY_BYTES, RedisReplyError, encodeCommand, parseInfo, parseReply, sendCommand } from '../../src/role-agent/resp';

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
