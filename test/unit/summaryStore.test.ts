import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { FactsEncoder, SummaryStore } from '../../server/src/core/summaryStore';
import type { RecordFacts, RecordSummary } from '../../server/src/core/summary';
import { duplicatesRule, dominantFormat } from '../../server/src/core/rules/dataset';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';

/** Compact summaries (big files) must read back exactly as the facts that went in. */

const base = (over: Partial<RecordFacts> = {}): RecordFacts => ({
  ok: true,
  candidates: ['sharegpt', 'messages+media'],
  media: { image: 2, video: 0, audio: 1 },
  turns: 4,
  approxTokens: 123.5,
  extent: { line: 0, character: 0, endLine: 3, endCharacter: 17 },
  extra: {},
  hash: 'ow0inwnry2',
  format: 'sharegpt',
  id: 'rec-1',
  ...over,
});

function roundTrip(facts: RecordFacts[], lines: number[], columns: number[]): RecordSummary[] {
  const enc = new FactsEncoder(1);
  for (const f of facts) enc.add(f);
  // Through structured clone, as from a worker thread.
  const batch = structuredClone(enc.take());
  const store = new SummaryStore();
  store.append(batch, lines, columns);
  return [...store.view()];
}

test('facts survive encoding, transfer and decoding exactly, odd ones included', () => {
  const facts: RecordFacts[] = [
    base(),
    { ok: false, candidates: [], media: { image: 0, video: 0, audio: 0 }, turns: 0, approxTokens: 0, extent: { line: 0, character: 0, endLine: 0, endCharacter: 5 }, extra: {} },
    base({ extra: { modality: { has: true, anchor: { line: 0, character: 3, endLine: 0, endCharacter: 9 } }, 'leakage.spans': 'a b c' } }),
    base({ hash: 'zzzzzzzzzzz', id: undefined }), // 11 base-36 digits: past 2^53, kept verbatim
    base({ hash: '007' }), // not canonical base 36: kept verbatim
    base({ candidates: ['openai', 'messages+media', 'llamafactory-v1', 'sharegpt', 'minicpm-v', 'alpaca', 'qa', 'classification', 'preference', 'prompt-completion', 'text'] }),
    { ...base(), custom: 1 } as RecordFacts, // a key the columns do not know
    base({ turns: -1 }),
    base({ extent: { line: 2, character: 4, endLine: 5, endCharacter: 6 } }),
  ];
  const lines = facts.map((_, i) => i * 10 + 1);
  const columns = facts.map((_, i) => (i % 2 ? 0 : 2 ** 33)); // columns past 32 bits (one-line 1 GB arrays)
  const got = roundTrip(facts, lines, columns);
  const want = facts.map((f, i) => ({ ...f, index: i, line: lines[i]!, column: columns[i]! }));
  // `id: undefined` was an explicit key; the store keeps such facts verbatim too.
  assert.deepStrictEqual(got, want);
});

test('the view behaves as a read-only array for dataset rules', () => {
  const facts = [base({ hash: 'a1' }), base({ hash: 'b2', id: 'x' }), base({ hash: 'a1', id: 'y' }), base({ hash: 'c3', id: 'x', format: 'openai', candidates: ['openai'] })];
  const enc = new FactsEncoder();
  for (const f of facts) enc.add(f);
  const store = new SummaryStore();
  store.append(enc.take(), [0, 1, 2, 3], [0, 0, 0, 0]);
  const view = store.view();
  assert.equal(view.length, 4);
  assert.ok(Array.isArray(view));
  assert.equal(view[1]!.id, 'x');
  assert.equal(view[9], undefined);
  assert.equal(2 in view, true);
  assert.equal(4 in view, false);
  assert.deepEqual(
    view.filter((s) => s.format === 'openai').map((s) => s.index),
    [3],
  );
  assert.deepEqual(
    view.map((s) => s.hash),
    ['a1', 'b2', 'a1', 'c3'],
  );
  assert.equal(dominantFormat(view), 'sharegpt');
  assert.throws(() => {
    view[0] = view[1]!;
  });
  // The duplicates rule gives the same answer on the view as on plain objects.
  const plain = facts.map((f, i) => ({ ...f, index: i, line: i, column: 0 }));
  const ctx = { settings: DEFAULT_SETTINGS, formatContext: { settings: DEFAULT_SETTINGS } };
  assert.deepEqual(duplicatesRule.check(view, ctx), duplicatesRule.check(plain, ctx));
  assert.deepEqual(
    duplicatesRule.check(view, ctx).map((i) => i.code),
    ['duplicate-sample', 'duplicate-id'],
  );
});

test('the columns take a small fraction of what summary objects do', () => {
  const enc = new FactsEncoder();
  for (let i = 0; i < 100_000; i++) enc.add(base({ hash: (i * 7919).toString(36), id: undefined }));
  const store = new SummaryStore();
  store.append(enc.take(), new Float64Array(100_000), new Float64Array(100_000));
  // 13 numeric columns: about 80 bytes a record, capacity doubling included (objects take ~800).
  assert.ok(store.columnBytes / 100_000 < 160, `${store.columnBytes / 100_000} bytes a record`);
});

test('pages of many records read back exactly: widened values, ids present and absent, extras here and there', () => {
  // Three and a half pages of 4,096 records, in uneven batches; values that need 8, 16, 32 and
  // 64 bits (fractions, -0, NaN-free hashes and absent ones) land in different pages.
  const n = 4096 * 3 + 2000;
  const facts: RecordFacts[] = [];
  for (let i = 0; i < n; i++) {
    const f = base({
      turns: i % 5000 === 7 ? 70_000 : i % 7,
      approxTokens: i % 1000 === 3 ? -0 : i % 333 === 1 ? 12.25 : i * 3,
      extent: { line: 0, character: 0, endLine: i % 2, endCharacter: i % 4096 === 100 ? 2 ** 32 - 1 : 40 + (i % 300) },
      media: { image: i % 3, video: i === 9000 ? 300 : 0, audio: 0 },
      extra: i % 10 === 0 ? { n: i } : {},
    });
    if (i % 4 === 1) delete f.hash;
    else f.hash = (i * 7919 + 1).toString(36);
    // Ids: absent, empty, non-ASCII, long, and a page (the third) where none has one.
    if (i >= 8192 && i < 12288) delete f.id;
    else if (i % 6 === 0) delete f.id;
    else if (i % 6 === 1) f.id = '';
    else if (i % 6 === 2) f.id = `é-${i}-✓`;
    else if (i % 6 === 3) f.id = `long-${'x'.repeat(i % 50)}-${i}`;
    else f.id = String(i);
    facts.push(f);
  }
  const lines = facts.map((_, i) => (i === 5000 ? 2 ** 40 : i * 2));
  const columns = facts.map((_, i) => (i === 6000 ? 0.5 : i % 3));
  const store = new SummaryStore();
  for (let from = 0, size = 1; from < n; from += size, size = size * 3 + 1) {
    const enc = new FactsEncoder(1);
    const to = Math.min(n, from + size);
    for (let i = from; i < to; i++) enc.add(facts[i]!);
    store.append(structuredClone(enc.take()), lines.slice(from, to), columns.slice(from, to));
  }
  const want = facts.map((f, i) => ({ ...f, index: i, line: lines[i]!, column: columns[i]! }));
  assert.equal(store.length, n);
  for (let i = 0; i < n; i++) assert.deepStrictEqual(store.get(i), want[i], `record ${i}`);
  // Mostly small values: a few bytes a field, not 8 (a 64-bit column) per field.
  assert.ok(store.columnBytes / n < 80, `${store.columnBytes / n} bytes a record`);
});
