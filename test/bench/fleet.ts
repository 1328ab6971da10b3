import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A realistic fleet: N instances over 20 namespaces, one YAML file each, a mix of shapes. */
export function writeFleet(dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const namespace = `team-${i % 20}`;
    mkdirSync(join(dir, namespace), { recursive: true });
    const replicated = i % 3 === 0;
    writeFileSync(join(dir, namespace, `redis-${i}.yaml`), [
      'apiVersion: redis.github.com/v1',
      'kind: RedisInstance',
      'metadata:',
      `  name: redis-${i}`,
      `  namespace: ${namespace}`,
      'spec:',
      '  image: redis:7.2.4-alpine',
      `  replicas: ${replicated ? 3 : 1}`,
      '  resources:',
      '    requests: { cpu: 50m, memory: 64Mi }',
      '    limits: { memory: 128Mi }',
      '  storage:',
      `    size: ${1 + (i % 5)}Gi`,
      '  config:',
      '    maxmemory-policy: allkeys-lru',
      `    hz: "${10 + (i % 10)}"`,
      ...(replicated ? ['  auth:', `    secretName: redis-${i}-auth`] : []),
      '',
    ].join('\n'));
  }
}
