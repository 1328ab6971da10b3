import { Chart, type App } from 'cdk8s';
import { RedisInstance } from '../src';

/**
 * Instances defined in TypeScript. A highly available Redis with a password: three pods
 * with Sentinel failover (Sentinel-aware clients ask port 26379 of any pod for the primary
 * `sessions`; plain clients write through `sessions-primary`, which follows the primary),
 * and the password is read from the Secret `sessions-redis-auth` at run time. Metrics and alerts
 * for the Prometheus Operator.
 */
export function defineExamples(app: App): void {
  const chart = new Chart(app, 'examples');
  new RedisInstance(chart, 'sessions', {
    namespace: 'shop',
    labels: { 'team': 'checkout' },
    image: 'redis:7.2.4-alpine',
    replicas: 3,
    failover: 'sentinel',
    sentinel: { downAfterMilliseconds: 5000 },
    resources: {
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    },
    storage: { size: '5Gi', storageClassName: 'standard' },
    config: { 'maxmemory': '400mb', 'maxmemory-policy': 'volatile-lru' },
    auth: { secretName: 'sessions-redis-auth', secretKey: 'password' },
    // redis_exporter sidecar, PodMonitor and PrometheusRule; the label is the one
    // kube-prometheus-stack's Prometheus selects PodMonitors and rules by.
    metrics: { labels: { release: 'kube-prometheus-stack' }, alerts: { memoryUsedPercent: 85 } },
  });
}
