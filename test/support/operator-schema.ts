import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { publishedSchemaErrors, publishedTypeErrors, type PublishedModel } from './published-schema';

/**
 * The Prometheus Operator's and cert-manager's objects against their published schemas
 * (@kubernetes-models/prometheus-operator and .../cert-manager), both passes of
 * published-schema.ts.
 */
const MODELS: Record<string, PublishedModel> = {
  PodMonitor: { apiVersion: 'monitoring.coreos.com/v1', model: PodMonitor, type: 'IPodMonitor', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor' },
  ServiceMonitor: { apiVersion: 'monitoring.coreos.com/v1', model: ServiceMonitor, type: 'IServiceMonitor', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor' },
  PrometheusRule: { apiVersion: 'monitoring.coreos.com/v1', model: PrometheusRule, type: 'IPrometheusRule', module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule' },
  Certificate: { apiVersion: 'cert-manager.io/v1', model: Certificate, type: 'ICertificate', module: '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate' },
};

/** JSON-schema errors of one object, as `kind/name: /path message`. */
export function operatorSchemaErrors(obj: any): string[] {
  return publishedSchemaErrors(MODELS, obj);
}

/** Fields unknown to the schemas' TypeScript types, and wrong types (one compile for all objects). */
export function operatorUnknownFieldErrors(objects: readonly any[]): string[] {
  return publishedTypeErrors(MODELS, objects, '__operator_objects__.ts');
}
