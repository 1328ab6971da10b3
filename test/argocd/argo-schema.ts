import { join } from 'node:path';
import * as ts from 'typescript';
import { AppProject, Application, ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';

/**
 * Validation against Argo CD's published schemas (@kubernetes-models/argo-cd, generated
 * from Argo CD's CRDs), in two passes:
 * - `.validate()`: the JSON schema (types, required fields, enums);
 * - the TypeScript types of the same package, with the objects written as literals: the
 *   excess-property check reports every field the schema does not know. The JSON schema
 *   allows unknown fields, and so does the apiserver, which silently drops them: a typo
 *   such as `syncOption` would otherwise pass and never take effect.
 */

const MODELS: Record<string, { model: new (data: any) => { validate(): void }; type: string; module: string }> = {
  Application: { model: Application, type: 'IApplication', module: 'Application' },
  AppProject: { model: AppProject, type: 'IAppProject', module: 'AppProject' },
  ApplicationSet: { model: ApplicationSet, type: 'IApplicationSet', module: 'ApplicationSet' },
};

export function isArgoCdObject(obj: any): boolean {
  return typeof obj?.apiVersion === 'string' && obj.apiVersion.startsWith('argoproj.io/');
}

/** JSON-schema errors of one Argo CD object, as `kind/name: /path message`. */
export function schemaErrors(obj: any): string[] {
  const entry = MODELS[obj.kind];
  const id = `${obj.kind}/${obj.metadata?.name}`;
  if (!entry || obj.apiVersion !== 'argoproj.io/v1alpha1') return [`${id}: no published schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new entry.model(structuredClone(obj)).validate();
    return [];
  } catch (error: any) {
    const details = Array.isArray(error?.errors) ? error.errors : [];
    return details.length > 0
      ? details.map((e: any) => `${id}: ${e.instancePath || '/'} ${e.message}`)
      : [`${id}: ${error?.message ?? String(error)}`];
  }
}

/** Fields unknown to the schema's TypeScript types (one compile for all objects). */
export function unknownFieldErrors(objects: readonly any[]): string[] {
  const file = join(__dirname, '__argo_objects__.ts');
  const imports = Object.values(MODELS)
    .map((m) => `import type { ${m.type} } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/${m.module}';`);
  const decls = objects.map((o, i) => `export const o${i}: ${MODELS[o.kind]?.type ?? 'never'} = ${JSON.stringify(o, null, 2)};`);
  const source = [...imports, ...decls].join('\n');
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const line = where ? source.split('\n')[where.line].trim() : '';
    return `${ts.flattenDiagnosticMessageText(d.messageText, '\n')}${line ? ` (at: ${line})` : ''}`;
  });
}
