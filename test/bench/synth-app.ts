/**
 * The two app layouts the bench compares, each run as its own process:
 *   ours:  `tsx test/bench/synth-app.ts ours <fleet> <out>`  (synthesizeToDirectory)
 *   naive: `tsx test/bench/synth-app.ts naive <fleet> <out>` (a cdk8s App with one Chart per
 *          instance and App.synth(), the layout cdk8s suggests by default)
 */
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { App, Chart } from 'cdk8s';
import { RedisInstance, RedisInstanceCrd, findYamlFiles, synthesizeToDirectory } from '../../src';

const [layout, fleet, out] = process.argv.slice(2);
if (process.env.BENCH_REPORT_RSS) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    process.stderr.write(`RSS ${usage.maxRSS} USER ${usage.userCPUTime} SYS ${usage.systemCPUTime}\n`);
  });
}
const define = (app: App) => new RedisInstanceCrd(new Chart(app, 'crds'), 'redisinstances');

if (layout === 'ours') {
  synthesizeToDirectory(out, { define, instanceDirs: [fleet] }).then((code) => {
    process.exitCode = code;
  });
} else if (layout === 'naive') {
  const app = new App({ outdir: out });
  define(app);
  for (const file of findYamlFiles(fleet)) {
    const manifest: any = load(readFileSync(file, 'utf8'));
    const chart = new Chart(app, `${manifest.metadata.namespace}-${manifest.metadata.name}`);
    RedisInstance.fromManifest(chart, manifest.metadata.name, manifest, { file });
  }
  app.synth();
} else {
  throw new Error(`usage: synth-app.ts ours|naive <fleet dir> <out dir> (got ${String(layout)})`);
}
