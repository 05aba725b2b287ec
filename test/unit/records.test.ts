import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonArrayScanner, type ArrayProblem } from '../../server/src/core/records/jsonArray';
import { JsonlSplitter } from '../../server/src/core/records/jsonl';
import { rawOffsetInString } from '../../server/src/core/records/locate';
import type { RawRecord } from '../../server/src/core/types';

function scanArray(chunks: string[]): { records: RawRecord[]; problems: ArrayProblem[] } {
  const records: RawRecord[] = [];
  const problems: ArrayProblem[] = [];
  const s = new JsonArrayScanner((r) => records.push(r), (p) => problems.push(p));
  for (const c of chunks) s.push(c);
  s.end();
  return { records, problems };
}

function splitLines(chunks: string[]): RawRecord[] {
  const records: RawRecord[] = [];
  const s = new JsonlSplitter((r) => records.push(r));
  for (const c of chunks) s.push(c);
  s.end();
  return records;
}

const ARRAY = '\ufeff[\n  {"a": "x,]}\\"[{"},\n  {"b": [1, {"c": "é😀"}]} ,\r\n  7,\n  "str]ing"\n]\n';

test('the JSON array scanner yields elements with offsets, lines and UTF-16 columns', () => {
  const { records, problems } = scanArray([ARRAY]);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => [r.index, r.line, r.column, r.text]),
    [
      [0, 1, 2, '{"a": "x,]}\\"[{"}'],
      [1, 2, 2, '{"b": [1, {"c": "é😀"}]}'],
      [2, 3, 2, '7'],
      [3, 4, 2, '"str]ing"'],
    ],
  );
  // Offsets exclude the BOM, as editors do.
  const text = ARRAY.slice(1);
  for (const r of records) assert.equal(text.slice(r.offset, r.offset + r.text.length), r.text);
});

test('the JSON array scanner gives the same records whatever the chunk boundaries', () => {
  const whole = scanArray([ARRAY]).records;
  for (let cut = 1; cut < ARRAY.length; cut++) {
    assert.deepEqual(scanArray([ARRAY.slice(0, cut), ARRAY.slice(cut)]).records, whole, `cut at ${cut}`);
  }
  assert.deepEqual(scanArray([...ARRAY]).records, whole, 'one character per chunk');
});

test('the JSON array scanner reports a missing "[", an unclosed array and trailing text once each', () => {
  const notArray = scanArray(['{"a": 1}\n{"b": 2}']);
  assert.deepEqual(notArray.records, []);
  assert.equal(notArray.problems.length, 1);
  assert.match(notArray.problems[0]!.message, /does not start with "\["/);
  const unclosed = scanArray(['[{"a": 1}, {"b": 2}']);
  assert.equal(unclosed.records.length, 2);
  assert.match(unclosed.problems[0]!.message, /not closed/);
  const trailing = scanArray(['[{"a": 1}] x y']);
  assert.equal(trailing.problems.length, 1);
  assert.match(trailing.problems[0]!.message, /after the closing/);
  assert.deepEqual(scanArray(['[]']).records, []);
  assert.match(scanArray(['  ']).problems[0]!.message, /empty/);
});

test('the JSONL splitter skips blank lines, keeps line numbers, drops CR and a leading BOM', () => {
  const text = '\ufeff{"a":1}\r\n\r\n  \n{"b":"😀"}\n{"c":3}';
  const whole = splitLines([text]);
  assert.deepEqual(
    whole.map((r) => [r.index, r.line, r.column, r.text]),
    [
      [0, 0, 0, '{"a":1}'],
      [1, 3, 0, '{"b":"😀"}'],
      [2, 4, 0, '{"c":3}'],
    ],
  );
  for (let cut = 1; cut < text.length; cut++) assert.deepEqual(splitLines([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
});

test('a decoded string index maps to its raw offset through escapes', () => {
  const text = '{"k": "a\\n\\"b\\u00e9<|im_end|>"}';
  const literal = text.indexOf('"a');
  const decoded = JSON.parse(text.slice(literal, text.lastIndexOf('"') + 1)) as string;
  const at = decoded.indexOf('<|im_end|>');
  const start = rawOffsetInString(text, literal, at);
  const end = rawOffsetInString(text, literal, at + '<|im_end|>'.length);
  assert.equal(text.slice(start, end), '<|im_end|>');
});
