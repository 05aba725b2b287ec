import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { main } from '../../server/src/cli';
import { CONVERT_TARGETS, readRecord, writeRecord, type Conversation, type ConvertTarget } from '../../server/src/core/convert';
import { detectFormat, type JsonObject } from '../../server/src/core/formats';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { assignSplit } from '../../server/src/core/split';
import { convertFile, splitFile } from '../../server/src/node/dataFiles';
import { FIXTURES } from '../helpers/fixtures';

// `tunekit split` and `tunekit convert`: deterministic, nothing lost, round trips exact where the
// formats can hold the data, a warning per record where they cannot.

const ctx = { settings: DEFAULT_SETTINGS };

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-data-'));
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream;
  const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
  return main(args, out, err).then((code) => ({ code, stdout, stderr }));
}

const linesOf = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

// ---------------------------------------------------------------------------------------------
// split

function writeLabelled(file: string): string[] {
  const lines: string[] = [];
  const labels: string[] = [...Array<string>(700).fill('cat'), ...Array<string>(200).fill('dog'), ...Array<string>(100).fill('bird')];
  labels.forEach((label, i) => lines.push(JSON.stringify({ image: `img/${i}.png`, instruction: 'Which animal is this?', label })));
  lines.splice(500, 0, '{"broken json": ');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return lines;
}

test('split: stratified by label, every record in exactly one file, byte for byte', async () => {
  const dir = tmpDir();
  const input = path.join(dir, 'animals.jsonl');
  const lines = writeLabelled(input);
  const r = await splitFile(input, { settings: DEFAULT_SETTINGS, validation: 0.1, seed: 1, stratify: true });
  assert.equal(r.trainFile, path.join(dir, 'animals.train.jsonl'));
  assert.equal(r.validationFile, path.join(dir, 'animals.val.jsonl'));
  assert.equal(r.train + r.validation, lines.length);
  const train = linesOf(r.trainFile);
  const val = linesOf(r.validationFile);
  assert.deepEqual([...train, ...val].sort(), [...lines].sort(), 'no record lost, none duplicated, none changed');
  assert.equal(val.length, 100);
  const count = (ls: string[], label: string): number => ls.filter((l) => l.includes(`"label":"${label}"`)).length;
  assert.deepEqual([count(val, 'cat'), count(val, 'dog'), count(val, 'bird')], [70, 20, 10], 'each label keeps its share');
  assert.equal(r.plan.strata, 4, 'three labels and the unlabelled broken record');
});

