import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RUNTIME_CONFIG_FILE, renderRedisConf } from '../../src/redis-conf/render';
import {
  AOF_MIGRATION_TIMEOUT_SECONDS, LIVENESS_COMMAND, READINESS_COMMAND, instanceRedisConf, livenessCommand, readinessCommand,
} from '../../src/render/instance';
import { validateRedisInstance } from '../../src/api/validate';
import {
  INSTALL_REDIS, cleanupRedisPods, findRedisBinaries, hostPath, makeTempDir, primaryDnsName, projectVolume, remapDataDirEnv, remapExporterEnv,
  remapImageCommand, remapPathEnv, remapPrimaryEnv, remapProbeCommand, remapRedisConf, renderSpec, resolveEnv, rewriteConfLines, secretFiles,
  secretsFor, type Mount,
} from '../support/redis';

afterEach(cleanupRedisPods);

/** The seam between rendered pods and this machine: pure functions, no server needed. */

describe('rewriteConfLines', () => {
  const conf = 'a 1\nb 2\nc 3\n';

  it('replaces exactly the named lines, one for one', () => {
    expect(rewriteConfLines(conf, [['b 2', 'b 20'], ['a 1', 'a 10']])).toBe('a 10\nb 20\nc 3\n');
  });

  it('throws when a line to remap is missing, instead of testing an unremapped file', () => {
    expect(() => rewriteConfLines(conf, [['d 4', 'd 40']])).toThrow('line "d 4" not found');
    expect(() => rewriteConfLines(conf, [['b', 'x']])).toThrow('not found'); // whole lines only
  });

  it('throws when a line to remap occurs more than once', () => {
    expect(() => rewriteConfLines('a 1\na 1\n', [['a 1', 'a 2']])).toThrow('occurs 2 times');
  });

  it('refuses a replacement of several lines (line numbers must stay those of the rendered file)', () => {
    expect(() => rewriteConfLines(conf, [['a 1', 'a 1\nx 2']])).toThrow('single line');
  });
});

describe('remapRedisConf', () => {
  it('changes only dir, port, bind and the runtime include of a rendered redis.conf', () => {
    const rendered = renderRedisConf({ 'maxmemory-policy': 'allkeys-lru' });
    const remapped = remapRedisConf(rendered, {
      dataMountPath: '/data', dataDir: '/tmp/x y/data', containerPort: 6379, port: 40001, runtimeConf: '/tmp/x/runtime.conf',
    });
    const before = rendered.split('\n');
    const after = remapped.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = before.map((line, i) => [line, after[i]]).filter(([a, b]) => a !== b);
    expect(changed).toEqual([
      ['bind 0.0.0.0', 'bind 127.0.0.1'],
      ['dir /data', 'dir "/tmp/x y/data"'],
      ['port 6379', 'port 40001'],
      [`include ${RUNTIME_CONFIG_FILE}`, 'include "/tmp/x/runtime.conf"'],
    ]);
  });

  it('fails when the rendered data directory is not where the data volume is mounted', () => {
    expect(() => remapRedisConf(renderRedisConf(), {
      dataMountPath: '/var/lib/redis', dataDir: '/tmp/d', containerPort: 6379, port: 1, runtimeConf: '/tmp/r',
    })).toThrow('line "dir /var/lib/redis" not found');
  });
});

