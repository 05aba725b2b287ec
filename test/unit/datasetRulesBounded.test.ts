import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { Prng } from '../helpers/fuzz';

/**
 * The dataset rules of a big file work in bounded memory (a heavy-hitters pass for
 * repeated-boilerplate, sorted fingerprints for duplicates). With far more distinct spans than the
 * pass keeps counters for, the answers must still be the exact ones.
 */

const WORDS = ['red', 'bus', 'cat', 'sky', 'tree', 'river', 'house', 'window', 'bridge', 'market', 'garden', 'street', 'yellow', 'quiet', 'busy'];
const BOILER = 'Sure! As a helpful visual assistant, here is a detailed description of the picture you sent.';
const RARE = 'Certainly, I have carefully examined the image and I can describe every element of it below.';

function sentence(rng: Prng, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(rng.pick(WORDS));
  return `${out.join(' ')} ${rng.int(1e9)}.`;
}

test('repeated-boilerplate finds exactly the spans over the share among thousands of distinct ones', () => {
  const rng = new Prng(11);
  const lines: string[] = [];
  const withBoiler = new Set<number>();
  const n = 4000;
  for (let i = 0; i < n; i++) {
    // Every text is distinct: each record adds several distinct candidate spans (>> 1,024 in all).
    let answer = `${sentence(rng, 14)}\n${sentence(rng, 14)}\n${sentence(rng, 14)}`;
    if (i % 4 === 1) {
      answer = `${BOILER}\n${answer}`;
      withBoiler.add(i);
    } else if (i % 7 === 2) answer = `${RARE}\n${answer}`; // ~14%: under the 20% share, never reported
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Describe picture ${i}: ${sentence(rng, 12)}` }, { role: 'assistant', content: answer }] }));
  }
  const result = new DatasetValidator({ settings: { ...DEFAULT_SETTINGS, maxProblems: 1e6 } }).validateText(lines.join('\n'), 'jsonl');
  const reported = result.findings.filter((f) => f.code === 'repeated-boilerplate');
  assert.deepEqual(new Set(reported.map((f) => f.record)), withBoiler);
  assert.equal(reported.length, withBoiler.size, 'one finding per record: the boilerplate line');
  for (const f of reported) assert.match(f.message, new RegExp(`recurs in ${withBoiler.size} of ${n} records \\(25%\\)`));
});

test('duplicates are found by fingerprint in file order, with the earlier record named', () => {
  const rng = new Prng(5);
  const lines: string[] = [];
  const expected: string[] = [];
  const firstOf = new Map<string, number>();
  const firstId = new Map<string, { at: number; text: string }>();
  for (let i = 0; i < 3000; i++) {
    const text = i % 10 === 3 ? `copy ${rng.int(40)}` : `unique ${i}`;
    const id = i % 13 === 5 ? `id-${rng.int(30)}` : `r${i}`;
    const line = JSON.stringify({ id, conversations: [{ from: 'human', value: text }, { from: 'gpt', value: 'ok' }] });
    lines.push(line);
    // Whole-record copies (same text and same id) are duplicate samples of the first copy.
    const copyAt = firstOf.get(line);
    if (copyAt !== undefined) expected.push(`${i} duplicate-sample ${copyAt}`);
    else firstOf.set(line, i);
    const earlierId = firstId.get(id);
    if (earlierId && earlierId.text !== line) expected.push(`${i} duplicate-id ${earlierId.at}`);
    else if (!earlierId) firstId.set(id, { at: i, text: line });
  }
  const result = new DatasetValidator({ settings: { ...DEFAULT_SETTINGS, maxProblems: 1e6 } }).validateText(lines.join('\n'), 'jsonl');
  const got = result.findings
    .filter((f) => f.code === 'duplicate-sample' || f.code === 'duplicate-id')
    .map((f) => `${f.record} ${f.code} ${String(f.data?.['earlierRecord'])}`);
  assert.ok(expected.length > 50, 'the data has duplicates of both kinds');
  assert.deepEqual(got, expected);
});
