import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/synth/synthesize';

/** Which files under charts/instances/ are read, which are reported, and how their bytes are decoded. */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redis-gitops-load-'));
  mkdirSync(join(dir, 'instances'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, content: string | Buffer): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
}

const yaml = (name: string) => `apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: ${name}\nspec:\n  image: redis:7\n`;

function synth() {
  const { files, issues } = synthesize({ instanceDirs: [join(dir, 'instances')], displayRoot: dir });
  return { instances: [...files.keys()].filter((f) => f.startsWith('instances/')), issues: issues.map(String) };
}

describe('instance files', () => {
  it('reads .yaml, .yml and .json in any letter case; skips other extensions and hidden names', () => {
    write('instances/a.yaml', yaml('a'));
    write('instances/b.YAML', yaml('b'));
    write('instances/c.Yml', yaml('c'));
    write('instances/d.json', JSON.stringify({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'd' }, spec: { image: 'redis:7' } }));
    write('instances/README.md', '# not an instance\n');
    write('instances/e.yaml.bak', yaml('e'));
    write('instances/.hidden.yaml', yaml('f'));
    write('instances/.git/x.yaml', yaml('g'));
    expect(synth()).toEqual({
      instances: ['instances/default/a.yaml', 'instances/default/b.yaml', 'instances/default/c.yaml', 'instances/default/d.yaml'],
      issues: [],
    });
  });

  it('JSON with an error is reported with its line like YAML', () => {
    write('instances/d.json', '{\n  "apiVersion": "redis.github.com/v1",\n  "kind": "RedisInstance",\n  "metadata": {"name": "d"},\n  "spec": {"image": "redis:7", "replicas": "two"}\n}\n');
    expect(synth().issues).toEqual(['instances/d.json:5: RedisInstance default/d: spec.replicas: must be an integer, got "two"']);
  });

  it('follows symlinks inside the folder (a file, a folder), reading each real file once', () => {
    write('instances/team/a.yaml', yaml('a'));
    symlinkSync('team/a.yaml', join(dir, 'instances', 'link.yaml'));
    symlinkSync('team', join(dir, 'instances', 'same-team'));
    symlinkSync('..', join(dir, 'instances', 'team', 'up'));
    expect(synth()).toEqual({ instances: ['instances/default/a.yaml'], issues: [] });
  });

  it('refuses symlinks that leave the folder, dangle or loop, and files that are not regular, without opening them', () => {
    write('outside/x.yaml', yaml('x'));
    write('instances/ok.yaml', yaml('ok'));
    symlinkSync(join(dir, 'outside', 'x.yaml'), join(dir, 'instances', 'abs.yaml'));
    symlinkSync('../outside', join(dir, 'instances', 'out-folder'));
    symlinkSync('gone.yaml', join(dir, 'instances', 'dangling.yaml'));
    symlinkSync('loop-b.yaml', join(dir, 'instances', 'loop-a.yaml'));
    symlinkSync('loop-a.yaml', join(dir, 'instances', 'loop-b.yaml'));
    execFileSync('mkfifo', [join(dir, 'instances', 'pipe.yaml')]);
    expect(synth()).toEqual({
      instances: [],
      issues: [
        `instances/abs.yaml: symlink leaves the instance folder (points to ${join(dir, 'outside', 'x.yaml')}); copy the file in instead`,
        'instances/dangling.yaml: dangling symlink: gone.yaml does not exist',
        'instances/loop-a.yaml: symlink loop (loop-b.yaml)',
        'instances/loop-b.yaml: symlink loop (loop-a.yaml)',
        'instances/out-folder: symlink leaves the instance folder (points to ../outside); copy the file in instead',
        'instances/pipe.yaml: a FIFO, not a regular file: not read',
      ],
    });
  });
});

describe('encodings and duplicate keys', () => {
  it('UTF-16, with or without a byte-order mark, is named', () => {
    write('instances/bom.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml('a'), 'utf16le')]));
    write('instances/be.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yaml('b'), 'utf16le').swap16()]));
    write('instances/nobom.yaml', Buffer.from(yaml('c'), 'utf16le'));
    expect(synth().issues).toEqual([
      'instances/be.yaml: file is not UTF-8 (looks like UTF-16): save it as UTF-8',
      'instances/bom.yaml: file is not UTF-8 (looks like UTF-16): save it as UTF-8',
      'instances/nobom.yaml: file is not UTF-8 (looks like UTF-16): save it as UTF-8',
    ]);
  });

  it('an invalid UTF-8 byte is refused with its line, not turned into U+FFFD', () => {
    write('instances/latin1.yaml', Buffer.concat([Buffer.from(`${yaml('a')}  config:\n    hz: "1`), Buffer.from([0xe9]), Buffer.from('0"\n')]));
    expect(synth().issues).toEqual(['instances/latin1.yaml:8: file is not UTF-8: invalid byte sequence; save it as UTF-8']);
  });

  it('a UTF-8 byte-order mark and a literal U+FFFD are fine', () => {
    write('instances/a.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${yaml('a')}  config:\n    notify-keyspace-events: "\uFFFD"\n`)]));
    expect(synth().issues).toEqual([]);
  });

  it('a duplicate key is named, with its line', () => {
    write('instances/dup.yaml', `${yaml('a')}  config:\n    hz: "10"\n    maxmemory: 1mb\n    hz: "20"\n`);
    write('instances/flow.yaml', '{apiVersion: redis.github.com/v1, kind: RedisInstance, metadata: {name: b, name: c}, spec: {image: redis}}\n');
    expect(synth().issues).toEqual([
      'instances/dup.yaml:10: YAML does not parse: duplicate key "hz" (each key may appear once in a mapping)',
      'instances/flow.yaml:1: YAML does not parse: duplicate key "name" (each key may appear once in a mapping)',
    ]);
  });
});

describe('the instance folder', () => {
  it('a missing folder is an error naming it, not a crash', () => {
    const { issues } = synthesize({ instanceDirs: [join(dir, 'nowhere')], displayRoot: dir });
    expect(issues.map(String)).toEqual(['nowhere: instance folder not found']);
  });
});
