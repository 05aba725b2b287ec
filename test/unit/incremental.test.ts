import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RECORD_RULES } from '../../server/src/core/rules';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';

// The "Done when": an edit to one line of a 100,000-line file re-validates only that line.
// Proven by counting work (records analysed, rule invocations), never by timing.

const LINES = 100_000;
const record = (i: number, answer = `Answer number ${i}.`): string =>
  JSON.stringify({ messages: [{ role: 'user', content: `Question number ${i}?` }, { role: 'assistant', content: answer }] });

test('editing one line of a 100,000-line JSONL re-runs the rules on that record only', () => {
  const lines = Array.from({ length: LINES }, (_, i) => record(i));
  const validator = new DatasetValidator({ settings: DEFAULT_SETTINGS });

  const first = validator.validateText(lines.join('\n'), 'jsonl');
  assert.equal(first.records, LINES);
  assert.deepEqual(first.findings, []);
  const afterFirst = { ...validator.counters };
  assert.equal(afterFirst.recordsAnalyzed, LINES);

  // The rules one openai record runs, counted independently of the validator under test.
  const perRecord = RECORD_RULES.filter((r) => !r.formats || r.formats.includes('openai')).length;
  assert.ok(perRecord > 0);
  assert.equal(afterFirst.ruleInvocations, LINES * perRecord);

  const edited = 54_321;
  lines[edited] = record(edited, '');
  const second = validator.validateText(lines.join('\n'), 'jsonl');
  assert.deepEqual(
    second.findings.map((f) => `${f.range.start.line} ${f.code}`),
    [`${edited} empty-content`],
  );
  assert.equal(validator.counters.recordsAnalyzed - afterFirst.recordsAnalyzed, 1);
  assert.equal(validator.counters.ruleInvocations - afterFirst.ruleInvocations, perRecord);

  // A one-record validator agrees on what one record costs.
  const single = new DatasetValidator({ settings: DEFAULT_SETTINGS });
  single.validateText(lines[edited], 'jsonl');
  assert.equal(single.counters.ruleInvocations, perRecord);

  // Validating the same text again does no record work at all.
  const beforeThird = { ...validator.counters };
  validator.validateText(lines.join('\n'), 'jsonl');
  assert.deepEqual(validator.counters, beforeThird);
});

test('inserting a line shifts the positions of later records without re-analysing them', () => {
  const lines = Array.from({ length: 1000 }, (_, i) => record(i, i === 900 ? '' : `A${i}`));
  const validator = new DatasetValidator({ settings: DEFAULT_SETTINGS });
  assert.deepEqual(
    validator.validateText(lines.join('\n'), 'jsonl').findings.map((f) => f.range.start.line),
    [900],
  );
  const before = validator.counters.recordsAnalyzed;
  lines.splice(10, 0, record(-1));
  const moved = validator.validateText(lines.join('\n'), 'jsonl');
  assert.deepEqual(moved.findings.map((f) => f.range.start.line), [901]);
  assert.equal(validator.counters.recordsAnalyzed - before, 1);
});
