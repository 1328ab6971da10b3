import { parser } from '@prometheus-io/lezer-promql';

/**
 * What the alert tests need from Prometheus: the text exposition format a scrape returns,
 * the series selectors of a PromQL expression (parsed with Prometheus' own grammar,
 * @prometheus-io/lezer-promql), and the check that every selector names a series the
 * exporter really exports, with the labels it really has.
 */

/** One scraped series: metric name and labels. */
export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value?: number;
}

/** The series of a `/metrics` response (Prometheus text format 0.0.4). */
export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** A series selector of an expression: `name{label op "value", ...}`. */
export interface Selector {
  readonly text: string;
  readonly name: string;
  readonly matchers: ReadonlyArray<{ readonly label: string; readonly op: string; readonly value: string }>;
}

export interface ParsedExpression {
  readonly selectors: readonly Selector[];
  /** Labels named in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_left (...)`. */
  readonly groupingLabels: readonly string[];
}

/** Parse PromQL with Prometheus' grammar; throws on a syntax error. */
export function parsePromQL(expr: string): ParsedExpression {
  const tree = parser.parse(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);
  let error: string | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error ??= `syntax error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 10), node.to + 10))}`;
      if (node.name === 'GroupingLabels') {
        for (let c = node.node.firstChild; c; c = c.nextSibling) if (c.name === 'LabelName') groupingLabels.push(text(c));
      }
      if (node.name !== 'VectorSelector') return;
      const n = node.node;
      const name = n.getChild('Identifier');
      const matchers: Array<{ label: string; op: string; value: string }> = [];
      const list = n.getChild('LabelMatchers');
      for (let m = list?.firstChild; m; m = m.nextSibling) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (label && op && value) matchers.push({ label: text(label), op: text(op), value: JSON.parse(text(value)) });
      }
      selectors.push({ text: text(n), name: name ? text(name) : '', matchers });
    },
  });
  if (error) throw new Error(`${error} in ${expr}`);
  return { selectors, groupingLabels };
}

/** What Prometheus adds to every series of a target, and the series it writes itself. */
export interface TargetContext {
  /** Labels of every series of the target, with their values (namespace, pod, job, podTargetLabels, ...). */
  readonly targetLabels: Readonly<Record<string, string>>;
  /** Series Prometheus writes per target (`up`, ...). */
  readonly prometheusSeries: readonly string[];
}

/**
 * Problems of one alert expression against scraped series: a metric the exporter does
 * not export, a label that no series of it carries, an `=` matcher whose value no series
 * has (a target label must have exactly the target's value), a grouping label or an
 * annotation's `$labels.x` that no selected series carries.
 */
export function seriesProblems(expr: string, scraped: readonly Series[], context: TargetContext, templateLabels: readonly string[] = []): string[] {
  const problems: string[] = [];
  const parsed = parsePromQL(expr);
  const byName = new Map<string, Series[]>();
  for (const s of scraped) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const available = new Set(Object.keys(context.targetLabels));
  for (const selector of parsed.selectors) {
    const series = context.prometheusSeries.includes(selector.name) ? [{ name: selector.name, labels: {} }] : byName.get(selector.name);
    if (!series) {
      problems.push(`${selector.text}: the exporter exports no metric ${selector.name}`);
      continue;
    }
    for (const s of series) for (const l of Object.keys(s.labels)) available.add(l);
    for (const m of selector.matchers) {
      if (m.label in context.targetLabels) {
        if (m.op === '=' && context.targetLabels[m.label] !== m.value) {
          problems.push(`${selector.text}: ${m.label}="${m.value}", but the target's ${m.label} is "${context.targetLabels[m.label]}"`);
        }
      } else if (!series.some((s) => m.label in s.labels)) {
        problems.push(`${selector.text}: no series ${selector.name} has a label ${m.label}`);
      } else if (m.op === '=' && !series.some((s) => s.labels[m.label] === m.value)) {
        problems.push(`${selector.text}: no series ${selector.name} has ${m.label}="${m.value}" (seen: ${[...new Set(series.map((s) => s.labels[m.label]))].join(', ')})`);
      }
    }
  }
  for (const l of [...parsed.groupingLabels, ...templateLabels]) {
    if (!available.has(l)) problems.push(`label ${l} is on none of the series of ${expr}`);
  }
  return problems;
}

/** `$labels.x` names in an alert's annotation templates. */
export function templateLabels(annotations: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.values(annotations).flatMap((a) => [...a.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1])))];
}

/** How the Prometheus Operator turns a pod label into a series label (podTargetLabels). */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}
