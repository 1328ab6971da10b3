import { join } from 'node:path';
import * as ts from 'typescript';
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1';

/**
 * Validation of the Prometheus Operator's and cert-manager's objects against their
 * published schemas (@kubernetes-models/prometheus-operator and .../cert-manager,
 * generated from the projects' CRDs), in two passes like test/argocd/argo-schema.ts:
 * `.validate()` (the JSON schema: types, required fields, enums, patterns), then the
 * package's TypeScript types with the objects written as literals, whose excess-property
 * check reports the fields the schema does not know (the JSON schema allows them and the
 * apiserver silently drops them).
 */

const MODELS: Record<string, { apiVersion: string; model: new (data: any) => { validate(): void }; type: string; module: string }> = {
  PodMonitor: { apiVersion: 'monitoring.coreos.com/v1', model: PodMonitor, type: 'IPodMonitor', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor' },
  ServiceMonitor: { apiVersion: 'monitoring.coreos.com/v1', model: ServiceMonitor, type: 'IServiceMonitor', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor' },
  PrometheusRule: { apiVersion: 'monitoring.coreos.com/v1', model: PrometheusRule, type: 'IPrometheusRule', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule' },
  Certificate: { apiVersion: 'cert-manager.io/v1', model: Certificate, type: 'ICertificate', module: '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate' },
};

/** JSON-schema errors of one object, as `kind/name: /path message`. */
export function operatorSchemaErrors(obj: any): string[] {
  const entry = MODELS[obj.kind];
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

/** Fields unknown to the schemas' TypeScript types, and wrong types (one compile for all objects). */
export function operatorUnknownFieldErrors(objects: readonly any[]): string[] {
  const file = join(__dirname, '__operator_objects__.ts');
  const used = [...new Set(objects.map((o) => o.kind))].filter((k) => MODELS[k]);
  const imports = used.map((k) => `import type { ${MODELS[k].type} } from '${MODELS[k].module}';`);
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
