/**
 * The cdk8s app of this repository: `npm run synth` (or `cdk8s synth`) runs it.
 * It renders the CRD, the TypeScript-defined instances in ./examples.ts and every
 * RedisInstance in YAML under ./instances, then replaces dist/ in one step, or, on any
 * invalid input, prints every problem and leaves dist/ as it was.
 */
import { join } from 'node:path';
import { Chart, type App } from 'cdk8s';
import { RedisInstanceCrd, synthesizeToDirectory, type SynthesizeOptions } from '../src';
import { defineExamples } from './examples';

export function defineCharts(app: App): void {
  new RedisInstanceCrd(new Chart(app, 'crds'), 'redisinstances');
  defineExamples(app);
}

/** What this repository synthesizes; `redis-gitops check` uses the same options. */
export const synthOptions: SynthesizeOptions = {
  define: defineCharts,
  instanceDirs: [join(__dirname, 'instances')],
  displayRoot: join(__dirname, '..'),
};

if (require.main === module) {
  process.exitCode = synthesizeToDirectory(process.env.CDK8S_OUTDIR ?? 'dist', synthOptions);
}
