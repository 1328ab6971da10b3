import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { validateRedisInstance } from '../../src/api/validate';
import type { RedisInstanceSpec } from '../../src/api/types';
import { renderInstance } from '../../src/render/instance';
import { ALERTS, EXPORTER_CONTAINER_NAME, METRICS_PORT } from '../../src/render/metrics';
import { NAMESPACE_NAME_LABEL } from '../../src/render/network-policy';
import { matchesLabelSelector } from '../support/apiserver/selectors';
import { operatorSchemaErrors, operatorUnknownFieldErrors } from '../support/operator-schema';
import { parsePromQL } from '../support/prometheus';
import { shippedInstances } from '../support/redis/examples';

function render(spec: Partial<RedisInstanceSpec> = {}, name = 'cache', namespace = 'web') {
  const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec: { image: 'redis:7.2.4', ...spec } });
  if (!result.ok) throw new Error(result.issues.join('\n'));
  return renderInstance(result.instance);
}

const exporterOf = (r: ReturnType<typeof render>) => r.statefulSet.spec!.template.spec!.containers.find((c) => c.name === EXPORTER_CONTAINER_NAME);

describe('metrics', () => {
  it('are off by default: no sidecar, no metrics port, no PodMonitor or PrometheusRule', () => {
    for (const rendered of [render(), render({ metrics: { enabled: false } })]) {
      expect(exporterOf(rendered)).toBeUndefined();
      expect(rendered.service.spec!.ports!.map((p) => p.name)).toEqual(['redis']);
      expect(rendered.podMonitor).toBeUndefined();
      expect(rendered.prometheusRule).toBeUndefined();
      expect(rendered.networkPolicy!.spec.ingress!.flatMap((r) => r.ports!.map((p) => p.port))).not.toContain(METRICS_PORT);
    }
  });

  it('add a restricted, small exporter sidecar configured by env only; with auth its own ACL user and password file, not the Secret', () => {
    const rendered = render({ auth: { secretName: 'pw', secretKey: 'pass' }, metrics: {} });
    expect(exporterOf(rendered)).toEqual({
      name: 'metrics',
      image: 'oliver006/redis_exporter:v1.45.0',
      command: ['/redis_exporter'],
      env: [
        { name: 'REDIS_ADDR', value: 'redis://localhost:6379' },
        { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: ':9121' },
        { name: 'REDIS_USER', value: 'redis-gitops-exporter' },
        { name: 'REDIS_PASSWORD_FILE', value: '/run/redis-exporter/password.json' },
        { name: 'REDIS_EXPORTER_CONFIG_COMMAND', value: '-' },
      ],
      ports: [{ name: 'metrics', containerPort: 9121, protocol: 'TCP' }],
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
      livenessProbe: { httpGet: { path: '/health', port: 'metrics' }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 },
      securityContext: {
        allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true,
        runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [{ name: 'exporter-auth', mountPath: '/run/redis-exporter', readOnly: true }],
    });
    expect(exporterOf(rendered)!.readinessProbe).toBeUndefined();
    // The password volume: tmpfs, mounted read-write by the init container only.
    const pod = rendered.statefulSet.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'exporter-auth', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(pod.initContainers![0].volumeMounts).toContainEqual({ name: 'exporter-auth', mountPath: '/run/redis-exporter' });
    expect([...pod.initContainers!.slice(1), ...pod.containers].filter((c) => c.volumeMounts?.some((m) => m.name === 'exporter-auth')).map((c) => c.name)).toEqual(['metrics']);
  });

  it('take the image and resources from the spec', () => {
    const exporter = exporterOf(render({ metrics: { image: 'registry.example/redis_exporter:v1.58.0', resources: { limits: { cpu: '50m', memory: '128Mi' } } } }))!;
    expect(exporter.image).toBe('registry.example/redis_exporter:v1.58.0');
    expect(exporter.resources).toEqual({ limits: { cpu: '50m', memory: '128Mi' } });
  });

  it('expose the named port metrics on the headless Service, open to the monitoring namespace only', () => {
    const rendered = render({ metrics: {}, networkPolicy: { metricsNamespace: 'observability' } });
    expect(rendered.service.spec!.ports).toEqual([
      { name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' },
      { name: 'metrics', port: 9121, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const metricsRules = rendered.networkPolicy!.spec.ingress!.filter((r) => r.ports!.some((p) => p.port === METRICS_PORT));
    expect(metricsRules).toEqual([{ from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'observability' } } }], ports: [{ protocol: 'TCP', port: 9121 }] }]);
  });

  it('PodMonitor selects exactly the rendered pods and scrapes the metrics port', () => {
    const rendered = render({ metrics: { labels: { release: 'prom' }, interval: '15s' } });
    const monitor = rendered.podMonitor!;
    expect(matchesLabelSelector(monitor.spec.selector, rendered.statefulSet.spec!.template.metadata!.labels)).toBe(true);
    expect(matchesLabelSelector(monitor.spec.selector, { ...rendered.statefulSet.spec!.template.metadata!.labels, 'app.kubernetes.io/instance': 'x' })).toBe(false);
    expect(monitor.metadata.labels).toMatchObject({ release: 'prom', 'redis.github.com/instance': 'cache' });
    expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    expect(rendered.prometheusRule!.metadata.labels).toMatchObject({ release: 'prom' });
  });

  it('PrometheusRule carries the thresholds of the spec, and every expression parses as PromQL', () => {
    const rule = render({ replicas: 3, metrics: { alerts: { memoryUsedPercent: 75, replicationLagSeconds: 10, evictedKeysPerSecond: 2.5, rejectedConnectionsPerSecond: 1 } } }).prometheusRule!;
    const rules = rule.spec.groups[0].rules;
    expect(rules.map((r) => r.alert)).toEqual(ALERTS.map((a) => a.alert));
    const s = 'namespace="web",redis_github_com_instance="cache"';
    const expr = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
    expect(expr.RedisMemoryNearMaxmemory).toBe(`redis_memory_used_bytes{${s}} / (redis_memory_max_bytes{${s}} > 0) * 100 > 75`);
    expect(expr.RedisReplicationLag).toBe(`redis_connected_slave_lag_seconds{${s}} > 10`);
    expect(expr.RedisKeysEvicted).toBe(`rate(redis_evicted_keys_total{${s}}[5m]) > 2.5`);
    expect(expr.RedisRejectedConnections).toBe(`rate(redis_rejected_connections_total{${s}}[5m]) > 1`);
    for (const r of rules) {
      expect(() => parsePromQL(r.expr), r.alert).not.toThrow();
      expect(r.labels).toEqual({ severity: expect.stringMatching(/^(critical|warning)$/), namespace: 'web', redis_github_com_instance: 'cache' });
    }
    expect(() => parsePromQL('rate(redis_up[5m] > 0')).toThrow(/syntax error/);
    expect(render({ metrics: { alerts: { enabled: false } } }).prometheusRule).toBeUndefined();
  });

  it('validate against the Prometheus Operator schema, in the shipped example and with every option', () => {
    const shipped = shippedInstances().flatMap((e) => (loadAll(e.text) as any[]).filter((o) => o.kind === 'PodMonitor' || o.kind === 'PrometheusRule'));
    expect(shipped.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['PodMonitor/shop/sessions', 'PrometheusRule/shop/sessions']);
    const options = render({ replicas: 2, metrics: { labels: { release: 'x' }, interval: '1m', alerts: { evictedKeysPerSecond: 0.5 } } });
    const objects = [...shipped, JSON.parse(JSON.stringify(options.podMonitor)), JSON.parse(JSON.stringify(options.prometheusRule))];
    expect(objects.flatMap(operatorSchemaErrors)).toEqual([]);
    expect(operatorUnknownFieldErrors(objects)).toEqual([]);
  });

  it('the schema check catches a misspelled or mistyped field', () => {
    const monitor = JSON.parse(JSON.stringify(render({ metrics: {} }).podMonitor)) as any;
    const misspelled = structuredClone(monitor);
    misspelled.spec.podMetricEndpoints = misspelled.spec.podMetricsEndpoints;
    monitor.spec.podMetricsEndpoints[0].interval = 30;
    expect(operatorSchemaErrors(monitor)).toEqual([expect.stringContaining('PodMonitor/cache: /spec/podMetricsEndpoints/0/interval must be string')]);
    const errors = operatorUnknownFieldErrors([misspelled, monitor]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/Object literal may only specify known properties, and '"podMetricEndpoints"' does not exist/);
    expect(errors[1]).toMatch(/Type 'number' is not assignable to type 'string'/);
  });

  it('refuses bad metrics settings with the field', () => {
    const result = validateRedisInstance({
      apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' },
      spec: { image: 'redis:7.2.4', metrics: { interval: '30 seconds', alerts: { memoryUsedPercent: 120, evictedKeysPerSecond: -1 }, labels: { release: 'a b' } } },
    });
    expect(result.issues.map((i) => i.path).sort()).toEqual([
      'spec.metrics.alerts.evictedKeysPerSecond', 'spec.metrics.alerts.memoryUsedPercent', 'spec.metrics.interval', 'spec.metrics.labels.release',
    ]);
    const resources = validateRedisInstance({
      apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' },
      spec: { image: 'redis:7.2.4', metrics: { resources: { requests: { memory: '128Mi', cpu: '-1' }, limits: { memory: '64Mi' } } } },
    });
    expect(resources.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.metrics.resources.requests.cpu: must not be negative, got "-1"',
      'spec.metrics.resources.requests.memory: must be less than or equal to the memory limit (64Mi), got "128Mi"',
    ]);
  });
});
