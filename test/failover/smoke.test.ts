import { afterEach, expect, it } from 'vitest';
import { cleanupClusters, createCluster } from '../support/netns/cluster';
import { failoverInstance, failoverPodSource } from '../support/netns/source';

afterEach(cleanupClusters);

it('first creation: pod 0 becomes primary, the others replicate', async () => {
  const cluster = createCluster(failoverPodSource(failoverInstance({ image: 'redis:7.0.15', replicas: 3, config: { 'repl-diskless-sync-delay': '0' } })));

  await cluster.startAll();
  expect([...(await cluster.roles()).entries()]).toEqual([[0, 'master'], [1, 'slave'], [2, 'slave']]);
}, 40_000);
