import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, relative, resolve } from 'node:path';
import type { SynthesizeOptions } from '../synth/synthesize';

/** The app module cannot be used: a usage error (exit code 2) for the CLI. */
export class AppModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppModuleError';
  }
}

/** The app module `redis-gitops check` loads when `--app` is not given. */
export const DEFAULT_APP_MODULE = 'charts/main.ts';

const TYPESCRIPT = /\.[cm]?tsx?$/;

function findModule(path: string): string | undefined {
  for (const candidate of [path, `${path}.ts`, `${path}.js`]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/**
 * Node cannot load TypeScript by itself: register tsx's CommonJS loader, resolved from the
 * app module's project first, then from redis-gitops' own. Nothing to do when a loader is
 * already there (the CLI itself runs under tsx). tsx's on-disk cache is turned off so a
 * check leaves no files behind.
 */
function ensureTypeScriptLoader(file: string): void {
  if (require.extensions['.ts']) return;
  process.env.TSX_DISABLE_CACHE ??= '1';
  for (const from of [file, __filename]) {
    let api: { register: () => unknown };
    try {
      api = createRequire(from)('tsx/cjs/api');
    } catch {
      continue;
    }
    api.register();
    return;
  }
  throw new AppModuleError(
    `${file} is TypeScript and tsx is not installed: add it (npm install --save-dev tsx), `
    + 'run the check under tsx (npx tsx node_modules/.bin/redis-gitops check), or give --app a JavaScript module',
  );
}

/**
 * Load the app module and return its `synthOptions` (the SynthesizeOptions its synth uses),
 * so the check synthesizes exactly what the app's synth writes.
 */
export async function loadSynthOptions(modulePath: string, cwd: string): Promise<{ file: string; options: SynthesizeOptions }> {
  const wanted = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  const file = findModule(wanted);
  const shown = relative(cwd, wanted) || wanted;
  if (!file) throw new AppModuleError(`app module not found: ${shown} (give the module that exports synthOptions with --app <module>)`);
  if (TYPESCRIPT.test(file)) ensureTypeScriptLoader(file);
  let mod: Record<string, unknown>;
  try {
    mod = await import(file);
  } catch (error) {
    throw new AppModuleError(`cannot load the app module ${shown}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const options = (mod.synthOptions ?? (mod.default as Record<string, unknown> | undefined)?.synthOptions) as SynthesizeOptions | undefined;
  if (!options || typeof options !== 'object' || (options.define === undefined && options.instanceDirs === undefined)) {
    throw new AppModuleError(
      `${shown} does not export synthOptions: export the SynthesizeOptions your synth uses, `
      + 'e.g. `export const synthOptions = { define, instanceDirs }` and `synthesizeToDirectory(\'dist\', synthOptions)`',
    );
  }
  return { file, options };
}
