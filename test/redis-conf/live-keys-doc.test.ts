import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { liveKeysTable } from '../../src/redis-conf/live-keys';

it('docs/live-changes.md shows the key table of src/redis-conf/live-keys.ts', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'live-changes.md'), 'utf8');
  const table = /<!-- live-keys-table:[^\n]*-->\n([\s\S]*?)\n<!-- \/live-keys-table -->/.exec(doc)?.[1];
  expect(table).toBe(liveKeysTable());
});
