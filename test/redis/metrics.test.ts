import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_CONTAINER_NAME } from '../../src/render/config-agent';
import { sendCommand } from '../../src/role-agent/resp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EXPORTER_AUTH_VOLUME, EXPORTER_CONTAINER_NAME, EXPORTER_PASSWORD_FILE, EXPORTER_USER, INSTANCE_SERIES_LABEL, type PrometheusRule,
} from '../../src/render/metrics';
import { INSTANCE_LABEL, type RenderedInstance } from '../../src/render/instance';
import { requireProgram } from '../support/programs';
import {
  parseExposition, sanitizeLabelName, seriesProblems, templateLabels, type Series, type TargetContext,
} from '../support/prometheus';
import {
  cleanupRedisPods, connect, eventually, info, redisBinaries, renderSpec, secretsFor, shippedInstances, startRedisPod, type RedisPod,
} from '../support/redis';

/**
 * The exporter sidecar, run as rendered, with Debian's prometheus-redis-exporter against
 * the real redis-server of the harness: every alert expression of the PrometheusRule must
 * select series the exporter really exports, with the labels it really sets (the
 * expressions are parsed with Prometheus' grammar).
 */

const PASSWORD = 'metrics "pw" \\ with specials\n';
const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };

beforeAll(() => {
  redisBinaries();
  const exporter = requireProgram(process.env.REDIS_EXPORTER || 'prometheus-redis-exporter');
  console.log(`testing against ${exporter}`);
});
afterEach(cleanupRedisPods);

/** The labels Prometheus gives every series of a pod's target through the rendered PodMonitor. */
function targetContext(rendered: RenderedInstance, pod: RedisPod): TargetContext {
  const podLabels = rendered.statefulSet.spec!.template.metadata!.labels!;
  const monitor = rendered.podMonitor!;
  return {
    targetLabels: {
      namespace: rendered.statefulSet.metadata!.namespace!,
      pod: pod.name,
      container: EXPORTER_CONTAINER_NAME,
      endpoint: monitor.spec.podMetricsEndpoints[0].port,
      instance: `${pod.name}:9121`,
      job: `${monitor.metadata.namespace}/${monitor.metadata.name}`,
      ...Object.fromEntries(monitor.spec.podTargetLabels.map((l) => [sanitizeLabelName(l), podLabels[l]])),
    },
    prometheusSeries: ['up'],
  };
}

function alertProblems(rule: PrometheusRule, scraped: Series[], context: TargetContext): string[] {
  return rule.spec.groups.flatMap((g) => g.rules.flatMap((r) => seriesProblems(r.expr, scraped, context, templateLabels(r.annotations))
    .map((p) => `${r.alert}: ${p}`)));
}

async function scrape(pod: RedisPod, secrets?: Record<string, Record<string, string>>): Promise<Series[]> {
  const exporter = await pod.startSidecar(EXPORTER_CONTAINER_NAME, secrets ? { secrets } : {});
  const { status, body } = await exporter.get('/metrics');
  expect(status).toBe(200);
  return parseExposition(body);
}

const value = (series: Series[], name: string) => series.filter((s) => s.name === name);

