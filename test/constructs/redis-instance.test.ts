import { describe, expect, it } from 'vitest';
import { App, Chart, Testing } from 'cdk8s';
import { RedisInstance, type RedisInstanceProps } from '../../src/constructs/redis-instance';
import { RedisValidationError, validateRedisInstance } from '../../src/api/validate';
import { renderRedisConf } from '../../src/redis-conf/render';
import { renderLiveConf } from '../../src/redis-conf/live-config';
import { CONFIG_AGENT_SCRIPT, podConfigHash } from '../../src/render/config-agent';
import {
  AOF_MIGRATION_SCRIPT, AOF_MIGRATION_TIMEOUT_SECONDS, RUNTIME_CONFIG_SCRIPT, TEMPLATE_HASH_ANNOTATION, podTemplateHash,
} from '../../src/render/instance';

function synth(props: Partial<RedisInstanceProps> = {}, chartProps: { namespace?: string } = {}) {
  const chart = Testing.chart();
  if (chartProps.namespace) Object.defineProperty(chart, 'namespace', { value: chartProps.namespace });
  const redis = new RedisInstance(chart, 'cache', { image: 'redis:7.2.4-alpine', ...props });
  const objects: any[] = Testing.synth(chart);
  const find = (kind: string, name = props.name ?? 'cache') => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const sts = find('StatefulSet');
  return {
    redis,
    objects,
    find,
    sts,
    pod: sts.spec.template.spec,
    redisContainer: sts.spec.template.spec.containers[0],
    init: sts.spec.template.spec.initContainers[0],
    agent: sts.spec.template.spec.containers.find((c: any) => c.name === 'config-agent'),
  };
}

