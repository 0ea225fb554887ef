import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { format } from 'prettier';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { createNames } from '../../src/config/names.ts';
import { rolesMarkdown } from '../../src/setup/roles.ts';

describe('docs/security.md', () => {
  it('shows the roles and ACLs src/setup/roles.ts grants', async () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/security.md'), 'utf8');
    const tables = rolesMarkdown(createNames('<p>', '<t>'), '<t>');
    for (const table of [tables.elasticsearch, tables.kafka]) {
      const formatted = (await format(table, { parser: 'markdown', proseWrap: 'preserve' })).trim();
      expect(doc).toContain(formatted);
    }
  });
});