describe('remapRedisConf with TLS', () => {
  const conf = (tls: Record<string, unknown>) => instanceRedisConf(validateRedisInstance({
    apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache' }, spec: { image: 'redis:7', tls },
  }).instance!);
  const mounts: Mount[] = [{ mountPath: '/etc/redis/tls', hostDir: '/tmp/vol/tls', volume: 'tls' }];
  const to = { dataMountPath: '/data', dataDir: '/tmp/d', containerPort: 6379, port: 40001, runtimeConf: '/tmp/r', hostPath: (p: string) => hostPath(mounts, p) };

  it('points tls-port at the test port, keeps port 0, and maps the certificate files to the Secret volume', () => {
    const rendered = conf({ secretName: 's' });
    const before = rendered.split('\n');
    const after = remapRedisConf(rendered, to).split('\n');
    expect(before.map((line, i) => [line, after[i]]).filter(([a, b]) => a !== b)).toEqual([
      ['bind 0.0.0.0', 'bind 127.0.0.1'],
      ['dir /data', 'dir "/tmp/d"'],
      ['tls-ca-cert-file /etc/redis/tls/ca.crt', 'tls-ca-cert-file "/tmp/vol/tls/ca.crt"'],
      ['tls-cert-file /etc/redis/tls/tls.crt', 'tls-cert-file "/tmp/vol/tls/tls.crt"'],
      ['tls-key-file /etc/redis/tls/tls.key', 'tls-key-file "/tmp/vol/tls/tls.key"'],
      ['tls-port 6379', 'tls-port 40001'],
      [`include ${RUNTIME_CONFIG_FILE}`, 'include "/tmp/r"'],
    ]);
  });

  it('a migration\'s plain port needs plainPort; a file outside the mounts throws', () => {
    expect(() => remapRedisConf(conf({ secretName: 's', allowPlaintext: true }), to)).toThrow('redis.conf has "port 6380" besides TLS: pass plainPort');
    expect(remapRedisConf(conf({ secretName: 's', allowPlaintext: true }), { ...to, plainPort: 40002 }).split('\n')).toContain('port 40002');
    expect(() => remapRedisConf(conf({ secretName: 's' }), { ...to, hostPath: (p: string) => hostPath([], p) })).toThrow('/etc/redis/tls/tls.crt is not on any volume mount');
  });

  it('maps the TLS file flags of the probes, and nothing else', () => {
    const mapped = remapProbeCommand(livenessCommand(true), 6379, 40001, (p) => hostPath(mounts, p));
    expect(mapped[2].slice(mapped[2].indexOf('redis-cli'))).toBe("redis-cli --tls --cacert '/tmp/vol/tls/ca.crt' --cert '/tmp/vol/tls/tls.crt' --key '/tmp/vol/tls/tls.key' -h 127.0.0.1 -p 40001 ping | grep -Eq 'PONG|LOADING|MASTERDOWN'");
    expect(() => remapProbeCommand(readinessCommand(true), 6379, 1)).toThrow('the probe command names /etc/redis/tls/ca.crt: pass the container\'s mounts');
  });
});

describe('the exporter sidecar', () => {
  const mounts: Mount[] = [{ mountPath: '/etc/redis/tls', hostDir: '/tmp/vol/tls', volume: 'tls' }];
  const to = { containerPort: 6379, port: 40001, metricsContainerPort: 9121, metricsPort: 40002, mounts };

  it('runs Debian\'s exporter for the image\'s /redis_exporter, and nothing unknown', () => {
    expect(remapImageCommand(['/redis_exporter'], (program, envVar) => `/usr/bin/${program} (${envVar})`))
      .toEqual(['/usr/bin/prometheus-redis-exporter (REDIS_EXPORTER)']);
    expect(() => remapImageCommand(['/bin/other'], () => 'x')).toThrow('does not know the program "/bin/other"');
  });

  it('points REDIS_ADDR and the listen address here, maps the TLS files, and keeps the rest', () => {
    expect(remapExporterEnv({
      REDIS_ADDR: 'rediss://localhost:6379', REDIS_EXPORTER_WEB_LISTEN_ADDRESS: ':9121', REDIS_PASSWORD: 'pw\n',
      REDIS_EXPORTER_TLS_CA_CERT_FILE: '/etc/redis/tls/ca.crt',
    }, to)).toEqual({
      REDIS_ADDR: 'rediss://localhost:40001', REDIS_EXPORTER_WEB_LISTEN_ADDRESS: '127.0.0.1:40002', REDIS_PASSWORD: 'pw\n',
      REDIS_EXPORTER_TLS_CA_CERT_FILE: '/tmp/vol/tls/ca.crt',
    });
    expect(() => remapExporterEnv({ REDIS_ADDR: 'redis://redis:6379', REDIS_EXPORTER_WEB_LISTEN_ADDRESS: ':9121' }, to)).toThrow('not redis[s]://localhost:6379');
    expect(() => remapExporterEnv({ REDIS_ADDR: 'redis://localhost:6379' }, to)).toThrow('REDIS_EXPORTER_WEB_LISTEN_ADDRESS is undefined');
  });
});

