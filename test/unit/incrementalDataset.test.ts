import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../server/src/core/split';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../server/src/core/settings';
import { DatasetValidator, splitText, type LineSource, type ValidationResult } from '../../server/src/core/validator';

// Differential test of the incremental dataset rules (DatasetRule.incremental): a validator that
// keeps its records across validations, and so only tells the dataset rules what changed, must
// report exactly what a fresh validator's streaming session reports through the rules' check()
// (same findings, same order, same messages), after every edit of a random edit sequence.

const BOILERPLATE = 'Look carefully at the picture below and answer the question that follows in a single word.';
const ANSWER_BOILERPLATE = 'As requested, here is my careful answer to the question about the picture you sent me.';
const WORDS = 'red blue green cat dog bus tree sky road man woman table two three left right photo street car kite'.split(' ');

function words(r: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ');
}

/** An answer in one of the shapes inconsistent-answer-format tells apart. */
function answer(r: () => number): string {
  const letter = 'ABCD'[Math.floor(r() * 4)]!;
  const x = r();
  if (x < 0.45) return letter;
  if (x < 0.55) return `(${letter})`;
  if (x < 0.62) return `(${letter}) ${words(r, 1)}`;
  if (x < 0.7) return `Answer: ${letter}`;
  if (x < 0.85) return words(r, 1);
  return `The ${words(r, 4)} is what the picture shows.`;
}

/** A random record: LLaVA with or without an image, OpenAI chat (some with image parts), QA with or without options, short ShareGPT exchanges. */
function record(r: () => number): string {
  const id = `id${Math.floor(r() * 40)}`;
  const question = `${r() < 0.35 ? BOILERPLATE + '\n' : ''}What is ${words(r, 3)}?`;
  const reply = `${r() < 0.15 ? ANSWER_BOILERPLATE + '\n' : ''}It is ${words(r, 4)}.`;
  const kind = r();
  if (kind < 0.3) {
    const image = r() < 0.7;
    return JSON.stringify({
      id,
      ...(image ? { image: `images/${Math.floor(r() * 5)}.png` } : {}),
      conversations: [
        { from: 'human', value: `${image ? '<image>\n' : ''}${question}` },
        { from: 'gpt', value: r() < 0.5 ? reply : answer(r) },
      ],
    });
  }
  if (kind < 0.5) {
    const content = r() < 0.3 ? [{ type: 'text', text: question }, { type: 'image_url', image_url: { url: `https://example.com/${Math.floor(r() * 5)}.png` } }] : question;
    return JSON.stringify({ messages: [{ role: 'user', content }, { role: 'assistant', content: r() < 0.5 ? reply : answer(r) }] });
  }
  if (kind < 0.85) {
    const options = r() < 0.6 ? { options: ['red', 'blue', 'green', 'cat'] } : {};
    return JSON.stringify({ ...(r() < 0.5 ? { id } : {}), question, answer: answer(r), ...options });
  }
  return JSON.stringify({ conversations: [{ from: 'human', value: question }, { from: 'gpt', value: answer(r) }] });
}

/** A document as lines, the way the language server hands big documents to `validateLines`. */
function lineSource(lines: readonly string[], withLineTexts = false): LineSource {
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.length + 1;
  }
  const source: LineSource = { lineCount: lines.length, lineText: (i) => lines[i]!, lineOffset: (i) => offsets[i]! };
  if (withLineTexts) source.lineTexts = () => lines;
  return source;
}

/** What the rules' check() reports: a fresh validator, a streaming session without the cache. */
function reference(settings: Settings, text: string): ValidationResult {
  const session = new DatasetValidator({ settings }).session(false);
  splitText(text, 'jsonl', (rec) => session.push(rec));
  return session.end();
}

function comparable(result: ValidationResult): unknown {
  const { findings, format, records, truncated, tally, errorRecords } = result;
  return { findings, format, records, truncated, tally, errorRecords };
}

/** One random edit of the lines: a typing edit, a new, deleted, moved or duplicated record, a blank line. */
function edit(r: () => number, lines: string[]): void {
  const at = Math.floor(r() * lines.length);
  const x = r();
  if (x < 0.2 && lines[at]) {
    const line = lines[at];
    const pos = Math.floor(r() * line.length);
    // Mostly letters (the record stays valid JSON), sometimes a quote or brace that breaks it.
    const ch = r() < 0.9 ? 'xyz'[Math.floor(r() * 3)]! : '"}'[Math.floor(r() * 2)]!;
    lines[at] = line.slice(0, pos) + ch + line.slice(pos + 1);
  } else if (x < 0.4) lines[at] = record(r);
  else if (x < 0.5) lines.splice(at, 0, record(r));
  else if (x < 0.6 && lines.length > 5) lines.splice(at, 1);
  else if (x < 0.75) lines.splice(Math.floor(r() * lines.length), 0, lines[at]!);
  else if (x < 0.85) lines[at] = lines[Math.floor(r() * lines.length)]!;
  else if (x < 0.95) {
    const [moved] = lines.splice(at, 1);
    lines.splice(Math.floor(r() * lines.length), 0, moved!);
  } else lines.splice(at, 0, '');
}