test('split: the same seed gives the same split, another seed another', async () => {
  const dir = tmpDir();
  const input = path.join(dir, 'a.jsonl');
  writeLabelled(input);
  const run = async (seed: number, name: string): Promise<string[]> => {
    const r = await splitFile(input, { settings: DEFAULT_SETTINGS, validation: 50, seed, stratify: true, trainFile: path.join(dir, `${name}.t.jsonl`), validationFile: path.join(dir, `${name}.v.jsonl`) });
    return linesOf(r.validationFile);
  };
  const a = await run(7, 'a');
  const b = await run(7, 'b');
  const c = await run(8, 'c');
  assert.equal(a.length, 50);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('split: a JSON array stays a JSON array; unlabelled data is split without strata', async () => {
  const dir = tmpDir();
  const input = path.join(dir, 'data.json');
  const records = Array.from({ length: 25 }, (_, i) => ({ messages: [{ role: 'user', content: `Q${i}` }, { role: 'assistant', content: `A long answer number ${i} that is not a label at all, written out in full.` }] }));
  fs.writeFileSync(input, JSON.stringify(records, null, 2));
  const r = await splitFile(input, { settings: DEFAULT_SETTINGS, validation: 0.2, seed: 3, stratify: true });
  assert.equal(r.plan.strata, 0);
  const train = JSON.parse(fs.readFileSync(r.trainFile, 'utf8')) as unknown[];
  const val = JSON.parse(fs.readFileSync(r.validationFile, 'utf8')) as unknown[];
  assert.deepEqual([train.length, val.length], [20, 5]);
  const key = (x: unknown): string => JSON.stringify(x);
  assert.deepEqual([...train, ...val].map(key).sort(), records.map(key).sort());
});

test('assignSplit: exact validation size, proportional strata, at least one record each side', () => {
  const labels: string[] = [...Array<string>(10).fill('a'), ...Array<string>(5).fill('b'), 'c'];
  const plan = assignSplit(labels, { validation: 0.25, seed: 42 });
  assert.equal(plan.validation, 4);
  assert.equal([...plan.sides].filter((s) => s === 1).length, 4);
  assert.deepEqual(plan.byLabel!['a'], { train: 7, validation: 3 }, '10 × 0.25 = 2.5 → 2, plus the largest remainder');
  assert.equal(assignSplit(['x', 'y'], { validation: 0.01, seed: 1 }).validation, 1);
  assert.equal(assignSplit(['x'], { validation: 0.5, seed: 1 }).validation, 0);
});

test('tunekit split: prints where the records went; refuses to overwrite without --force', async () => {
  const dir = tmpDir();
  const input = path.join(dir, 'q.jsonl');
  writeLabelled(input);
  const first = await cli(['split', '--validation', '0.2', '--seed', '5', input]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /train: +801 records/);
  assert.match(first.stdout, /validation: +200 records/);
  assert.match(first.stdout, /stratified by label over 4 labels, seed 5/);
  const again = await cli(['split', input]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists \(use --force/);
  assert.equal((await cli(['split', '--force', input])).code, 0);
  assert.equal((await cli(['split', '--validation', '1.5', input])).code, 2);
});

// ---------------------------------------------------------------------------------------------
// convert: the core round trip

const IMG = 'images/red-8x6.png';
const IMG2 = 'images/blue-4x4.png';

const CONVERSATIONS: Record<string, Conversation> = {
  'system, an image in the first user turn, two exchanges': {
    id: 'c1',
    turns: [
      { role: 'system', segments: [{ type: 'text', text: 'You are terse.' }] },
      { role: 'user', segments: [{ type: 'media', kind: 'image', ref: IMG }, { type: 'text', text: '\nWhat colour?' }] },
      { role: 'assistant', segments: [{ type: 'text', text: 'Red.' }] },
      { role: 'user', segments: [{ type: 'text', text: 'Sure?' }] },
      { role: 'assistant', segments: [{ type: 'text', text: 'Yes.' }] },
    ],
  },
  'two images, one after the text': {
    turns: [
      { role: 'user', segments: [{ type: 'media', kind: 'image', ref: IMG }, { type: 'text', text: ' versus ' }, { type: 'media', kind: 'image', ref: IMG2 }] },
      { role: 'assistant', segments: [{ type: 'text', text: 'The second is blue.' }] },
    ],
  },
  'text only': {
    turns: [
      { role: 'user', segments: [{ type: 'text', text: 'Hello' }] },
      { role: 'assistant', segments: [{ type: 'text', text: 'Hi' }] },
    ],
  },
};

const TOOLS: Conversation = {
  turns: [
    { role: 'user', segments: [{ type: 'text', text: 'Find pasta' }] },
    { role: 'tool_call', segments: [], toolCalls: [{ name: 'search', arguments: '{"q":"pasta"}' }] },
    { role: 'tool', segments: [{ type: 'text', text: '["carbonara"]' }] },
    { role: 'assistant', segments: [{ type: 'text', text: 'Try carbonara.' }] },
  ],
  tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }],
};

/** The conversation with what formats legitimately differ on (call ids, tool-call turn shape) neutralised. */
function canonical(conv: Conversation): unknown {
  return {
    ...conv,
    turns: conv.turns.map((t) => {
      // weight 1 is every format's default: trained on.
      const { toolCallId, weight, ...rest } = t;
      void toolCallId;
      const role = rest.toolCalls ? 'tool_call' : rest.role;
      return {
        ...rest,
        role,
        ...(weight !== undefined && weight !== 1 ? { weight } : {}),
        segments: rest.toolCalls ? [] : rest.segments,
        ...(rest.toolCalls ? { toolCalls: rest.toolCalls.map((c) => ({ name: c.name, arguments: JSON.stringify(JSON.parse(c.arguments)) })) } : {}),
      };
    }),
  };
}

function roundTrip(conv: Conversation, to: ConvertTarget): { back?: Conversation; warnings: string[] } {
  const written = writeRecord(conv, to);
  if (!written.value) return { warnings: written.warnings };
  const format = detectFormat(written.value, ctx).best!.name;
  assert.equal(format, to === 'messages+media' && !('images' in written.value) ? format : to, `${to} output is detected as ${to}`);
  const read = readRecord(written.value, format, ctx);
  return { back: read.conv!, warnings: [...written.warnings, ...read.warnings] };
}

for (const [name, conv] of Object.entries(CONVERSATIONS)) {
  for (const to of CONVERT_TARGETS) {
    test(`convert round trip, ${name}: → ${to} → back is identical, without warnings`, () => {
      const { back, warnings } = roundTrip(conv, to);
      assert.deepEqual(warnings, []);
      assert.deepEqual(canonical(back!), canonical(conv));
    });
  }
}

for (const to of ['openai', 'sharegpt', 'messages+media'] as const) {
  test(`convert round trip, tool calls: → ${to} → back keeps calls, results and tool definitions`, () => {
    const { back, warnings } = roundTrip(TOOLS, to);
    assert.deepEqual(warnings, []);
    assert.deepEqual(canonical(back!), canonical(TOOLS));
  });
}

test('convert: what a target cannot hold is a warning on the record (or the record is skipped, with the reason)', () => {
  const av: Conversation = {
    turns: [
      { role: 'user', segments: [{ type: 'media', kind: 'video', ref: 'clip.mp4' }, { type: 'text', text: 'What happens?' }] },
      { role: 'assistant', segments: [{ type: 'text', text: 'A ball rolls.' }], weight: 0 },
    ],
  };
  assert.match(writeRecord(av, 'openai').warnings.join(' '), /video\/audio medium dropped/);
  assert.match(writeRecord(av, 'minicpm-v').warnings.join(' '), /video\/audio medium dropped/);
  assert.match(writeRecord(av, 'sharegpt').warnings.join(' '), /weight 0/);
  assert.deepEqual(writeRecord(av, 'sharegpt').value!['videos'], ['clip.mp4']);
  const minicpm = writeRecord(TOOLS, 'minicpm-v');
  assert.equal(minicpm.value, undefined);
  assert.match(minicpm.warnings[0]!, /tool calls .* skipped/);
  const odd: Conversation = { turns: [{ role: 'user', segments: [{ type: 'text', text: 'a' }] }, { role: 'user', segments: [{ type: 'text', text: 'b' }] }] };
  assert.match(writeRecord(odd, 'alpaca').warnings[0]!, /user\/assistant pairs/);
  assert.match(readRecord({ text: 'raw text' }, 'text', ctx).warnings[0]!, /skipped/);
});

test('convert: a missing placeholder is placed before the first user turn (what the loaders do), with a warning where the format needs one', () => {
  const sharegpt = readRecord({ images: [IMG], conversations: [{ from: 'human', value: 'What colour?' }, { from: 'gpt', value: 'Red.' }] }, 'sharegpt', ctx);
  assert.deepEqual(sharegpt.conv!.turns[0]!.segments[0], { type: 'media', kind: 'image', ref: IMG });
  assert.match(sharegpt.warnings[0]!, /had no placeholder/);
  const minicpm = readRecord({ image: IMG, conversations: [{ role: 'user', content: 'What colour?' }, { role: 'assistant', content: 'Red.' }] }, 'minicpm-v', ctx);
  assert.deepEqual(minicpm.warnings, [], 'MiniCPM-V inserts a single missing placeholder itself');
});

// ---------------------------------------------------------------------------------------------
// convert: files

const FORMAT_FIXTURES: [string, ConvertTarget][] = [
  ['format-sharegpt.jsonl', 'sharegpt'],
  ['format-openai.jsonl', 'openai'],
  ['format-messages-media.jsonl', 'messages+media'],
  ['format-minicpm-v.jsonl', 'minicpm-v'],
  ['format-alpaca.jsonl', 'alpaca'],
];

function conversationsOf(file: string): unknown[] {
  return linesOf(file).map((l) => {
    const v = JSON.parse(l) as JsonObject;
    const format = detectFormat(v, ctx).best?.name;
    const conv = format ? readRecord(v, format, ctx).conv : undefined;
    return conv ? canonical({ ...conv, turns: conv.turns.map((t) => ({ ...t, segments: t.segments.map((s) => (s.type === 'media' ? { ...s, ref: path.basename(s.ref) } : s)) })) }) : undefined;
  });
}

for (const [fixture, from] of FORMAT_FIXTURES) {
  for (const to of CONVERT_TARGETS) {
    if (to === from) continue;
    test(`convert ${fixture} → ${to} → ${from}: no record lost; records without warnings come back the same`, async () => {
      const dir = tmpDir();
      const input = path.join(FIXTURES, fixture);
      const warnings = new Map<number, string[]>();
      const there = await convertFile(input, {
        settings: DEFAULT_SETTINGS,
        to,
        output: path.join(dir, `there.jsonl`),
        onWarning: (line, message) => warnings.set(line, [...(warnings.get(line) ?? []), message]),
      });
      const inputLines = linesOf(input);
      assert.equal(there.records, inputLines.length);
      assert.equal(there.written + there.skipped, there.records, 'every record is written or reported as skipped');
      assert.equal(linesOf(there.output).length, there.written);
      const skipped = [...warnings].filter(([, ms]) => ms.some((m) => /skipped/.test(m))).map(([line]) => line);
      assert.equal(skipped.length, there.skipped, 'each skipped record has a warning saying so');
      const back = await convertFile(there.output, { settings: DEFAULT_SETTINGS, to: from, output: path.join(dir, `back.jsonl`) });
      assert.equal(back.skipped, 0);
      const original = conversationsOf(input);
      const returned = conversationsOf(back.output);
      const written = original.map((_, i) => i + 1).filter((line) => !skipped.includes(line));
      assert.equal(returned.length, written.length);
      let compared = 0;
      written.forEach((line, k) => {
        if (warnings.has(line)) return;
        assert.deepEqual(returned[k], original[line - 1], `line ${line}`);
        compared++;
      });
      assert.ok(compared >= 1, 'at least one record converts without loss');
    });
  }
}

test('convert: media paths are rewritten relative to the output file and still point at the same files', async () => {
  const dir = tmpDir();
  const outDir = path.join(dir, 'nested', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const output = path.join(outDir, 'data.openai.jsonl');
  const r = await convertFile(path.join(FIXTURES, 'format-sharegpt.jsonl'), { settings: DEFAULT_SETTINGS, to: 'openai', output });
  const first = JSON.parse(linesOf(r.output)[0]!) as { messages: { content: { type: string; image_url?: { url: string } }[] }[] };
  const url = first.messages[0]!.content.find((p) => p.type === 'image_url')!.image_url!.url;
  assert.ok(!path.isAbsolute(url));
  assert.equal(path.resolve(outDir, url), path.join(FIXTURES, 'images', 'red-8x6.png'));
  assert.ok(fs.existsSync(path.resolve(outDir, url)));
});

test('tunekit convert: warnings name the record line; exit 1 when a record was skipped', async () => {
  const dir = tmpDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(
    input,
    [
      JSON.stringify({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] }),
      '{"not json',
      JSON.stringify({ conversations: [{ from: 'human', value: '<video>What?' }, { from: 'gpt', value: 'A ball.' }], videos: ['v.mp4'] }),
    ].join('\n') + '\n',
  );
  const r = await cli(['convert', '--to', 'minicpm-v', '--out', path.join(dir, 'out.json'), input]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /in\.jsonl:2: warning: invalid JSON; the record was skipped/);
  assert.match(r.stderr, /in\.jsonl:3: warning: 1 video\/audio medium dropped/);
  assert.match(r.stdout, /2 of 3 records converted to minicpm-v/);
  const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as unknown[];
  assert.equal(out.length, 2, '.json output is a JSON array');
  assert.equal((await cli(['convert', '--to', 'nope', input])).code, 2);
});
