import { describe, expect, it } from 'vitest';
import { ordinalOfHost } from '../../src/role-agent/agent';
import { listedReplicas } from '../../src/role-agent/handover';
import { parseInfo } from '../../src/role-agent/resp';

/** The pure parts of the hand-over; the hand-over itself runs in test/role-agent/agent.test.ts and test/failover. */
describe('hand-over helpers', () => {
  it('lists the replicas INFO replication names, by their announced host and port', () => {
    const info = parseInfo([
      '# Replication', 'role:master', 'connected_slaves:2',
      'slave0:ip=cache-1.cache.test.svc,port=6379,state=online,offset=120,lag=0',
      'slave1:ip=cache-2.cache.test.svc,port=6379,state=wait_bgsave,offset=0,lag=1',
      'master_repl_offset:120', '',
    ].join('\r\n'));
    expect(listedReplicas(info)).toEqual([{ host: 'cache-1.cache.test.svc', port: 6379 }, { host: 'cache-2.cache.test.svc', port: 6379 }]);
    expect(listedReplicas(parseInfo('role:master\r\nconnected_slaves:0\r\n'))).toEqual([]);
  });

  it('reads the ordinal from a pod DNS name of the instance, and only of it', () => {
    expect(ordinalOfHost('cache-2.cache.test.svc', 'cache')).toBe(2);
    expect(ordinalOfHost('cache-10', 'cache')).toBe(10);
    expect(ordinalOfHost('cache-x-1.cache-x.test.svc', 'cache')).toBe(-1);
    expect(ordinalOfHost('other-1.other.test.svc', 'cache')).toBe(-1);
    expect(ordinalOfHost('10.0.0.1', 'cache')).toBe(-1);
  });
});