describe('RedisInstance construct', () => {
  it('renders the defaults (snapshot)', () => {
    expect(synth().objects).toMatchSnapshot();
  });

  it('renders exactly the RedisInstance, ConfigMap, headless Service, StatefulSet and NetworkPolicy for one replica', () => {
    const { objects } = synth();
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'RedisInstance/default/cache', 'ConfigMap/default/cache', 'Service/default/cache', 'StatefulSet/default/cache',
      'NetworkPolicy/default/cache',
    ]);
  });

  it('fromResolved renders what the same props render, from an instance validated once', () => {
    const spec = { image: 'redis:7.2.4-alpine', replicas: 2, config: { maxmemory: '1gb' } };
    const metadata = { labels: { team: 'a' }, annotations: { note: 'x' } };
    const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'default', ...metadata }, spec });
    if (!result.ok) throw new Error(result.issues.join('\n'));
    const chart = Testing.chart();
    const redis = RedisInstance.fromResolved(chart, 'cache', result.instance);
    expect(redis.spec).toBe(result.instance.spec);
    expect(Testing.synth(chart)).toEqual(synth({ ...spec, ...metadata }).objects);
  });

  describe('props', () => {
    it('networkPolicy: on by default and exposed as networkPolicy; enabled: false renders none', () => {
      const on = synth();
      expect(on.redis.networkPolicy?.kind).toBe('NetworkPolicy');
      expect(on.find('NetworkPolicy').spec.podSelector).toEqual({ matchLabels: on.sts.spec.selector.matchLabels });
      const off = synth({ networkPolicy: { enabled: false } });
      expect(off.redis.networkPolicy).toBeUndefined();
      expect(off.objects.map((o) => o.kind)).not.toContain('NetworkPolicy');
    });

    it('name and namespace', () => {
      const { objects } = synth({ name: 'sessions', namespace: 'shop' });
      for (const o of objects) expect([o.metadata.name, o.metadata.namespace]).toEqual(['sessions', 'shop']);
    });

    it('namespace defaults to the chart namespace', () => {
      const app = new App();
      const chart = new Chart(app, 'c', { namespace: 'team-a' });
      const redis = new RedisInstance(chart, 'cache', { image: 'redis:7' });
      expect(redis.namespace).toBe('team-a');
      expect(Testing.synth(chart).every((o: any) => o.metadata.namespace === 'team-a')).toBe(true);
    });

    it('image goes to the redis and init containers and to the version label', () => {
      const image = `registry.example.com:5000/redis:7.2.4@sha256:${'0123456789abcdef'.repeat(4)}`;
      const { redisContainer, init, sts } = synth({ image });
      expect(redisContainer.image).toBe(image);
      expect(init.image).toBe(image);
      expect(sts.metadata.labels['app.kubernetes.io/version']).toBe('7.2.4');
    });

    it('an image without a tag gets no version label', () => {
      expect(synth({ image: 'redis' }).sts.metadata.labels['app.kubernetes.io/version']).toBeUndefined();
    });

    it('replicas', () => {
      expect(synth({ replicas: 3 }).sts.spec.replicas).toBe(3);
      expect(synth().sts.spec.replicas).toBe(1);
    });

    it('resources', () => {
      const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi', cpu: 1 } };
      const { redisContainer, init, find } = synth({ resources });
      expect(redisContainer.resources).toEqual(resources);
      // The init container may load the dataset (AOF migration): the same resources.
      expect(init.resources).toEqual(resources);
      expect(find('RedisInstance').spec.resources).toEqual(resources);
    });

    it('init container resources without spec.resources, or when it only writes the runtime include', () => {
      // The redis container has no limits; nor has the AOF migration, which loads the dataset.
      expect(synth().init.resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' } });
      const small = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } };
      expect(synth({ config: { appendonly: 'no' } }).init.resources).toEqual(small);
      expect(synth({ config: { appendonly: 'no' }, resources: { limits: { memory: '1Gi' } } }).init.resources).toEqual(small);
    });

    it('storage.size and storage.storageClassName', () => {
      const { sts } = synth({ storage: { size: '5Gi', storageClassName: 'fast-ssd' } });
      expect(sts.spec.volumeClaimTemplates).toEqual([{
        // apiVersion and kind as the apiserver returns them: Argo CD then sees no diff.
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'redis-data', labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '5Gi' } } },
      }]);
    });

    it('storage defaults to 1Gi on the cluster default StorageClass', () => {
      const vct = synth().sts.spec.volumeClaimTemplates[0];
      expect(vct.spec.resources.requests.storage).toBe('1Gi');
      expect('storageClassName' in vct.spec).toBe(false);
    });

    it('config reaches redis.conf whole, live keys live.conf, and the restart-only part the pod-template hash', () => {
      const config = { 'maxmemory-policy': 'allkeys-lru', maxmemory: '100mb', databases: '16' };
      const { find, sts, redis } = synth({ config });
      const data = find('ConfigMap').data;
      expect(data['redis.conf']).toBe(renderRedisConf(config));
      expect(data['redis.conf']).toContain('\ndatabases 16\ndir /data\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\n');
      expect(data['live.conf']).toBe(renderLiveConf(config));
      expect(data['live.conf'].split('\n').slice(1)).toEqual(['appendfsync\teverysec', 'maxmemory\t100mb', 'maxmemory-policy\tallkeys-lru', '']);
      expect(data['config-agent.sh']).toBe(CONFIG_AGENT_SCRIPT);
      expect(sts.spec.template.metadata.annotations['redis.github.com/config-hash']).toBe(podConfigHash(config));
      expect(redis.configHash).toBe(podConfigHash(config));
      // A live value leaves the template (and its hash) alone; a restart-only one does not.
      const template = (c: Record<string, string>) => synth({ config: c }).sts.spec.template;
      expect(template({ ...config, maxmemory: '200mb', 'maxmemory-policy': 'allkeys-lfu' })).toEqual(sts.spec.template);
      expect(template({ ...config, databases: '32' }).metadata.annotations['redis.github.com/config-hash'])
        .not.toBe(podConfigHash(config));
    });

    it('labels go to the RedisInstance and its children; ours win', () => {
      const { objects, sts } = synth({ labels: { team: 'web', 'app.kubernetes.io/name': 'mine' } });
      for (const o of objects) expect(o.metadata.labels.team).toBe('web');
      expect(sts.metadata.labels['app.kubernetes.io/name']).toBe('redis');
      expect(sts.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' });
    });

    it('annotations go to the RedisInstance only', () => {
      const { find } = synth({ annotations: { 'example.com/owner': 'web team' } });
      expect(find('RedisInstance').metadata.annotations).toEqual({ 'example.com/owner': 'web team' });
      expect(find('StatefulSet').metadata.annotations).toEqual({ [TEMPLATE_HASH_ANNOTATION]: expect.any(String) });
    });
  });

  it('labels every object with the recommended labels plus app and instance; the version only where it runs (StatefulSet, pods)', () => {
    const { objects, sts } = synth();
    const common = {
      'app.kubernetes.io/name': 'redis',
      'app.kubernetes.io/instance': 'cache',
      'app.kubernetes.io/component': 'database',
      'app.kubernetes.io/managed-by': 'redis-gitops',
      app: 'redis',
      'redis.github.com/instance': 'cache',
    };
    const versioned = { ...common, 'app.kubernetes.io/version': '7.2.4-alpine' };
    for (const o of objects.filter((x) => x.kind !== 'RedisInstance')) {
      expect(o.metadata.labels, o.kind).toEqual(o.kind === 'StatefulSet' ? versioned : common);
    }
    expect(sts.spec.template.metadata.labels).toEqual(versioned);
  });

  it('wires the container: port, command, config and data mounts, probes', () => {
    const { redisContainer, pod, sts, find } = synth();
    expect(redisContainer.name).toBe('redis');
    expect(redisContainer.ports).toEqual([{ name: 'redis', containerPort: 6379, protocol: 'TCP' }]);
    expect(redisContainer.command).toEqual(['redis-server', '/usr/local/etc/redis/redis.conf']);
    expect(redisContainer.volumeMounts).toEqual([
      { name: 'redis-data', mountPath: '/data' },
      { name: 'config', mountPath: '/usr/local/etc/redis', readOnly: true },
      { name: 'runtime', mountPath: '/run/redis', readOnly: true },
    ]);
    // The whole ConfigMap as a folder (no subPath), so the kubelet updates it in place.
    expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'cache' } });
    for (const c of [...pod.containers, ...pod.initContainers]) for (const m of c.volumeMounts) expect(m.subPath, `${c.name} ${m.mountPath}`).toBeUndefined();
    expect(redisContainer.readinessProbe.exec.command).toEqual(['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || '
      + '{ pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; cli() { redis-cli -h 127.0.0.1 -p 6379 "$@"; }; '
      + 'cli ping | grep -q PONG && cli info replication | grep -Eq \'^(role:master|master_link_status:up)\'']);
    expect(redisContainer.livenessProbe.exec.command[2]).toContain('redis-cli -h 127.0.0.1 -p 6379 ping');
    expect(sts.spec.serviceName).toBe('cache');
    const service = find('Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }]);
  });

  it('passes the Pod Security Standards "restricted" profile', () => {
    const { pod } = synth({ replicas: 2, auth: { secretName: 'pw' } });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'] });
      expect(c.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext.runAsUser).not.toBe(0);
      expect(c.securityContext.privileged).toBe(false);
      expect(c.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      expect(c.ports?.some((p: any) => p.hostPort) ?? false).toBe(false);
    }
    for (const v of pod.volumes) expect(Object.keys(v).filter((k) => k !== 'name')).toEqual([expect.stringMatching(/^(configMap|emptyDir|secret|persistentVolumeClaim)$/)]);
  });

  it('keeps a hash of the pod template on the StatefulSet', () => {
    const { sts } = synth();
    expect(sts.metadata.annotations[TEMPLATE_HASH_ANNOTATION]).toBe(podTemplateHash(sts.spec.template));
    expect(synth({ image: 'redis:7.4' }).sts.metadata.annotations[TEMPLATE_HASH_ANNOTATION]).not.toBe(sts.metadata.annotations[TEMPLATE_HASH_ANNOTATION]);
  });

  describe('replication without failover (replicas > 1, failover none)', () => {
    const { objects, find, init, sts } = synth({ replicas: 3, failover: 'none', namespace: 'shop' });

    it('starts every pod but pod 0 as a replica of pod 0 through its stable DNS name', () => {
      expect(init.command).toEqual(['sh', '-c', RUNTIME_CONFIG_SCRIPT + AOF_MIGRATION_SCRIPT]);
      expect(RUNTIME_CONFIG_SCRIPT).toContain('if [ "$ordinal" != "0" ]; then');
      expect(RUNTIME_CONFIG_SCRIPT).toContain(`printf 'replicaof %s %s\\n' "$PRIMARY_HOST" "$PRIMARY_PORT"`);
      expect(init.env).toContainEqual({ name: 'PRIMARY_HOST', value: 'cache-0.cache.shop.svc' });
      expect(init.env).toContainEqual({ name: 'PRIMARY_PORT', value: '6379' });
      expect(init.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      expect(find('ConfigMap').data['redis.conf']).toMatch(/\ninclude \/run\/redis\/runtime\.conf\n$/);
      expect(sts.spec.podManagementPolicy).toBe('OrderedReady');
    });

    it('adds a <name>-primary Service that selects pod 0 only', () => {
      const primary = find('Service', 'cache-primary');
      expect(primary.spec.selector).toEqual({
        'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache', 'statefulset.kubernetes.io/pod-name': 'cache-0',
      });
      expect(primary.spec.type).toBe('ClusterIP');
    });

    it('adds a PodDisruptionBudget that keeps at most one pod down', () => {
      const pdb = find('PodDisruptionBudget');
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: sts.spec.selector.matchLabels } });
    });

    it('renders no primary Service and no PDB for a single replica', () => {
      expect(objects).toHaveLength(7);
      expect(synth().objects.some((o) => o.kind === 'PodDisruptionBudget' || o.metadata.name === 'cache-primary')).toBe(false);
    });
  });

  describe('RDB-to-AOF migration in the init container (appendonly yes)', () => {
    it('with AOF on (the default): the script, the data volume and the file names from the merged config', () => {
      const { init } = synth();
      expect(init.command).toEqual(['sh', '-c', RUNTIME_CONFIG_SCRIPT + AOF_MIGRATION_SCRIPT]);
      expect(init.volumeMounts).toEqual([{ name: 'runtime', mountPath: '/run/redis' }, { name: 'redis-data', mountPath: '/data' }]);
      expect(init.env.slice(3)).toEqual([
        { name: 'DATA_DIR', value: '/data' },
        { name: 'RDB_FILENAME', value: 'dump.rdb' },
        { name: 'AOF_DIRNAME', value: 'appendonlydir' },
        { name: 'AOF_FILENAME', value: 'appendonly.aof' },
        { name: 'AOF_MIGRATION_TIMEOUT_SECONDS', value: String(AOF_MIGRATION_TIMEOUT_SECONDS) },
      ]);
      const custom = synth({ config: { dbfilename: 'cache.rdb', appenddirname: '"aof dir"', appendfilename: 'cache.aof' } }).init;
      expect(custom.env.slice(4, 7)).toEqual([
        { name: 'RDB_FILENAME', value: 'cache.rdb' }, { name: 'AOF_DIRNAME', value: 'aof dir' }, { name: 'AOF_FILENAME', value: 'cache.aof' },
      ]);
    });

    it('with AOF off: only the runtime include, no data volume', () => {
      for (const appendonly of ['no', 'NO', '"no"']) {
        const { init } = synth({ config: { appendonly } });
        expect(init.command).toEqual(['sh', '-c', RUNTIME_CONFIG_SCRIPT]);
        expect(init.volumeMounts).toEqual([{ name: 'runtime', mountPath: '/run/redis' }]);
        expect(init.env.map((e: any) => e.name)).toEqual(['POD_NAME', 'PRIMARY_HOST', 'PRIMARY_PORT']);
      }
      // Redis reads yes/no in any case, quoted or not.
      expect(synth({ config: { appendonly: '"Yes"' } }).init.command[2]).toContain(AOF_MIGRATION_SCRIPT);
    });

    it('keeps the redis container\'s command as it is', () => {
      expect(synth().redisContainer.command).toEqual(['redis-server', '/usr/local/etc/redis/redis.conf']);
    });
  });

  describe('auth', () => {
    const { objects, init, redisContainer, pod, agent } = synth({ replicas: 2, auth: { secretName: 'cache-auth', secretKey: 'redis-password' } });

    it('delivers the password from the Secret volume at run time: requirepass and masterauth via the init container', () => {
      const file = { name: 'REDIS_PASSWORD_FILE', value: '/run/secrets/redis-gitops/password' };
      const mount = { name: 'auth', mountPath: '/run/secrets/redis-gitops', readOnly: true };
      expect(pod.volumes).toContainEqual({
        name: 'auth', secret: { secretName: 'cache-auth', items: [{ key: 'redis-password', path: 'password' }], defaultMode: 0o440 },
      });
      expect(init.env).toContainEqual(file);
      expect(init.volumeMounts).toContainEqual(mount);
      expect(RUNTIME_CONFIG_SCRIPT).toContain(`printf 'requirepass "%s"\\nmasterauth "%s"\\n' "$pw" "$pw"`);
      expect(redisContainer.env).toEqual([file]);
      expect(redisContainer.volumeMounts).toContainEqual(mount);
      expect(agent.env).toContainEqual(file);
      expect(agent.env).toContainEqual({ name: 'ROTATION_GRACE_SECONDS', value: '300' });
      expect(agent.volumeMounts).toContainEqual(mount);
    });

    it('never puts a password in any output', () => {
      const text = JSON.stringify(objects);
      // Outside the init script's printf format, nothing mentions requirepass or masterauth.
      const script = JSON.stringify(RUNTIME_CONFIG_SCRIPT).slice(1, -1);
      // The agent's script rewrites those lines of the runtime include after a rotation.
      const agentScript = JSON.stringify(CONFIG_AGENT_SCRIPT).slice(1, -1);
      expect(text.split(script).join('').split(agentScript).join('')).not.toMatch(/requirepass|masterauth/);
      // No container gets the password in its env: only the path of the Secret volume's file.
      for (const c of [...pod.initContainers, ...pod.containers]) {
        for (const e of c.env ?? []) expect(e.valueFrom?.secretKeyRef, `${c.name} ${e.name}`).toBeUndefined();
      }
      expect(objects.every((o) => o.kind !== 'Secret')).toBe(true);
      // The only references to the Secret: spec.auth and the volume.
      expect(text.match(/cache-auth/g)).toHaveLength(2);
      const data = objects.find((o) => o.kind === 'ConfigMap').data;
      expect(Object.keys(data).sort()).toEqual(['config-agent.sh', 'live.conf', 'redis.conf']);
      expect(data['redis.conf'] + data['live.conf']).not.toMatch(/requirepass|masterauth/);
    });

    it('adds no password plumbing without auth', () => {
      const plain = synth();
      expect(plain.redisContainer.env).toBeUndefined();
      expect(plain.init.env.map((e: any) => e.name)).toEqual([
        'POD_NAME', 'PRIMARY_HOST', 'PRIMARY_PORT', 'DATA_DIR', 'RDB_FILENAME', 'AOF_DIRNAME', 'AOF_FILENAME', 'AOF_MIGRATION_TIMEOUT_SECONDS',
      ]);
    });
  });

  it('throws one error listing every problem, naming the construct path and the fields', () => {
    const chart = Testing.chart();
    let error: unknown;
    try {
      new RedisInstance(chart, 'Bad_Name', { image: '', replicas: 0, config: { requirepass: 'x' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RedisValidationError);
    expect((error as Error).message).toBe([
      'RedisInstance at test/Bad_Name: 4 problems:',
      '  RedisInstance default/Bad_Name: metadata.name: must be a DNS-1035 label of at most 52 characters (lower-case letters, digits and \'-\', starting with a letter), got "Bad_Name"',
      '  RedisInstance default/Bad_Name: spec.image: must not be empty',
      '  RedisInstance default/Bad_Name: spec.replicas: must be at least 1, got 0',
      '  RedisInstance default/Bad_Name: spec.config.requirepass: "requirepass" would put a secret in the ConfigMap; use spec.auth (a Secret) instead',
    ].join('\n'));
  });

  it('is deterministic: the same spec with keys in any order gives the same objects', () => {
    const a = synth({ config: { hz: '20', maxmemory: '1mb' }, resources: { limits: { memory: '1Gi', cpu: '1' } } }).objects;
    const b = synth({ resources: { limits: { cpu: '1', memory: '1Gi' } }, config: { maxmemory: '1mb', hz: '20' } }).objects;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
