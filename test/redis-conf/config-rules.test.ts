import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateRedisInstance, type ValidationSource } from '../../src/api/validate';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { aofMigrationEnv } from '../../src/render/instance';
import { synthesize } from '../../src/synth/synthesize';

/** The rules on spec.config keys and values (src/redis-conf/config-rules.ts), through validateRedisInstance. */

function issues(config: Record<string, unknown>, source: ValidationSource = {}, auth = false): string[] {
  const result = validateRedisInstance({
    apiVersion: 'redis.github.com/v1',
    kind: 'RedisInstance',
    metadata: { name: 'cache', namespace: 'web' },
    spec: { image: 'redis:7.2.4', config, ...(auth ? { auth: { secretName: 'pw' } } : {}) },
  }, source);
  return result.issues.map(String);
}

describe('values Redis refuses at start-up are refused at synth, naming the field', () => {
  it.each([
    ['maxmemory-policy', '"allkeys-lru', 'unbalanced quotes: a " is never closed'],
    ['maxmemory-policy', "'allkeys-lru", "unbalanced quotes: a ' is never closed"],
    ['client-output-buffer-limit', '"normal 0 0 0"0', 'a closing quote must be followed by a space or the end of the value'],
  ])('%s %j', (key, value, reason) => {
    expect(issues({ [key]: value })).toEqual([`RedisInstance web/cache: spec.config[${key}]: Redis would refuse this line at start-up: ${reason}`]);
  });

  it.each(['\u2028', '\u2029', '\u0085'])('refuses %j, which editors show as a line break that Redis does not read', (brk) => {
    expect(issues({ 'maxmemory-policy': `noeviction${brk}save 1 1` })).toEqual([
      'RedisInstance web/cache: spec.config[maxmemory-policy]: must not contain U+0085, U+2028 or U+2029 (shown as a line break by editors and YAML 1.1); inside double quotes, write the bytes as \\x escapes',
    ]);
  });

  it('the values redis-gitops reads itself must be one argument (appendonly also yes or no)', () => {
    expect(issues({ dbfilename: 'two words.rdb', appendfilename: '"\\xff"', appenddirname: '" "', appendonly: 'maybe' })).toEqual([
      'RedisInstance web/cache: spec.config.dbfilename: must be exactly one argument as Redis splits it (quote a value that holds spaces), got 2',
      'RedisInstance web/cache: spec.config.appendfilename: must be UTF-8 text once Redis reads its escapes (the AOF migration step gets it as an env var)',
      'RedisInstance web/cache: spec.config.appendonly: must be yes or no, got "maybe"',
    ]);
    expect(issues({ dbfilename: '"my dump.rdb"', appendonly: ' "YES"', appenddirname: "'aof dir'", maxmemory: '100mb' })).toEqual([]);
  });
});

describe('AOF migration reads appendonly and the file names as Redis does', () => {
  const env = (config: Record<string, string>) => Object.fromEntries((aofMigrationEnv(config) ?? []).map((e) => [e.name, e.value]));

  it.each(['yes ', ' "yes"', 'YES', "'Yes'"])('appendonly %j turns the migration on', (value) => {
    expect(env({ appendonly: value }).RDB_FILENAME).toBe('dump.rdb');
  });

  it('unquotes dbfilename, appendfilename and appenddirname', () => {
    expect(env({ dbfilename: '"my dump.rdb"', appendfilename: "'a.aof'", appenddirname: '"\\x61of"' })).toMatchObject({
      DATA_DIR: '/data', RDB_FILENAME: 'my dump.rdb', AOF_FILENAME: 'a.aof', AOF_DIRNAME: 'aof',
    });
    expect(aofMigrationEnv({ appendonly: '"no"' })).toBeUndefined();
  });

  it('throws rather than guess on a value validation refuses', () => {
    expect(() => aofMigrationEnv({ dbfilename: 'a b' })).toThrow('config.dbfilename is not one redis.conf argument: "a b"');
  });
});

