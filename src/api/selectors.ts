import type { FieldPath } from './validate';

/**
 * The checks the apiserver makes on a metav1.LabelSelector that the CRD's schema cannot
 * state: label keys are qualified names (an optional DNS-subdomain prefix and `/`, then
 * at most 63 characters), and In/NotIn carry values while Exists/DoesNotExist carry none
 * (the CRD states that one in CEL).
 */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function validKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  return QUALIFIED_NAME.test(key) && key.length - slash - 1 <= 63 && slash <= 253;
}

export function labelSelectorIssues(selector: any, path: FieldPath): Array<{ path: FieldPath; message: string }> {
  const out: Array<{ path: FieldPath; message: string }> = [];
  if (!selector || typeof selector !== 'object') return out;
  for (const key of Object.keys(selector.matchLabels ?? {})) {
    if (!validKey(key)) out.push({ path: [...path, 'matchLabels', key], message: 'is not a valid label key (optional DNS prefix and "/", then a name of at most 63 characters)' });
  }
  (Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []).forEach((e: any, i: number) => {
    if (typeof e?.key === 'string' && !validKey(e.key)) {
      out.push({ path: [...path, 'matchExpressions', i, 'key'], message: `is not a valid label key, got ${JSON.stringify(e.key)}` });
    }
    const values = Array.isArray(e?.values) ? e.values.length : 0;
    if ((e?.operator === 'In' || e?.operator === 'NotIn') && values === 0) {
      out.push({ path: [...path, 'matchExpressions', i, 'values'], message: `${e.operator} needs at least one value` });
    } else if ((e?.operator === 'Exists' || e?.operator === 'DoesNotExist') && values > 0) {
      out.push({ path: [...path, 'matchExpressions', i, 'values'], message: `${e.operator} takes no values` });
    }
  });
  return out;
}

/** Every selector of spec.networkPolicy.from. */
export function networkPolicyIssues(spec: any): Array<{ path: FieldPath; message: string }> {
  const from = spec?.networkPolicy?.from;
  if (!Array.isArray(from)) return [];
  return from.flatMap((peer: any, i: number) => ['namespaceSelector', 'podSelector']
    .flatMap((field) => labelSelectorIssues(peer?.[field], ['spec', 'networkPolicy', 'from', i, field])));
}
