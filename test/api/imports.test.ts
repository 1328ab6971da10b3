import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('imports/', () => {
  it('is exactly what `cdk8s import` generates from the CRD (never edited by hand)', () => {
    const out = mkdtempSync(join(tmpdir(), 'redis-gitops-import-'));
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['import', 'src/api/redisinstance.crd.yaml', '--output', out], {
        cwd: ROOT,
        stdio: 'pipe',
        env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      });
      const generated = readdirSync(out).sort();
      expect(readdirSync(join(ROOT, 'imports')).sort()).toEqual(generated);
      for (const file of generated) {
        expect(readFileSync(join(ROOT, 'imports', file), 'utf8'), file).toBe(readFileSync(join(out, file), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
