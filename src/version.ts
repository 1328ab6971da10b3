import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version in this package's package.json, found from src/ (tsx) and lib/src/ (built) alike. */
export const PACKAGE_VERSION: string = findPackageVersion(__dirname);

function findPackageVersion(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.name === 'redis-gitops') return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`package.json of redis-gitops not found above ${start}`);
  }
}

/** Where the redis-gitops image (the bin: reconciler, role agent) is published; tagged with PACKAGE_VERSION. */
export const IMAGE_REPOSITORY = 'ghcr.io/redis-gitops/redis-gitops';
