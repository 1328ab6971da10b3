import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * The Debian packages the tests need, read from .ci/packages.txt (the one list: .ci/run
 * installs it, and a test that lacks a program names the package from it).
 */
export const PACKAGE_LIST = join(__dirname, '..', '..', '.ci', 'packages.txt');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name` or a path: absolute path of an executable, or undefined. */
export function findExecutable(nameOrPath: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  if (nameOrPath.includes('/')) {
    const full = isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
    return executable(full) ? full : undefined;
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (dir && executable(join(dir, nameOrPath))) return join(dir, nameOrPath);
  }
  return undefined;
}

/** program → Debian package, from .ci/packages.txt. */
export function programPackages(text = readFileSync(PACKAGE_LIST, 'utf8')): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const [pkg, ...programs] = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    for (const program of programs) out.set(program, pkg);
  }
  return out;
}

/** The line that installs `program`'s package, for error messages. */
export function installHint(program: string): string {
  const pkg = programPackages().get(program);
  if (!pkg) throw new Error(`${program} is not listed in .ci/packages.txt: add the Debian package that provides it there`);
  return `apt-get install ${pkg} (Debian package ${pkg}, listed in .ci/packages.txt; .ci/run installs it)`;
}

/**
 * Absolute path of `program` on `pathEnv`, or an Error naming the Debian package that
 * provides it. Tests fail with this error; they never skip for a missing program.
 */
export function requireProgram(program: string, pathEnv = process.env.PATH ?? ''): string {
  const found = findExecutable(program, pathEnv);
  if (found) return found;
  throw new Error(`${program} not found on PATH: ${installHint(program)}`);
}
