import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRedisInstance } from '../../src/api/types';
import {
  POD_SCRIPT_FILES, PRE_STOP_TIMEOUT_SECONDS, SENTINEL_PORT, START_TIMEOUT_SECONDS, TERMINATION_GRACE_PERIOD_SECONDS,
  scriptsHash, sentinelConfigMapData, sentinelPodParts,
} from '../../src/render/sentinel';
import { requireProgram } from '../support/programs';

function instance(spec: Partial<ResolvedRedisInstance['spec']> = {}): ResolvedRedisInstance {
  return {
    name: 'cache',
    namespace: 'shop',
    spec: {
      image: 'redis:7.2.4',
      replicas: 3,
      storage: { size: '1Gi' },
      config: {},
      networkPolicy: { enabled: true, metricsNamespace: 'monitoring', restrictEgress: false },
      failover: { mode: 'sentinel', quorum: 2, downAfterMilliseconds: 5000, failoverTimeoutMilliseconds: 60000 },
      podAgent: true,
      ...spec,
    },
  };
}

const RESTRICTED = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 999,
  runAsGroup: 999,
  seccompProfile: { type: 'RuntimeDefault' },
};

const COMMON_ENV = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'INSTANCE', value: 'cache' },
  { name: 'REPLICAS', value: '3' },
  { name: 'REDIS_PORT', value: '6379' },
  { name: 'SENTINEL_PORT', value: '26379' },
  { name: 'SENTINEL_QUORUM', value: '2' },
  { name: 'SENTINEL_DOWN_AFTER_MS', value: '5000' },
  { name: 'SENTINEL_FAILOVER_TIMEOUT_MS', value: '60000' },
  { name: 'RUNTIME_CONF', value: '/run/redis/runtime.conf' },
  { name: 'START_TIMEOUT_SECONDS', value: '600' },
];

describe('sentinelConfigMapData', () => {
  it('ships the pod scripts keyed by file name: every command line of the source, in order, without its comment and blank lines', () => {
    const data = sentinelConfigMapData(instance());
    expect(Object.keys(data)).toEqual(['ha-lib.sh', 'ha-init.sh', 'ha-sentinel.sh', 'ha-pre-stop.sh']);
    for (const file of POD_SCRIPT_FILES) {
      const source = readFileSync(join(__dirname, '../../src/pod', file), 'utf8').split('\n');
      const [header, ...lines] = data[file].trimEnd().split('\n');
      expect(header).toBe(`# redis-gitops ${file}, comments removed: the commented script is src/pod/${file} in the redis-gitops source`);
      expect(lines).toEqual(source.filter((l) => l.trim() !== '' && !l.trim().startsWith('#')));
      expect(lines.length).toBeLessThan(source.length);
    }
  });

  it('refuses an instance without failover, naming it', () => {
    expect(() => sentinelConfigMapData(instance({ failover: undefined })))
      .toThrow('RedisInstance shop/cache: spec.failover is not sentinel');
  });

  it('every script parses under dash and busybox ash (the shells of the Debian and Alpine images)', () => {
    const dash = requireProgram('dash');
    const busybox = requireProgram('busybox');
    for (const file of POD_SCRIPT_FILES) {
      const path = join(__dirname, '../../src/pod', file);
      expect(() => execFileSync(dash, ['-n', path])).not.toThrow();
      expect(() => execFileSync(busybox, ['ash', '-n', path])).not.toThrow();
    }
  });
});

