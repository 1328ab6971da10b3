import type { DistComparison, FileDiff } from './compare';
import { formatFieldChange } from './diff';

const INDENT = '    ';

function list(objects: readonly string[]): string {
  if (objects.length === 0) return '';
  const shown = objects.slice(0, 4).join(', ');
  return ` (${shown}${objects.length > 4 ? `, and ${objects.length - 4} more` : ''})`;
}

function fileLines(diff: FileDiff, dist: string): string[] {
  switch (diff.status) {
    case 'missing':
      return [`+ ${diff.file}: missing from ${dist}/, the app synthesizes it${list(diff.objects)}`];
    case 'extra':
      return [`- ${diff.file}: in ${dist}/ but no longer synthesized${list(diff.objects)}`];
    case 'unparsable':
      return [`~ ${diff.file}: not valid YAML in ${dist}/: ${diff.error}`];
    case 'unreadable':
      return [`~ ${diff.file}: in ${dist}/ but not a file synth writes: ${diff.error}`];
    case 'formatting':
      return [`~ ${diff.file}: formatting only: ${diff.detail}`];
    case 'changed': {
      const lines = [`~ ${diff.file}`];
      for (const o of diff.objects) {
        if (o.change === 'missing') lines.push(`${INDENT}+ ${o.object}: missing from ${dist}/, the app synthesizes it`);
        else if (o.change === 'extra') lines.push(`${INDENT}- ${o.object}: in ${dist}/ but no longer synthesized`);
        else {
          lines.push(`${INDENT}${o.object}:`);
          for (const field of o.fields) lines.push(...formatFieldChange(field).map((l) => `${INDENT}  ${l}`));
          if (o.truncated) lines.push(`${INDENT}  … more fields differ (the first ${o.fields.length} are shown)`);
        }
      }
      if (diff.truncated) lines.push(`${INDENT}… more objects differ (the first ${diff.objects.length} are shown)`);
      return lines;
    }
  }
}

/**
 * The readable report of a comparison: one block per file, `+` missing from dist/, `-`
 * extra in dist/, `~` changed; for changed objects every field as `path: old → new`
 * (old: committed, new: synthesized).
 */
export function formatComparison(comparison: DistComparison, dist: string, synthCommand = 'npm run synth'): string[] {
  if (comparison.upToDate) return [`${dist}/ is up to date (${comparison.fileCount} files)`];
  const n = comparison.files.length;
  return [
    `${dist}/ is stale: ${n} of ${comparison.fileCount} files differ from what the app synthesizes`,
    '(old → new: committed → synthesized)',
    '',
    ...comparison.files.flatMap((f) => fileLines(f, dist)),
    '',
    `Run \`${synthCommand}\` and commit ${dist}/.`,
  ];
}
