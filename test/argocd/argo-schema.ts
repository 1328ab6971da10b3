import { AppProject, Application, ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { publishedSchemaErrors, publishedTypeErrors, type PublishedModel } from '../support/published-schema';

/**
 * Argo CD's objects against its published schemas (@kubernetes-models/argo-cd, generated
 * from Argo CD's CRDs), both passes of test/support/published-schema.ts: a typo such as
 * `syncOption` would otherwise pass and never take effect.
 */
const module = (kind: string) => `@kubernetes-models/argo-cd/argoproj.io/v1alpha1/${kind}`;
const MODELS: Record<string, PublishedModel> = {
  Application: { apiVersion: 'argoproj.io/v1alpha1', model: Application, type: 'IApplication', module: module('Application') },
  AppProject: { apiVersion: 'argoproj.io/v1alpha1', model: AppProject, type: 'IAppProject', module: module('AppProject') },
  ApplicationSet: { apiVersion: 'argoproj.io/v1alpha1', model: ApplicationSet, type: 'IApplicationSet', module: module('ApplicationSet') },
};

export function isArgoCdObject(obj: any): boolean {
  return typeof obj?.apiVersion === 'string' && obj.apiVersion.startsWith('argoproj.io/');
}

/** JSON-schema errors of one Argo CD object, as `kind/name: /path message`. */
export function schemaErrors(obj: any): string[] {
  return publishedSchemaErrors(MODELS, obj);
}

/** Fields unknown to the schema's TypeScript types (one compile for all objects). */
export function unknownFieldErrors(objects: readonly any[]): string[] {
  return publishedTypeErrors(MODELS, objects, '__argo_objects__.ts');
}