describe('scriptsHash', () => {
  it('depends on every byte and on no key order', () => {
    const data = sentinelConfigMapData(instance());
    const reversed = Object.fromEntries(Object.entries(data).reverse());
    expect(scriptsHash(reversed)).toBe(scriptsHash(data));
    expect(scriptsHash({ ...data, 'ha-init.sh': `${data['ha-init.sh']} ` })).not.toBe(scriptsHash(data));
    expect(scriptsHash(data)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('sentinelPodParts', () => {
  it('renders the start-up init container, the Sentinel container, its emptyDir and the preStop', () => {
    const parts = sentinelPodParts(instance());
    expect(parts.initEnv).toEqual([]);
    expect(parts.initVolumeMounts).toEqual([]);
    expect(parts.initContainers).toEqual([{
      name: 'start-up',
      image: 'redis:7.2.4',
      command: ['sh', '/usr/local/etc/redis/ha-init.sh'],
      env: [
        ...COMMON_ENV,
        { name: 'PRE_STOP_TIMEOUT_SECONDS', value: '20' },
        { name: 'DATA_DIR', value: '/data' },
        { name: 'RDB_FILENAME', value: 'dump.rdb' },
        { name: 'AOF_DIRNAME', value: 'appendonlydir' },
        { name: 'AOF_FILENAME', value: 'appendonly.aof' },
      ],
      securityContext: RESTRICTED,
      volumeMounts: [
        { name: 'config', mountPath: '/usr/local/etc/redis', readOnly: true },
        { name: 'runtime', mountPath: '/run/redis' },
        { name: 'redis-data', mountPath: '/data' },
      ],
    }]);
    expect(parts.containers).toEqual([{
      name: 'sentinel',
      image: 'redis:7.2.4',
      command: ['sh', '/usr/local/etc/redis/ha-sentinel.sh'],
      ports: [{ name: 'sentinel', containerPort: 26379, protocol: 'TCP' }],
      env: [...COMMON_ENV, { name: 'SENTINEL_DIR', value: '/run/sentinel' }, { name: 'REPLICA_PRIORITY', value: '100' }],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
      readinessProbe: {
        exec: { command: ['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; redis-cli -h 127.0.0.1 -p 26379 ping | grep -q PONG'] },
        periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1,
      },
      livenessProbe: {
        exec: { command: ['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; redis-cli -h 127.0.0.1 -p 26379 ping | grep -q PONG'] },
        initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6, successThreshold: 1,
      },
      securityContext: RESTRICTED,
      volumeMounts: [
        { name: 'config', mountPath: '/usr/local/etc/redis', readOnly: true },
        { name: 'runtime', mountPath: '/run/redis', readOnly: true },
        { name: 'sentinel', mountPath: '/run/sentinel' },
      ],
    }]);
    expect(parts.volumes).toEqual([{ name: 'sentinel', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }]);
    expect(parts.redisLifecycle).toEqual({
      preStop: { exec: { command: ['sh', '/usr/local/etc/redis/ha-pre-stop.sh', '/run/redis/ha.env'] } },
    });
    expect(parts.redisVolumeMounts).toEqual([]);
  });

  it('with spec.auth: the start-up step reads REDIS_PASSWORD from the Secret; the Sentinel container reads the Secret volume\'s file on each call (a rotation is followed)', () => {
    const parts = sentinelPodParts(instance({ auth: { secretName: 'cache-auth', secretKey: 'password' } }));
    const ref = { secretKeyRef: { name: 'cache-auth', key: 'password' } };
    expect(parts.initContainers[0].env!.filter((e) => e.valueFrom?.secretKeyRef)).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: ref }]);
    expect(parts.containers[0].env!.filter((e) => e.valueFrom?.secretKeyRef)).toEqual([]);
    expect(parts.containers[0].env).toContainEqual({ name: 'REDIS_PASSWORD_FILE', value: '/run/secrets/redis-gitops/password' });
    expect(parts.containers[0].volumeMounts).toContainEqual({ name: 'auth', mountPath: '/run/secrets/redis-gitops', readOnly: true });
  });

  it('takes quorum, timings, data file names, replica-priority and resources from the instance', () => {
    const parts = sentinelPodParts(instance({
      replicas: 5,
      config: { dbfilename: 'data.rdb', appenddirname: '"aof"', 'replica-priority': '50' },
      resources: { requests: { memory: '1Gi' }, limits: { memory: '1Gi' } },
      failover: { mode: 'sentinel', quorum: 3, downAfterMilliseconds: 2000, failoverTimeoutMilliseconds: 30000 },
    }));
    const env = (c: { env?: Array<{ name: string; value?: string }> }) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env(parts.initContainers[0])).toMatchObject({
      REPLICAS: '5', SENTINEL_QUORUM: '3', SENTINEL_DOWN_AFTER_MS: '2000', SENTINEL_FAILOVER_TIMEOUT_MS: '30000',
      RDB_FILENAME: 'data.rdb', AOF_DIRNAME: 'aof', AOF_FILENAME: 'appendonly.aof',
    });
    expect(env(parts.containers[0]).REPLICA_PRIORITY).toBe('50');
    // The start-up step loads the dataset: it gets the redis container's resources.
    expect(parts.initContainers[0].resources).toEqual({ requests: { memory: '1Gi' }, limits: { memory: '1Gi' } });
  });

  it('keeps restricted Pod Security: only configMap/emptyDir volumes, every container locked down', () => {
    const parts = sentinelPodParts(instance());
    for (const c of [...parts.initContainers, ...parts.containers]) expect(c.securityContext).toEqual(RESTRICTED);
    for (const v of parts.volumes) expect(Object.keys(v).sort()).toEqual(['emptyDir', 'name']);
  });

  it('bounds the preStop within the grace period', () => {
    expect(SENTINEL_PORT).toBe(26379);
    expect(PRE_STOP_TIMEOUT_SECONDS).toBe(20);
    expect(TERMINATION_GRACE_PERIOD_SECONDS).toBe(60);
    expect(START_TIMEOUT_SECONDS).toBe(600);
  });
});
