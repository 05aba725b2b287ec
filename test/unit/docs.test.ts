import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CODES } from '../../server/src/core/codes';
import { ROOT } from '../helpers/fixtures';

// README's diagnostics table is what users read to configure `tunekit.rules`: keep it complete.
test('README documents every diagnostic code', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const missing = Object.keys(CODES).filter((c) => !readme.includes(`| \`${c}\` |`));
  assert.deepEqual(missing, [], 'codes missing from the README diagnostics table');
});

// Every command the manifest contributes must have a title users can find in the palette.
test('package.json commands have "Tunekit: " titles', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { commands?: { command: string; title: string; category?: string }[] };
  };
  for (const c of pkg.contributes.commands ?? []) {
    assert.ok(c.command.startsWith('tunekit.'), c.command);
    assert.ok(c.title.startsWith('Tunekit: ') || c.category === 'Tunekit', `${c.command}: "${c.title}"`);
  }
});