const DATASET_CODES = ['duplicate-sample', 'duplicate-id', 'format-mismatch', 'missing-modality', 'inconsistent-answer-format', 'repeated-boilerplate'];

for (const [name, settings] of [
  ['default settings', DEFAULT_SETTINGS],
  ['a small maxProblems (findings cut in order)', parseSettings({ maxProblems: 25 }).settings],
  ['target minicpm-v, a low boilerplate share', parseSettings({ target: 'minicpm-v', leakage: { repeatedMinShare: 0.1, repeatedMinRecords: 3 } }).settings],
] as const) {
  test(`incremental dataset rules report what check() reports after every edit (${name})`, () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const r = seededRandom(seed * 7919);
      const lines = Array.from({ length: 40 + Math.floor(r() * 40) }, () => record(r));
      const byLines = new DatasetValidator({ settings });
      const byText = new DatasetValidator({ settings });
      for (let step = 0; step <= 150; step++) {
        if (step > 0) edit(r, lines);
        // Unchanged lines stay the same strings, as in the language server's LineDocument.
        const text = lines.join('\n');
        const expected = comparable(reference(settings, text));
        assert.deepStrictEqual(comparable(byLines.validateLines(lineSource(lines, seed % 2 === 1))), expected, `seed ${seed}, step ${step}: validateLines`);
        assert.deepStrictEqual(comparable(byText.validateText(text, 'jsonl')), expected, `seed ${seed}, step ${step}: validateText`);
        for (const f of (expected as { findings: { code: string }[] }).findings) seen.add(f.code);
      }
    }
    // The sequences reach every dataset rule (else this test would prove little).
    if (settings === DEFAULT_SETTINGS) for (const code of DATASET_CODES) assert.ok(seen.has(code), `no ${code} in any step`);
  });
}

test('a record text held several times counts once per record, and leaving one copy keeps the others', () => {
  const a = JSON.stringify({ question: 'What colour is the sky?', answer: 'B', options: ['red', 'blue'] });
  const b = JSON.stringify({ question: 'What colour is grass?', answer: 'green' });
  const validator = new DatasetValidator({ settings: DEFAULT_SETTINGS });
  const codes = (lines: string[]): string[] => validator.validateLines(lineSource(lines)).findings.map((f) => `${f.range.start.line} ${f.code}`);
  assert.deepEqual(codes([a, b, a, a]), ['2 duplicate-sample', '3 duplicate-sample']);
  assert.deepEqual(codes([a, b, a]), ['2 duplicate-sample']);
  assert.deepEqual(codes([b, a]), []);
  assert.deepEqual(codes([a, a, b, b]), ['1 duplicate-sample', '3 duplicate-sample']);
  assert.deepEqual(codes([]), []);
  assert.deepEqual(codes([b, b]), ['1 duplicate-sample']);
});

test("dataset findings come in check()'s order, which decides what maxProblems cuts", () => {
  // Answers with options and answers without are judged as two groups; check() reports the group
  // of the file's first answer first. Either group may come first.
  const plain = (a: string, i: number): string => JSON.stringify({ question: `Which city is number ${i}?`, answer: a });
  const options = (a: string, i: number): string => JSON.stringify({ question: `Which colour is number ${i}?`, answer: a, options: ['red', 'blue', 'green'] });
  const plainGroup = ['Paris', 'Rome', 'Oslo', 'Bern', 'Lima', 'B'].map(plain);
  const optionsGroup = ['A', 'B', 'C', 'A', 'B', '(C)'].map(options);
  for (const lines of [[...plainGroup, ...optionsGroup], [...optionsGroup, ...plainGroup], [plainGroup[0]!, ...optionsGroup, ...plainGroup.slice(1)]]) {
    for (const maxProblems of [1, 2, 1000]) {
      const settings = parseSettings({ maxProblems }).settings;
      const text = lines.join('\n');
      const expected = comparable(reference(settings, text));
      assert.equal((expected as { findings: unknown[] }).findings.length, Math.min(2, maxProblems));
      assert.deepStrictEqual(comparable(new DatasetValidator({ settings }).validateLines(lineSource(lines))), expected);
      // And after edits that leave the same file.
      const validator = new DatasetValidator({ settings });
      validator.validateLines(lineSource([...lines].reverse()));
      assert.deepStrictEqual(comparable(validator.validateLines(lineSource(lines))), expected);
    }
  }
});