describe('remapProbeCommand', () => {
  it('points the rendered readiness and liveness commands at the test port and changes nothing else', () => {
    for (const command of [READINESS_COMMAND, LIVENESS_COMMAND]) {
      const remapped = remapProbeCommand(command, 6379, 40001);
      expect(remapped[2]).toBe(command[2].replace('-p 6379', '-p 40001'));
      expect(remapped.slice(0, 2)).toEqual(['sh', '-c']);
    }
  });

  it('throws when the port flag is missing or ambiguous, and ignores other numbers', () => {
    expect(() => remapProbeCommand(['sh', '-c', 'redis-cli ping'], 6379, 1)).toThrow('found it 0 times');
    expect(() => remapProbeCommand(['sh', '-c', 'redis-cli -p 63790 ping'], 6379, 1)).toThrow('found it 0 times');
    expect(() => remapProbeCommand(['sh', '-c', 'redis-cli -p 6379 ping; redis-cli -p 6379 ping'], 6379, 1)).toThrow('2 times');
    expect(() => remapProbeCommand(['redis-cli', 'ping'], 6379, 1)).toThrow('["sh", "-c", script]');
  });
});

describe('volume mounts and env', () => {
  const mounts: Mount[] = [
    { mountPath: '/data', hostDir: '/h/data', volume: 'redis-data' },
    { mountPath: '/run/redis', hostDir: '/h/runtime', volume: 'runtime' },
  ];

  it('maps container paths into the folder of the longest mount that holds them', () => {
    expect(hostPath(mounts, '/run/redis/runtime.conf')).toBe('/h/runtime/runtime.conf');
    expect(hostPath(mounts, '/data')).toBe('/h/data');
    expect(() => hostPath(mounts, '/database/x')).toThrow('not on any volume mount');
    expect(() => hostPath(mounts, '/etc/redis.conf')).toThrow('not on any volume mount');
  });

  it('resolves env as the kubelet does, and fails on a missing Secret key', () => {
    const rendered = renderSpec({ image: 'redis:7', replicas: 2, auth: { secretName: 'auth' } });
    const init = rendered.statefulSet.spec!.template.spec!.initContainers![0];
    const pod = { name: 'cache-1', namespace: 'test', secrets: secretsFor(rendered.statefulSet, 'pw') };
    expect(resolveEnv(init.env, pod)).toEqual({
      POD_NAME: 'cache-1', PRIMARY_HOST: 'cache-0.cache.test.svc', PRIMARY_PORT: '6379', REDIS_PASSWORD_FILE: '/run/secrets/redis-gitops/password',
      DATA_DIR: '/data', RDB_FILENAME: 'dump.rdb', AOF_DIRNAME: 'appendonlydir', AOF_FILENAME: 'appendonly.aof',
      AOF_MIGRATION_TIMEOUT_SECONDS: String(AOF_MIGRATION_TIMEOUT_SECONDS),
    });
    const volume = rendered.statefulSet.spec!.template.spec!.volumes!.find((v) => v.secret)!;
    expect(secretFiles(volume, pod.secrets)).toEqual({ password: 'pw' });
    expect(() => secretFiles(volume, { auth: {} })).toThrow('Secret "auth" has no key "password"');
    expect(() => secretFiles(volume, {})).toThrow('Secret "auth" not given');
  });

  it('maps the path env vars onto the mounts, and REDIS_PORT to the pod\'s port', () => {
    const withSecret = [...mounts, { mountPath: '/run/secrets/redis-gitops', hostDir: '/h/auth', volume: 'auth' }];
    expect(remapPathEnv({ REDIS_PASSWORD_FILE: '/run/secrets/redis-gitops/password', AGENT_STATUS: '/run/redis/agent-status', REDIS_PORT: '6379', X: '/data' },
      withSecret, { containerPort: 6379, port: 40001 }))
      .toEqual({ REDIS_PASSWORD_FILE: '/h/auth/password', AGENT_STATUS: '/h/runtime/agent-status', REDIS_PORT: '40001', X: '/data' });
    expect(() => remapPathEnv({ AGENT_STATUS: '/tmp/status' }, withSecret)).toThrow('not on any volume mount');
    expect(() => remapPathEnv({ REDIS_PORT: '6380' }, withSecret, { containerPort: 6379, port: 1 })).toThrow('not the container port 6379');
  });

  it('projects a volume as the kubelet does: files behind `..data`, swapped by one rename', () => {
    const dir = makeTempDir('projection-');
    projectVolume(dir, { 'a.conf': 'one' });
    const first = readlinkSync(join(dir, '..data'));
    expect(readlinkSync(join(dir, 'a.conf'))).toBe('..data/a.conf');
    projectVolume(dir, { 'a.conf': 'two' });
    expect(readFileSync(join(dir, 'a.conf'), 'utf8')).toBe('two');
    expect(readlinkSync(join(dir, '..data'))).not.toBe(first);
    expect(readdirSync(dir).sort()).toEqual([readlinkSync(join(dir, '..data')), '..data', 'a.conf'].sort());
  });

  it('maps the init container\'s DATA_DIR, which must be the data volume\'s mount path, to the data folder', () => {
    const env = { DATA_DIR: '/data', RDB_FILENAME: 'dump.rdb' };
    expect(remapDataDirEnv(env, mounts, 'redis-data')).toEqual({ DATA_DIR: '/h/data', RDB_FILENAME: 'dump.rdb' });
    expect(remapDataDirEnv({ POD_NAME: 'cache-0' }, mounts, 'redis-data')).toEqual({ POD_NAME: 'cache-0' });
    expect(() => remapDataDirEnv({ DATA_DIR: '/data/sub' }, mounts, 'redis-data')).toThrow('not the mount path /data');
    expect(() => remapDataDirEnv(env, mounts.slice(1), 'redis-data')).toThrow('does not mount the data volume');
  });

  it('resolves only pod 0\'s stable DNS name, to loopback', () => {
    const { statefulSet } = renderSpec({ image: 'redis:7', replicas: 2 });
    const dnsName = primaryDnsName(statefulSet);
    expect(dnsName).toBe('cache-0.cache.test.svc');
    const env = { PRIMARY_HOST: dnsName, PRIMARY_PORT: '6379', POD_NAME: 'cache-1' };
    expect(remapPrimaryEnv(env, { dnsName, containerPort: 6379, primaryPort: 40001 }))
      .toEqual({ PRIMARY_HOST: '127.0.0.1', PRIMARY_PORT: '40001', POD_NAME: 'cache-1' });
    expect(() => remapPrimaryEnv({ ...env, PRIMARY_HOST: 'cache-primary' }, { dnsName, containerPort: 6379, primaryPort: 1 }))
      .toThrow('only pod 0');
    expect(() => remapPrimaryEnv({ ...env, PRIMARY_PORT: '6380' }, { dnsName, containerPort: 6379, primaryPort: 1 }))
      .toThrow('not the container port');
  });
});

describe('finding the Redis binaries', () => {
  it('fails loudly, with the install command, when redis-server is missing', () => {
    expect(() => findRedisBinaries({ PATH: '/nonexistent' })).toThrow(INSTALL_REDIS);
    expect(() => findRedisBinaries({ PATH: process.env.PATH, REDIS_SERVER: '/nonexistent/redis-server' }))
      .toThrow('$REDIS_SERVER=/nonexistent/redis-server is not an executable file');
  });
});
