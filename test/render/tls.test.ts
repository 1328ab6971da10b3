import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { redisInstanceCrd } from '../../src/api/crd';
import { validateRedisInstance } from '../../src/api/validate';
import type { RedisInstanceSpec } from '../../src/api/types';
import { instanceRedisConf, renderInstance } from '../../src/render/instance';
import { TLS_CONFIG_KEYS } from '../../src/render/tls';
import { verifyRedisConfigs } from '../../src/redis-conf/verify';
import { operatorSchemaErrors, operatorUnknownFieldErrors } from '../support/operator-schema';
import { kubernetesSchemaErrors } from '../support/k8s-schema';
import { shippedInstances } from '../support/redis/examples';

function resolve(spec: Partial<RedisInstanceSpec>, name = 'cache', namespace = 'web') {
  return validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec: { image: 'redis:7.2.4', ...spec } });
}
function render(spec: Partial<RedisInstanceSpec>) {
  const result = resolve(spec);
  if (!result.ok) throw new Error(result.issues.join('\n'));
  return renderInstance(result.instance);
}

describe('TLS', () => {
  it('redis.conf: TLS on 6379, no plain port, TLS replication, the Secret files', () => {
    const conf = instanceRedisConf(resolve({ tls: { secretName: 'cache-tls' } }).instance!).split('\n');
    expect(conf.filter((l) => /^(port|tls-)/.test(l))).toEqual([
      'port 0',
      'tls-auth-clients no',
      'tls-ca-cert-file /etc/redis/tls/ca.crt',
      'tls-cert-file /etc/redis/tls/tls.crt',
      'tls-key-file /etc/redis/tls/tls.key',
      'tls-port 6379',
      'tls-replication yes',
    ]);
    const migrating = instanceRedisConf(resolve({ tls: { secretName: 'x', allowPlaintext: true, authClients: true } }).instance!).split('\n');
    expect(migrating).toContain('port 6380');
    expect(migrating).toContain('tls-auth-clients yes');
    expect(instanceRedisConf(resolve({ tls: { secretName: 'x', enabled: false } }).instance!).split('\n')).toContain('port 6379');
  });

  it('with failover: Sentinel, the start-up step and the role agent mount the Secret; the scripts and the Sentinel probe use TLS', () => {
    const flags = '--tls --cacert /etc/redis/tls/ca.crt --cert /etc/redis/tls/tls.crt --key /etc/redis/tls/tls.key';
    const pod = render({ replicas: 3, tls: { secretName: 'cache-tls' } }).statefulSet.spec!.template.spec!;
    const all = [...pod.initContainers!, ...pod.containers];
    const container = (name: string) => all.find((c) => c.name === name)!;
    const [startUp, sentinel, roleAgent] = [container('start-up'), container('sentinel'), container('role-agent')];
    for (const c of [startUp, sentinel, roleAgent, container('redis')]) {
      expect(c.volumeMounts, c.name).toContainEqual({ name: 'tls', mountPath: '/etc/redis/tls', readOnly: true });
    }
    for (const c of [startUp, sentinel]) expect(c.env, c.name).toContainEqual({ name: 'REDIS_CLI_TLS_FLAGS', value: flags });
    expect(sentinel.ports).toEqual([{ name: 'sentinel', containerPort: 26379, protocol: 'TCP' }]);
    expect(sentinel.env!.map((e) => e.name)).not.toContain('SENTINEL_PLAINTEXT_PORT');
    for (const probe of [sentinel.readinessProbe!, sentinel.livenessProbe!]) {
      // The password file is read on each probe (live rotation), then PING over TLS.
      expect(probe.exec!.command).toEqual(['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; '
        + `redis-cli ${flags} -h 127.0.0.1 -p 26379 ping | grep -q PONG`]);
    }
    expect(roleAgent.env).toEqual(expect.arrayContaining([
      { name: 'REDIS_TLS_CA_FILE', value: '/etc/redis/tls/ca.crt' },
      { name: 'REDIS_TLS_CERT_FILE', value: '/etc/redis/tls/tls.crt' },
      { name: 'REDIS_TLS_KEY_FILE', value: '/etc/redis/tls/tls.key' },
      { name: 'REDIS_TLS_SERVER_NAME', value: 'localhost' },
    ]));

    const migrating = render({ replicas: 3, tls: { secretName: 'cache-tls', allowPlaintext: true } }).statefulSet.spec!.template.spec!;
    const migratingSentinel = migrating.containers.find((c) => c.name === 'sentinel')!;
    expect(migratingSentinel.ports).toEqual([
      { name: 'sentinel', containerPort: 26379, protocol: 'TCP' }, { name: 'sentinel-plain', containerPort: 26380, protocol: 'TCP' },
    ]);
    expect(migratingSentinel.env).toContainEqual({ name: 'SENTINEL_PLAINTEXT_PORT', value: '26380' });

    // Without TLS: nothing of it.
    const plain = render({ replicas: 3 }).statefulSet.spec!.template.spec!;
    for (const c of [...plain.initContainers!, ...plain.containers]) {
      expect(c.volumeMounts!.map((m) => m.name), c.name).not.toContain('tls');
      expect((c.env ?? []).map((e) => e.name), c.name).not.toEqual(expect.arrayContaining(['REDIS_CLI_TLS_FLAGS']));
      expect((c.env ?? []).map((e) => e.name), c.name).not.toEqual(expect.arrayContaining(['REDIS_TLS_CA_FILE']));
    }
    expect(plain.containers.find((c) => c.name === 'sentinel')!.readinessProbe!.exec!.command).toEqual(['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; redis-cli -h 127.0.0.1 -p 26379 ping | grep -q PONG']);
  });

  it('mounts the Secret read-only in Redis and the exporter, and the probes use TLS with the pod certificate', () => {
    const rendered = render({ tls: { secretName: 'cache-tls' }, metrics: {} });
    const pod = rendered.statefulSet.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'cache-tls', defaultMode: 0o440 } });
    const container = (name: string) => pod.containers.find((c) => c.name === name)!;
    const [redis, exporter, agent] = [container('redis'), container('metrics'), container('config-agent')];
    for (const c of [redis, exporter, agent]) expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/redis/tls', readOnly: true });
    expect(agent.env).toContainEqual({ name: 'REDIS_CLI_TLS_FLAGS', value: '--tls --cacert /etc/redis/tls/ca.crt --cert /etc/redis/tls/tls.crt --key /etc/redis/tls/tls.key' });
    expect(pod.initContainers![0].volumeMounts!.map((m) => m.name)).not.toContain('tls');
    const flags = '--tls --cacert /etc/redis/tls/ca.crt --cert /etc/redis/tls/tls.crt --key /etc/redis/tls/tls.key -h 127.0.0.1 -p 6379';
    expect(redis.readinessProbe!.exec!.command![2]).toContain(`redis-cli ${flags} "$@"`);
    expect(redis.livenessProbe!.exec!.command![2]).toMatch(new RegExp(`redis-cli ${flags.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ping \\| grep -Eq 'PONG\\|LOADING\\|MASTERDOWN'$`));
    expect(exporter.env).toEqual(expect.arrayContaining([
      { name: 'REDIS_ADDR', value: 'rediss://localhost:6379' },
      { name: 'REDIS_EXPORTER_TLS_CA_CERT_FILE', value: '/etc/redis/tls/ca.crt' },
      { name: 'REDIS_EXPORTER_TLS_CLIENT_CERT_FILE', value: '/etc/redis/tls/tls.crt' },
      { name: 'REDIS_EXPORTER_TLS_CLIENT_KEY_FILE', value: '/etc/redis/tls/tls.key' },
    ]));
    expect(rendered.certificate).toBeUndefined();
  });

  it('allowPlaintext: port redis-plain 6380 on the container, both Services and the NetworkPolicy', () => {
    const rendered = render({ replicas: 2, tls: { secretName: 'cache-tls', allowPlaintext: true } });
    expect(rendered.statefulSet.spec!.template.spec!.containers[0].ports).toEqual([
      { name: 'redis', containerPort: 6379, protocol: 'TCP' }, { name: 'redis-plain', containerPort: 6380, protocol: 'TCP' },
    ]);
    for (const svc of [rendered.service, rendered.primaryService!]) {
      expect(svc.spec!.ports!.map((p) => `${p.name}:${p.port}`)).toEqual(['redis:6379', 'redis-plain:6380']);
    }
    expect(rendered.networkPolicy!.spec.ingress![1].ports).toEqual([{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 6380 }]);
    expect(render({ tls: { secretName: 'cache-tls' } }).service.spec!.ports!.map((p) => p.name)).toEqual(['redis']);
  });

  it('issuerRef: a cert-manager Certificate for the instance DNS names, writing <name>-tls', () => {
    const rendered = render({ replicas: 2, tls: { issuerRef: { name: 'redis-ca', kind: 'ClusterIssuer' } } });
    expect(rendered.certificate!.spec).toEqual({
      secretName: 'cache-tls',
      issuerRef: { name: 'redis-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      commonName: 'cache.web.svc',
      dnsNames: [
        'cache', 'cache.web', 'cache.web.svc', 'cache.web.svc.cluster.local',
        'cache-primary', 'cache-primary.web', 'cache-primary.web.svc', 'cache-primary.web.svc.cluster.local',
        '*.cache.web.svc', '*.cache.web.svc.cluster.local', 'localhost',
      ],
      ipAddresses: ['127.0.0.1'],
      usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      secretTemplate: { labels: rendered.configMap.metadata!.labels },
    });
    expect(rendered.statefulSet.spec!.template.spec!.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'cache-tls', defaultMode: 0o440 } });
    expect(render({ tls: { issuerRef: { name: 'ca' }, secretName: 'mine' } }).certificate!.spec.secretName).toBe('mine');
  });

  it('the Certificates validate against cert-manager\'s schema, the pod template against Kubernetes\'', () => {
    const shipped = shippedInstances().flatMap((e) => (loadAll(e.text) as any[]));
    const certificates = shipped.filter((o) => o.kind === 'Certificate');
    expect(certificates.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual(['web/cache']);
    const other = JSON.parse(JSON.stringify(render({ tls: { issuerRef: { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' } } }).certificate));
    expect([...certificates, other].flatMap(operatorSchemaErrors)).toEqual([]);
    expect(operatorUnknownFieldErrors([...certificates, other])).toEqual([]);
    const broken = structuredClone(other);
    broken.spec.privateKey.algorithm = 'DSA';
    expect(operatorSchemaErrors(broken)).toEqual([expect.stringMatching(/^Certificate\/cache: \/spec\/privateKey\/algorithm must be equal to one of the allowed values/)]);
    for (const o of shipped.filter((x) => ['StatefulSet', 'Service', 'NetworkPolicy'].includes(x.kind))) expect(kubernetesSchemaErrors(o)).toEqual([]);
  });

  it('is refused without a certificate source, and TLS keys in config are refused', () => {
    expect(resolve({ tls: {} }).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.tls: needs secretName (an existing Secret with tls.crt, tls.key and ca.crt) or issuerRef (cert-manager makes the Secret)',
    ]);
    expect(resolve({ config: { 'tls-port': '6380', 'tls-protocols': 'TLSv1.3' } }).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.config[tls-port]: "tls-port" is managed by redis-gitops; use spec.tls',
    ]);
  });

  it('the CRD forbids in CEL exactly the TLS keys the validator forbids', () => {
    const rules = redisInstanceCrd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.config['x-kubernetes-validations'];
    const tlsRule = rules.find((r: { rule: string }) => r.rule.includes("'tls-port'"));
    const listed = [...tlsRule.rule.matchAll(/'([a-z-]+)'/g)].map((m: RegExpMatchArray) => m[1]).sort();
    expect(listed).toEqual([...TLS_CONFIG_KEYS].sort());
  });

  it('check --redis-server accepts TLS configs (it cannot load the pod certificates, and needs not)', async () => {
    const confs = [{ tls: { secretName: 'x' } }, { tls: { secretName: 'x', allowPlaintext: true, authClients: true } }]
      .map((spec, i) => ({ instance: `web/c${i}`, redisConf: instanceRedisConf(resolve({ ...spec, config: { 'tls-protocols': '"TLSv1.2 TLSv1.3"' } }).instance!) }));
    expect(await verifyRedisConfigs(confs)).toEqual([{ instance: 'web/c0', ok: true }, { instance: 'web/c1', ok: true }]);
    // Redis reads the TLS directives even without certificates: an unquoted list is refused.
    const bad = instanceRedisConf(resolve({ tls: { secretName: 'x' }, config: { 'tls-protocols': 'TLSv1.2 TLSv1.3' } }).instance!);
    const [result] = await verifyRedisConfigs([{ instance: 'web/bad', redisConf: bad }]);
    expect(result.ok).toBe(false);
    expect(result.error).toContain(">>> 'tls-protocols TLSv1.2 TLSv1.3'\nwrong number of arguments");
  });
});
