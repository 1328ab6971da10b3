import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { defineCharts } from '../../../charts/main';
import { validateRedisInstance } from '../../../src/api/validate';
import type { RedisInstanceObject, RedisInstanceSpec } from '../../../src/api/types';
import { synthesize } from '../../../src/synth/synthesize';
import { renderInstance, type RenderedInstance } from '../../../src/render/instance';

const REPO = join(__dirname, '..', '..', '..');

/** One RedisInstance of dist/, as synthesized now: the parsed objects of its file. */
export interface ShippedInstance {
  /** `namespace/name`. */
  readonly instance: string;
  /** Path in dist/, e.g. `instances/data/analytics.yaml`. */
  readonly file: string;
  /** The file's exact text (what Argo CD applies). */
  readonly text: string;
  readonly redisInstance: RedisInstanceObject;
  readonly configMap: V1ConfigMap;
  readonly statefulSet: V1StatefulSet;
}

/**
 * Every example this repository ships (charts/instances/*.yaml and charts/examples.ts),
 * through the real code path: `synthesize` with the repository's charts, as `npm run
 * synth` does, then the dist/ files parsed back.
 */
export function shippedInstances(): ShippedInstance[] {
  const { files, issues } = synthesize({
    define: defineCharts,
    instanceDirs: [join(REPO, 'charts', 'instances')],
    displayRoot: REPO,
  });
  if (issues.length > 0) throw new Error(`the shipped examples do not synthesize:\n${issues.join('\n')}`);
  const out: ShippedInstance[] = [];
  for (const [file, text] of files) {
    if (!file.startsWith('instances/')) continue;
    const objects = loadAll(text) as Array<{ kind: string }>;
    const one = <T>(kind: string) => {
      const found = objects.filter((o) => o.kind === kind);
      if (found.length !== 1) throw new Error(`${file}: expected one ${kind}, got ${found.length}`);
      return found[0] as T;
    };
    const redisInstance = one<RedisInstanceObject>('RedisInstance');
    out.push({
      instance: `${redisInstance.metadata.namespace}/${redisInstance.metadata.name}`,
      file,
      text,
      redisInstance,
      configMap: one<V1ConfigMap>('ConfigMap'),
      statefulSet: one<V1StatefulSet>('StatefulSet'),
    });
  }
  return out;
}

/** Validate and render an instance written inline in a test, as the construct would. */
export function renderSpec(spec: RedisInstanceSpec, name = 'cache', namespace = 'test'): RenderedInstance {
  const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec });
  if (!result.ok) throw new Error(`invalid test instance:\n${result.issues.join('\n')}`);
  return renderInstance(result.instance);
}

/** Every object rendered for an instance, serialised as JSON. */
export function renderedText(rendered: RenderedInstance): string {
  return JSON.stringify(Object.values(rendered));
}
