import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { NearDuplicateIndex, shingleHashes, SIG_SIZE, signatureOf, similarity, textSignature } from '../../server/src/core/report/minhash';
import { seededRandom } from '../../server/src/core/split';

// MinHash/LSH near-duplicate detection: signatures estimate Jaccard similarity of word 3-gram
// sets; the index finds an earlier record above the threshold.

function words(n: number, random: () => number, vocab = 5000): string[] {
  return Array.from({ length: n }, () => `w${Math.floor(random() * vocab)}`);
}

function jaccard(a: string, b: string): number {
  const x = new Set(shingleHashes(a));
  const y = new Set(shingleHashes(b));
  let inter = 0;
  for (const h of x) if (y.has(h)) inter++;
  return inter / (x.size + y.size - inter);
}

test('identical texts have identical signatures; case and punctuation do not matter', () => {
  const a = textSignature('The quick brown fox jumps over the lazy dog.');
  assert.equal(a?.length, SIG_SIZE);
  assert.equal(a, textSignature('the QUICK brown fox, jumps over the lazy dog'));
  assert.equal(similarity(a, a), 1);
  assert.equal(textSignature(''), undefined);
  assert.equal(signatureOf([]), undefined);
});

test('the signature similarity estimates the true Jaccard similarity', () => {
  const random = seededRandom(7);
  let worst = 0;
  for (let trial = 0; trial < 40; trial++) {
    const base = words(200, random);
    const edited = [...base];
    // Change a varying number of words: true similarities spread from about 0.2 to 1.
    const changes = Math.floor(random() * 40);
    for (let c = 0; c < changes; c++) edited[Math.floor(random() * edited.length)] = `x${c}`;
    const a = base.join(' ');
    const b = edited.join(' ');
    const truth = jaccard(a, b);
    const estimate = similarity(textSignature(a)!, textSignature(b)!);
    worst = Math.max(worst, Math.abs(truth - estimate));
  }
  // 64 values: the standard error is at most 0.0625; 40 trials stay within about 3 of them.
  assert.ok(worst < 0.2, `largest estimation error ${worst}`);
});

test('unrelated texts are far apart; a one-word edit of a long text is close', () => {
  const random = seededRandom(11);
  const a = words(120, random).join(' ');
  const b = words(120, random).join(' ');
  assert.ok(similarity(textSignature(a)!, textSignature(b)!) < 0.2);
  const edited = a.split(' ');
  edited[60] = 'changed';
  assert.ok(similarity(textSignature(a)!, textSignature(edited.join(' '))!) >= 0.8);
});

test('the LSH index finds near-duplicates of earlier records and nothing among distinct ones', () => {
  const random = seededRandom(3);
  const index = new NearDuplicateIndex(0.8, 16);
  const texts: string[] = [];
  for (let i = 0; i < 2000; i++) texts.push(words(80, random).join(' '));
  let found = 0;
  texts.forEach((t, i) => {
    if (index.add(i, textSignature(t))) found++;
  });
  assert.equal(found, 0, 'distinct random texts are not near-duplicates');
  // Near copies of records 10, 500 and 1999 (one word changed each), plus media-only records.
  const copies = [10, 500, 1999].map((i) => {
    const w = texts[i]!.split(' ');
    w[40] = 'edited';
    return w.join(' ');
  });
  const hits = copies.map((c, k) => index.add(2000 + k, textSignature(c)));
  assert.deepEqual(hits.map((h) => h?.id), [10, 500, 1999]);
  assert.ok(hits.every((h) => h!.similarity >= 0.8));
  assert.equal(index.add(2003, undefined), undefined, 'records without text are skipped');
});

test('media references tell otherwise identical records apart', () => {
  const q = 'What is in this picture?';
  const a = textSignature(q, ['images/cat-1.jpg'])!;
  const b = textSignature(q, ['images/dog-2.jpg'])!;
  assert.notEqual(a, b);
  assert.ok(similarity(a, b) < 0.8);
});