describe('the exporter sidecar against a real Redis', () => {
  it('with auth and a replica: every series and label the alerts use exists', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', replicas: 2, config: FAST_SYNC, auth: { secretName: 'pw' }, metrics: {} });
    const secrets = secretsFor(rendered.statefulSet, PASSWORD);
    const primary = await startRedisPod(rendered, 0, { secrets });
    const replica = await startRedisPod(rendered, 1, { secrets, primaryPort: primary.port });
    const replicaClient = await connect(replica, { password: PASSWORD });
    await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');

    const fromPrimary = await scrape(primary);
    const fromReplica = await scrape(replica);
    expect(value(fromPrimary, 'redis_up')).toEqual([{ name: 'redis_up', labels: {}, value: 1 }]);
    expect(value(fromReplica, 'redis_up')).toEqual([{ name: 'redis_up', labels: {}, value: 1 }]);
    expect(value(fromReplica, 'redis_master_link_up')[0].value).toBe(1);
    expect(value(fromPrimary, 'redis_instance_info')[0].labels.role).toBe('master');
    expect(value(fromReplica, 'redis_instance_info')[0].labels.role).toBe('slave');
    expect(value(fromReplica, 'redis_master_link_up')).toHaveLength(1);
    expect(value(fromPrimary, 'redis_connected_slave_lag_seconds')).toHaveLength(1);

    const rule = rendered.prometheusRule!;
    expect(rule.spec.groups[0].rules.map((r) => r.alert)).toEqual([
      'RedisDown', 'RedisMemoryNearMaxmemory', 'RedisKeysEvicted', 'RedisReplicationLinkDown', 'RedisReplicationLag',
      'RedisNoPrimary', 'RedisMultiplePrimaries', 'RedisPersistenceWriteError', 'RedisRejectedConnections',
    ]);
    // What Prometheus would hold for this instance: both pods' series.
    expect(alertProblems(rule, [...fromPrimary, ...fromReplica], targetContext(rendered, primary))).toEqual([]);
  });

  it('with auth the exporter logs in as its own ACL user, with a password of the pod\'s own from a 0440 file: never the Secret\'s, never in its argument list or a ConfigMap', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', auth: { secretName: 'pw' }, metrics: {} });
    const pod = await startRedisPod(rendered, 0, { secrets: secretsFor(rendered.statefulSet, PASSWORD) });
    const exporter = await pod.startSidecar(EXPORTER_CONTAINER_NAME);
    const series = parseExposition((await exporter.get('/metrics')).body);
    expect(value(series, 'redis_up')).toEqual([{ name: 'redis_up', labels: {}, value: 1 }]);
    expect(exporter.argv).toEqual([expect.stringMatching(/prometheus-redis-exporter$/)]);
    const container = rendered.statefulSet.spec!.template.spec!.containers.find((c) => c.name === EXPORTER_CONTAINER_NAME)!;
    expect(JSON.stringify(container)).not.toContain('secretKeyRef');
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'REDIS_USER', value: EXPORTER_USER }, { name: 'REDIS_PASSWORD_FILE', value: EXPORTER_PASSWORD_FILE }, { name: 'REDIS_EXPORTER_CONFIG_COMMAND', value: '-' },
    ]));
    // The file the init container wrote: mode 0440, one entry, a 48-hex-digit password that is not the Secret's.
    const file = join(pod.volumeDir(EXPORTER_AUTH_VOLUME), 'password.json');
    expect(statSync(file).mode & 0o777).toBe(0o440);
    const map = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(Object.keys(map)).toEqual(['redis://localhost:6379']);
    const own = map['redis://localhost:6379'];
    expect(own).toMatch(/^[0-9a-f]{48}$/);
    expect(JSON.stringify(rendered)).not.toContain(own);
    expect(readFileSync(`/proc/${exporter.pid}/cmdline`, 'utf8')).not.toContain(own);
    // Least privilege: it may read INFO, not the config (requirepass) and not the data.
    const asExporter = await connect(pod, { username: EXPORTER_USER, password: own });
    expect(await asExporter.ping()).toBe('PONG');
    await expect(asExporter.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(/NOPERM/);
    await expect(asExporter.set('k', 'v')).rejects.toThrow(/NOPERM/);
    await expect(asExporter.get('k')).rejects.toThrow(/NOPERM/);
    // And the exporter does nothing it may not: no ACL denial after a scrape.
    const admin = await connect(pod, { password: PASSWORD });
    await admin.call('ACL', 'LOG', 'RESET');
    await exporter.get('/metrics');
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  });

  it.each(['sh', 'busybox'] as const)('keeps scraping after a live password rotation and its grace period (its credential does not rotate; init and agent under %s)', async (shell) => {
    const rendered = renderSpec({ image: 'redis:7.2.4', auth: { secretName: 'pw', rotationGracePeriodSeconds: 1 }, metrics: {} });
    const pod = await startRedisPod(rendered, 0, { shell, secrets: secretsFor(rendered.statefulSet, PASSWORD) });
    const exporter = await pod.startSidecar(EXPORTER_CONTAINER_NAME);
    expect((await exporter.get('/metrics')).body).toMatch(/^redis_up 1$/m);
    pod.updateSecrets(secretsFor(rendered.statefulSet, 'the-next-password'));
    await eventually('the grace period to end', async () => pod.sidecars[AGENT_CONTAINER_NAME].logs().includes('grace period over'), 15_000);
    await expect(sendCommand({ host: '127.0.0.1', port: pod.port, password: PASSWORD }, ['PING'])).rejects.toThrow(/WRONGPASS/);
    // The same exporter process, a new connection per scrape: still in.
    expect((await exporter.get('/metrics')).body).toMatch(/^redis_up 1$/m);
    expect(pod.alive).toBe(true);
  });

  it('without auth, one pod: the single-instance alerts, and the check catches an unknown metric or label', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', metrics: { alerts: { memoryUsedPercent: 80 } } });
    const pod = await startRedisPod(rendered, 0);
    const series = await scrape(pod);
    expect(value(series, 'redis_up')[0].value).toBe(1);
    const rule = rendered.prometheusRule!;
    expect(rule.spec.groups[0].rules.map((r) => r.alert)).toEqual([
      'RedisDown', 'RedisMemoryNearMaxmemory', 'RedisKeysEvicted', 'RedisPersistenceWriteError', 'RedisRejectedConnections',
    ]);
    const context = targetContext(rendered, pod);
    expect(context.targetLabels[INSTANCE_SERIES_LABEL]).toBe('cache');
    expect(context.targetLabels[sanitizeLabelName(INSTANCE_LABEL)]).toBe('cache');
    expect(alertProblems(rule, series, context)).toEqual([]);

    // The check is not a formality: names and labels the exporter does not have are caught.
    const s = 'namespace="test",redis_github_com_instance="cache"';
    expect(seriesProblems(`rate(redis_evicted_keys{${s}}[5m]) > 0`, series, context)).toEqual([
      `redis_evicted_keys{${s}}: the exporter exports no metric redis_evicted_keys`,
    ]);
    expect(seriesProblems(`count(redis_instance_info{${s},role="primary"}) > 1`, series, context)).toEqual([
      `redis_instance_info{${s},role="primary"}: no series redis_instance_info has role="primary" (seen: master)`,
    ]);
    expect(seriesProblems(`redis_up{namespace="web"} == 0`, series, context)).toEqual([
      'redis_up{namespace="web"}: namespace="web", but the target\'s namespace is "test"',
    ]);
    expect(seriesProblems(`sum by (shard) (redis_up{${s}}) == 0`, series, context)).toEqual([
      `label shard is on none of the series of sum by (shard) (redis_up{${s}}) == 0`,
    ]);
    expect(seriesProblems('redis_up{replica_of="x"}', series, context)).toEqual([
      'redis_up{replica_of="x"}: no series redis_up has a label replica_of',
    ]);
  });

  it('the shipped example with metrics (shop/sessions) runs its exporter with its password', async () => {
    const sessions = shippedInstances().find((e) => e.instance === 'shop/sessions')!;
    expect(sessions.redisInstance.spec.metrics).toBeDefined();
    const pod = await startRedisPod(sessions, 0, { secrets: secretsFor(sessions.statefulSet, PASSWORD) });
    const series = await scrape(pod);
    expect(value(series, 'redis_up')[0].value).toBe(1);
    // maxmemory 400mb from the example's config.
    expect(value(series, 'redis_memory_max_bytes')[0].value).toBe(400 * 1024 * 1024);
  });
});
