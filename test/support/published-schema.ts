import { join } from 'node:path';
import * as ts from 'typescript';

/**
 * Validation against a project's published schemas (the @kubernetes-models packages,
 * generated from its CRDs), in two passes:
 * - `.validate()`: the JSON schema (types, required fields, enums, patterns);
 * - the TypeScript types of the same package, with the objects written as literals: the
 *   excess-property check reports every field the schema does not know. The JSON schema
 *   allows unknown fields, and so does the apiserver, which silently drops them: a typo
 *   would otherwise pass and never take effect.
 */

/** One kind: its apiVersion, the model class, and its TypeScript interface and module. */
export interface PublishedModel {
  readonly apiVersion: string;
  readonly model: new (data: any) => { validate(): void };
  readonly type: string;
  readonly module: string;
}

/** JSON-schema errors of one object, as `kind/name: /path message`. */
export function publishedSchemaErrors(models: Readonly<Record<string, PublishedModel>>, obj: any): string[] {
  const entry = models[obj.kind];
  const id = `${obj.kind}/${obj.metadata?.name}`;
  if (!entry || obj.apiVersion !== entry.apiVersion) return [`${id}: no published schema for ${obj.apiVersion} ${obj.kind}`];
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

/** Fields unknown to the models' TypeScript types, and wrong types (one compile for all objects). */
export function publishedTypeErrors(models: Readonly<Record<string, PublishedModel>>, objects: readonly any[], fileName: string): string[] {
  const file = join(__dirname, fileName);
  const used = [...new Set(objects.map((o) => o.kind))].filter((k) => models[k]);
  const imports = used.map((k) => `import type { ${models[k].type} } from '${models[k].module}';`);
  const decls = objects.map((o, i) => `export const o${i}: ${models[o.kind]?.type ?? 'never'} = ${JSON.stringify(o, null, 2)};`);
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