describe('keys that are dangerous or cannot work', () => {
  it.each(['cluster-enabled', 'cluster-config-file', 'cluster-node-timeout', 'cluster-slave-no-failover'])('refuses %s until cluster mode exists', (key) => {
    expect(issues({ [key]: 'yes' })).toEqual([
      `RedisInstance web/cache: spec.config[${key}]: "${key}": cluster mode is not supported yet (with cluster-enabled yes, Redis answers PING, so pods turn Ready, but every command fails with CLUSTERDOWN)`,
    ]);
  });

  it.each(['enable-debug-command', 'enable-module-command', 'enable-protected-configs'])('allows %s only with spec.auth', (key) => {
    expect(issues({ [key]: 'yes' })).toEqual([
      `RedisInstance web/cache: spec.config[${key}]: "${key}" lets clients run DEBUG, MODULE LOAD or CONFIG SET dir/dbfilename; it may be set only together with spec.auth`,
    ]);
    expect(issues({ [key]: 'local' }, {}, true)).toEqual([]);
  });

  it('refuses loadmodule unless its path is in the allowlist, which only TypeScript sets', () => {
    const refused = (path: string, listed: string) => [
      `RedisInstance web/cache: spec.config.loadmodule: "loadmodule" runs native code in redis-server (and in \`check --redis-server\`); a module is allowed only when the chart's TypeScript lists its path in allowedModules, and "${path}" is not listed${listed}`,
    ];
    expect(issues({ loadmodule: '/opt/evil.so' })).toEqual(refused('/opt/evil.so', ' (none are)'));
    expect(issues({ loadmodule: '/opt/evil.so' }, { allowedModules: ['/opt/search.so'] })).toEqual(refused('/opt/evil.so', ''));
    expect(issues({ loadmodule: '"/opt/search.so" MAXDOCS 10' }, { allowedModules: ['/opt/search.so'] })).toEqual([]);
    expect(issues({ loadmodule: '"\\xff"' }, { allowedModules: ['/opt/search.so'] })).toEqual([expect.stringContaining('and a path that is not UTF-8 text is not listed')]);
    expect(issues({ loadmodule: '' })).toEqual(['RedisInstance web/cache: spec.config.loadmodule: must name the module\'s path']);
    // Objects read from the cluster: the allowlist is the chart's; the cluster's RBAC decides who sets spec.image.
    expect(issues({ loadmodule: '/opt/evil.so' }, { origin: 'cluster' })).toEqual([]);
  });

  it('RedisInstance props take allowedModules; they never reach the spec', () => {
    const chart = Testing.chart();
    const instance = new RedisInstance(chart, 'search', { image: 'redis:7.2.4', config: { loadmodule: '/opt/search.so' }, allowedModules: ['/opt/search.so'] });
    expect(instance.redisConf).toContain('\nloadmodule /opt/search.so\n');
    expect(Testing.synth(chart)[0].spec).not.toHaveProperty('allowedModules');
    expect(() => new RedisInstance(Testing.chart(), 'evil', { image: 'redis:7.2.4', config: { loadmodule: '/opt/search.so' } }))
      .toThrow('spec.config.loadmodule: "loadmodule" runs native code');
  });
});

describe('synthesize: allowedModules is a TypeScript option; instance YAML cannot widen it', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'config-rules-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const yaml = (extra: string) => `apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: search\n  namespace: web\n${extra}spec:\n  image: redis:7.2.4\n  config:\n    loadmodule: /opt/search.so\n`;

  it('refuses a YAML loadmodule by default, with file and line; accepts it when synthOptions lists the path', () => {
    writeFileSync(join(dir, 'search.yaml'), yaml(''));
    const refused = synthesize({ instanceDirs: [dir], displayRoot: dir });
    expect(refused.issues.map(String)).toEqual([expect.stringMatching(/^search\.yaml:9: RedisInstance web\/search: spec\.config\.loadmodule: "loadmodule" runs native code/)]);
    const allowed = synthesize({ instanceDirs: [dir], displayRoot: dir, allowedModules: ['/opt/search.so'] });
    expect(allowed.issues).toEqual([]);
    expect([...allowed.files.values()].join('')).toContain('loadmodule /opt/search.so');
  });

  it('an allowlist smuggled into the YAML (a field or an annotation) does nothing', () => {
    writeFileSync(join(dir, 'search.yaml'), yaml('  annotations:\n    allowedModules: /opt/search.so\n').replace('spec:\n', 'spec:\n  allowedModules: [/opt/search.so]\n'));
    expect(synthesize({ instanceDirs: [dir], displayRoot: dir }).issues.map((i) => i.path)).toEqual(['spec.allowedModules', 'spec.config.loadmodule']);
  });
});

