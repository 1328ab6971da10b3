import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PodNetwork, sweepStaleNamespaces } from './netns/network';
import { remapPathEnv, remapPodConf } from './netns/seam';
import { cleanupClusters, createCluster } from './netns/cluster';
import { failoverInstance, failoverPodSource } from './netns/source';
import { settled } from './netns/workload';
import { requireProgram } from './programs';

const IP = () => requireProgram('ip', '/usr/sbin:/usr/bin:/sbin:/bin');
function connectError(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 3_000 });
    socket.on('connect', () => { socket.destroy(); resolve('connected'); });
    socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
const namespaces = () => execFileSync(IP(), ['netns', 'list'], { encoding: 'utf8' });

afterEach(cleanupClusters);

describe('network-namespace harness', () => {
  it('gives each pod a namespace, an IP on a shared bridge and the pods\' DNS names; destroy() removes it all', async () => {
    const network = new PodNetwork();
    try {
      const a = network.addPod('cache-0', 'cache-0.cache.test.svc');
      const b = network.addPod('cache-1', 'cache-1.cache.test.svc');
      expect(a.ns).toBe(`${network.prefix}cache-0`);
      expect(readFileSync(`/etc/netns/${a.ns}/hosts`, 'utf8'))
        .toBe(`127.0.0.1 localhost\n${a.ip} cache-0.cache.test.svc\n${b.ip} cache-1.cache.test.svc\n`);
      // Pod to pod by DNS name, and the test process to the pod.
      expect(execFileSync(IP(), ['netns', 'exec', a.ns, 'getent', 'hosts', 'cache-1.cache.test.svc'], { encoding: 'utf8' }).split(/\s+/))
        .toEqual([b.ip, 'cache-1.cache.test.svc', '']);
      // Reachable: the pod's kernel answers (nothing listens, so it refuses the connection).
      expect(await connectError(b.ip, 6379)).toBe('ECONNREFUSED');
      const old = b.ip;
      network.assignIp(b);
      expect(b.ip).not.toBe(old);
      expect(readFileSync(`/etc/netns/${a.ns}/hosts`, 'utf8')).toContain(`${b.ip} cache-1.cache.test.svc`);
    } finally {
      network.destroy();
    }
    expect(namespaces()).not.toContain(network.prefix);
    expect(existsSync(`/etc/netns/${network.prefix}cache-0`)).toBe(false);
  });

  it('sweeps the namespaces of test processes that are gone, and only those', () => {
    const stale = 'rgt-999999999-1-br';
    execFileSync(IP(), ['netns', 'add', stale]);
    const mine = new PodNetwork();
    try {
      expect(sweepStaleNamespaces()).toContain(stale);
      expect(namespaces()).not.toContain(stale);
      expect(namespaces()).toContain(mine.bridgeNs);
    } finally {
      mine.destroy();
    }
  });

  it('the seam changes only paths', () => {
    const mounts = [{ mountPath: '/data', hostDir: '/tmp/pv', volume: 'redis-data' }, { mountPath: '/run/redis', hostDir: '/tmp/run', volume: 'runtime' }];
    expect(remapPodConf('port 6379\ndir /data\ninclude /run/redis/runtime.conf\n', mounts)).toBe('port 6379\ndir "/tmp/pv"\ninclude "/tmp/run/runtime.conf"\n');
    expect(remapPathEnv({ DATA_DIR: '/data', INSTANCE: 'cache' }, mounts, ['DATA_DIR', 'SENTINEL_DIR'])).toEqual({ DATA_DIR: '/tmp/pv', INSTANCE: 'cache' });
    expect(() => remapPathEnv({ SENTINEL_DIR: '/run/sentinel' }, mounts, ['SENTINEL_DIR'])).toThrow('/run/sentinel is not on any volume mount');
  });

  it('runs a failover StatefulSet: on first creation the pods elect pod 0 and the Sentinels know every node', async () => {
    const cluster = createCluster(failoverPodSource(failoverInstance({ image: 'redis:7.0.15', replicas: 3, config: { 'repl-diskless-sync-delay': '0' } })));
    await cluster.startAll();
    expect((await settled(cluster)).ordinal).toBe(0);
    expect([...(await cluster.roles()).entries()]).toEqual([[0, 'master'], [1, 'slave'], [2, 'slave']]);
  });
});
