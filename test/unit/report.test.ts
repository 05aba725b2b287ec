import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import { internvlTokens, imageTokenRule, minicpmVTokens, openaiImageTokens, qwenVlTokens } from '../../server/src/core/report/imageTokens';
import { decodeReportFacts, encodeReportFacts } from '../../server/src/core/report/facts';
import { openaiEpochs, planTraining, type PlanInput } from '../../server/src/core/report/plan';
import { reportFiles } from '../../server/src/node/report';
import { openAiCounter } from '../../server/src/node/tokenizers';
import { main } from '../../server/src/cli';
import { FIXTURES } from '../helpers/fixtures';

// The report's numbers against fixtures counted by hand (test/fixtures/report/*.jsonl).

const REPORT = path.join(FIXTURES, 'report');

function settings(raw: Record<string, unknown> = {}): Settings {
  const { settings: s, problems } = parseSettings(raw);
  assert.deepEqual(problems, []);
  return s;
}

async function reportOf(files: string[], raw: Record<string, unknown> = {}, domain?: string) {
  const sizes = files.map((f) => fs.statSync(f).size);
  return reportFiles(files, sizes, { settings: settings(raw), baseDir: path.dirname(files[0]!), ...(domain ? { domain } : {}) });
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-report-'));
}

test('mixed.jsonl: records, formats, modality mix, turns and duplicates match the hand count', async () => {
  // 9 lines: one image, two images, 4-turn text, video, audio, a copy of line 3, a long text,
  // the long text with its last word changed, and a line of broken JSON.
  const { report } = await reportOf([path.join(REPORT, 'mixed.jsonl')], { report: { imageTokens: 100 } });
  assert.equal(report.samples, 9);
  assert.equal(report.valid, 8);
  assert.deepEqual(report.formats, { sharegpt: 8 });
  assert.deepEqual(report.modality, { textOnly: 4, image: 1, multiImage: 1, video: 1, audio: 1 });
  assert.deepEqual({ images: report.media.images, videos: report.media.videos, audios: report.media.audios }, { images: 3, videos: 1, audios: 1 });
  assert.equal(report.media.perRecord.max, 2);
  assert.deepEqual(report.media.histogram.counts.slice(0, 3), [4, 3, 1]);
  assert.deepEqual({ min: report.turns.min, max: report.turns.max, mean: report.turns.mean }, { min: 2, max: 4, mean: 2.5 });
  assert.equal(report.duplicates, 1, 'line 6 repeats line 3');
  assert.equal(report.nearDuplicates.count, 1, 'line 8 is line 7 with one word changed');
  assert.deepEqual(report.nearDuplicates.examples.map((e) => [e.line, e.similarTo.line]), [[8, 7]]);
  assert.equal(report.issues['invalid-json'], 1);
  assert.equal(report.issues['duplicate-sample'], 1);
  assert.equal(report.labels, undefined, 'conversations with long answers have no label set');
  // Image tokens: 3 images × 100 (tunekit.report.imageTokens).
  assert.equal(report.tokens.images.tokens, 300);
  assert.match(report.tokens.images.rule, /100 per image/);
  // The user turns: "<image>\nWhat is this?" (21), "<image><image>\nCompare them." (28), "Hi" + "How are you?" (14),
  // "<video>\nWhat happens?" (21), "<audio>\nTranscribe." (19), 14 again, "Summarise the report." twice (21 each).
  assert.equal(report.lengths.roles.user.records, 8);
  assert.equal(report.lengths.roles.user.total, 21 + 28 + 14 + 21 + 19 + 14 + 21 + 21);
  assert.equal(report.lengths.roles.user.max, 28);
  assert.equal(report.lengths.roles.system.records, 0);
  // The DIAGNOSTICS.md contract keys.
  for (const key of ['samples', 'formats', 'modality', 'turns', 'duplicates', 'issues', 'plan', 'tokens']) assert.ok(key in report, key);
});

test('labels.jsonl: label distribution, imbalance ratio, long tail and answer format', async () => {
  const { report } = await reportOf([path.join(REPORT, 'labels.jsonl')], { report: { longTailMin: 2 } });
  assert.deepEqual(report.labels, { cat: 5, dog: 3, bird: 1 });
  const l = report.labelStats!;
  assert.equal(l.classes, 3);
  assert.equal(l.imbalanceRatio, 5);
  assert.deepEqual(l.largest, { label: 'cat', count: 5 });
  assert.deepEqual(l.longTail, { min: 2, classes: ['bird'], records: 1 });
  assert.deepEqual(l.shapes, { value: 9 });
  assert.equal(l.consistent, true);
  assert.equal(report.modality.image, 9);
});

test('qa-answer-format.jsonl: answer shapes are counted and the inconsistency shows', async () => {
  const { report } = await reportOf([path.join(FIXTURES, 'qa-answer-format.jsonl')]);
  assert.deepEqual(report.labelStats!.shapes, { letter: 4, 'letter-text': 1, prefixed: 1 });
  assert.equal(report.labelStats!.consistent, false);
  assert.equal(report.labelStats!.majorityShape, 'letter');
  assert.deepEqual(report.labels, { A: 3, B: 2, C: 1 });
  assert.equal(report.issues['inconsistent-answer-format'], 2);
});

test('token counts: cl100k_base and o200k_base on strings with published counts', async () => {
  // OpenAI cookbook ("How to count tokens with tiktoken"): "tiktoken is great!" is 6 tokens in both,
  // "antidisestablishmentarianism" 6, "2 + 2 = 4" 7, "お誕生日おめでとう" 9 in cl100k and 8 in o200k; "hello world" 2.
  const file = path.join(REPORT, 'tokens.jsonl');
  const cl = (await reportOf([file], { tokenizer: 'cl100k_base' })).report;
  assert.equal(cl.tokens.tokenizer, 'cl100k_base');
  assert.equal(cl.tokens.exact, true);
  assert.equal(cl.tokens.roles.user.total, 6 + 6);
  assert.equal(cl.tokens.roles.assistant.total, 7 + 9);
  assert.equal(cl.tokens.roles.system.total, 2);
  assert.deepEqual([cl.tokens.perRecord.min, cl.tokens.perRecord.max], [13, 17]);
  const o200 = (await reportOf([file], { target: 'openai' })).report;
  assert.equal(o200.tokens.tokenizer, 'o200k_base', 'the OpenAI target counts with o200k_base by default');
  assert.equal(o200.tokens.roles.assistant.total, 7 + 8);
  // The cached-piece counter agrees with js-tiktoken's own encoder on arbitrary text.
  const { Tiktoken } = await import('js-tiktoken/lite');
  const ranks = (await import('js-tiktoken/ranks/cl100k_base')).default;
  const reference = new Tiktoken(ranks);
  const counter = openAiCounter('cl100k_base');
  for (const s of ['', 'Hello, world!', 'def f(x):\n    return x ** 2  # square\n\n', '<|endoftext|> leaked <|im_start|>', '数据集 report 12345678 ✓', ' \n\n  spaced   out\t\ttext ']) {
    assert.equal(counter.count(s), reference.encode(s, [], []).length, JSON.stringify(s));
  }
});

test('a local tokenizer.json (a WordPiece built here) counts tokens offline', async () => {
  const dir = tmpDir();
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: { '[UNK]': 0, hello: 1, world: 2, un: 3, '##believ': 4, '##able': 5, '!': 6, cat: 7 },
    },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const data = path.join(dir, 'data.jsonl');
  // user: hello | world | ! = 3; assistant: un ##believ ##able | cat | [UNK] = 5.
  fs.writeFileSync(data, JSON.stringify({ messages: [{ role: 'user', content: 'Hello world!' }, { role: 'assistant', content: 'Unbelievable cat dog' }] }) + '\n');
  const { report, problems } = await reportOf([data], { tokenizer: path.join(dir, 'tokenizer.json') });
  assert.deepEqual(problems, []);
  assert.equal(report.tokens.exact, true);
  assert.match(report.tokens.tokenizer, /tokenizer\.json \(WordPiece\)/);
  assert.equal(report.tokens.roles.user.total, 3);
  assert.equal(report.tokens.roles.assistant.total, 5);
  // A folder holding tokenizer.json works too; a missing file falls back to the labelled estimate.
  assert.equal((await reportOf([data], { tokenizer: dir })).report.tokens.roles.assistant.total, 5);
  const missing = await reportOf([data], { tokenizer: path.join(dir, 'nope.json') });
  assert.equal(missing.report.tokens.exact, false);
  assert.match(missing.problems[0]!, /cannot be used \(no such file\)/);
});

test('without a tokenizer the counts are a labelled estimate', async () => {
  const { report } = await reportOf([path.join(REPORT, 'tokens.jsonl')]);
  assert.equal(report.tokens.exact, false);
  assert.equal(report.tokens.tokenizer, 'estimate');
  assert.match(report.tokens.note, /estimated from characters/);
});

test('too-long counts with the same tokenizer as the report (records over tunekit.maxTokens)', async () => {
  const { report } = await reportOf([path.join(REPORT, 'tokens.jsonl')], { tokenizer: 'cl100k_base', maxTokens: 14 });
  assert.equal(report.tokens.overMax, 1);
  assert.deepEqual(report.tokens.overMaxExamples, [{ file: 'tokens.jsonl', line: 2, tokens: 17 }]);
  assert.equal(report.issues['too-long'], 1);
});

test('image tokens per target: fixed counts and by resolution (documented examples)', () => {
  // OpenAI's vision guide: 1024×1024 at detail high is 765 tokens; 2048×4096 is 1105.
  assert.equal(openaiImageTokens(1024, 1024), 765);
  assert.equal(openaiImageTokens(2048, 4096), 1105);
  assert.equal(openaiImageTokens(512, 512), 85 + 170);
  // Qwen2-VL smart_resize: 28 px per token; 1024² shrinks to 756² under a 768² budget = 27 × 27.
  assert.equal(qwenVlTokens(1024, 1024, 32 * 32, 768 * 768), 729);
  assert.equal(qwenVlTokens(448, 448, 56 * 56, 16384 * 28 * 28), 256);
  assert.equal(internvlTokens(448, 448), 256);
  assert.equal(internvlTokens(896, 448), 256 * 3, 'two tiles and a thumbnail');
  assert.equal(minicpmVTokens(448, 448), 64);
  assert.equal(minicpmVTokens(1344, 1344), 64 * 10);
  assert.equal(imageTokenRule('llava').tokens(10, 10), 576);
  assert.equal(imageTokenRule('qwen-vl').tokens(undefined, undefined), qwenVlTokens(1024, 1024, 56 * 56, 16384 * 28 * 28), 'unknown sizes count as 1024×1024');
  assert.equal(imageTokenRule('internvl', 300).tokens(5000, 5000), 300, 'tunekit.report.imageTokens overrides the target');
});

/** Writes n distinct QA-free conversation records. */
function writeRecords(file: string, n: number, answerChars = 20): void {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < n; i++) {
    const answer = `Answer ${i}: ` + 'word '.repeat(Math.ceil(answerChars / 5));
    fs.writeSync(fd, JSON.stringify({ messages: [{ role: 'user', content: `Question ${i} about item ${i * 7}?` }, { role: 'assistant', content: answer.slice(0, Math.max(answerChars, 12)) }] }) + '\n');
  }
  fs.closeSync(fd);
}

test('the plan changes as the fixture grows: size warning, epochs, method', async () => {
  const dir = tmpDir();
  const plans = new Map<number, Awaited<ReturnType<typeof reportOf>>['report']['plan']>();
  for (const n of [8, 200, 2000, 20000]) {
    const file = path.join(dir, `n${n}.jsonl`);
    writeRecords(file, n);
    const { report } = await reportOf([file]);
    assert.equal(report.samples, n);
    plans.set(n, report.plan);
  }
  const ids = (n: number): string[] => plans.get(n)!.items.map((i) => i.id);
  assert.ok(ids(8).includes('size'), 'below the minimum useful size');
  assert.ok(!ids(200).includes('size'));
  assert.equal(plans.get(8)!.validation.records, 0);
  assert.equal(plans.get(200)!.validation.records, 20);
  assert.equal(plans.get(20000)!.validation.records, 1000);
  assert.deepEqual([plans.get(2000)!.epochs.suggested, plans.get(2000)!.epochs.max], [3, 3]);
  assert.equal(plans.get(20000)!.epochs.suggested, 2);
  assert.match(plans.get(20000)!.epochs.basis, /20,000 trainable records/);
  for (const p of plans.values()) for (const item of p.items) assert.ok(item.basis.length > 0, `${item.id} says what it came from`);
  // The same files for OpenAI: its clamp (3 passes, n × epochs within 100–25,000).
  const openai = async (n: number) => (await reportOf([path.join(dir, `n${n}.jsonl`)], { target: 'openai' })).report.plan;
  assert.equal((await openai(8)).epochs.suggested, 12);
  assert.equal((await openai(8)).items.find((i) => i.id === 'size')!.level, 'error', 'OpenAI rejects fewer than 10 examples');
  assert.equal((await openai(2000)).epochs.suggested, 3);
  assert.equal((await openai(20000)).epochs.suggested, 1);
});

test('the plan from numbers alone: millions, OpenAI minimum, LoRA vs full, mixing and two stages', () => {
  const base: PlanInput = {
    target: 'generic',
    samples: 0,
    trainable: 0,
    files: [],
    composition: { understanding: 0, generation: 0 },
    tokens: { total: 0, exact: false, overMax: 0, maxTokens: 4096 },
    duplicates: 0,
    nearDuplicates: 0,
  };
  const at = (n: number, extra: Partial<PlanInput> = {}) => planTraining({ ...base, samples: n, trainable: n, files: [{ path: 'a.jsonl', records: n }], ...extra });
  assert.equal(at(2_000_000).epochs.suggested, 1);
  assert.equal(at(2_000_000).method.suggested, 'full');
  assert.equal(at(5_000).method.suggested, 'lora');
  assert.equal(at(5, { target: 'openai' }).items.find((i) => i.id === 'size')!.level, 'error', 'OpenAI needs at least 10 examples');
  assert.deepEqual([openaiEpochs(10), openaiEpochs(40), openaiEpochs(5000), openaiEpochs(10000), openaiEpochs(30000), openaiEpochs(3)], [10, 3, 3, 2, 1, 25]);
  const mixed = at(22_000, { files: [{ path: 'general.jsonl', records: 20_000 }, { path: 'domain.jsonl', records: 2_000 }] });
  assert.equal(mixed.mixing!.domain, 'domain.jsonl', 'the smallest dataset is taken as the domain data');
  assert.deepEqual(mixed.mixing!.phases.map((p) => p.domainShare), [0.1, 0.25, 0.5]);
  assert.match(mixed.mixing!.basis, /domain\.jsonl: 2,000 records/);
  const chosen = at(22_000, { files: [{ path: 'general.jsonl', records: 20_000 }, { path: 'domain.jsonl', records: 2_000 }], domain: 'general.jsonl' });
  assert.equal(chosen.mixing!.domain, 'general.jsonl');
  assert.equal(at(1000).mixing, undefined, 'one dataset: no mixing schedule');
  const twoStage = at(19_000, { composition: { understanding: 6_000, generation: 13_000 } });
  assert.deepEqual(twoStage.twoStage!.stage2, { records: 13_000, epochs: 1 });
  assert.match(twoStage.twoStage!.basis, /6,000 understanding records .* 13,000 generation records/);
  assert.equal(at(19_000, { composition: { understanding: 19_000, generation: 0 } }).twoStage, undefined);
});

test('two files in one report: per-file counts, cross-file duplicates and a mixing schedule', async () => {
  const dir = tmpDir();
  writeRecords(path.join(dir, 'general.jsonl'), 300);
  writeRecords(path.join(dir, 'domain.jsonl'), 60, 900);
  const { report } = await reportOf([path.join(dir, 'domain.jsonl'), path.join(dir, 'general.jsonl')]);
  assert.deepEqual(report.files.map((f) => [f.path, f.records]), [['domain.jsonl', 60], ['general.jsonl', 300]]);
  assert.equal(report.plan.mixing!.domain, 'domain.jsonl');
  assert.equal(report.composition.generation, 60, 'the 900-character answers are generation data');
  assert.equal(report.plan.twoStage!.stage2.records, 60);
});

test('tunekit report --json prints one object; --html writes a self-contained page', async () => {
  const dir = tmpDir();
  const html = path.join(dir, 'report.html');
  let stdout = '';
  let stderr = '';
  const out = { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream;
  const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
  const code = await main(['report', '--json', '--html', html, path.join(REPORT, 'labels.jsonl')], out, err);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const report = JSON.parse(lines[0]!) as { samples: number; labels: Record<string, number> };
  assert.equal(report.samples, 9);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'">/);
  assert.doesNotMatch(page, /<script[^>]+src=/, 'the view script is inline (self-contained)');
  assert.doesNotMatch(page, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'nothing loaded from elsewhere');
  assert.doesNotMatch(page, /@import|url\(\s*["']?https?:/i);
  const data = /<script type="application\/json" id="tunekit-report-data">([\s\S]*?)<\/script>/.exec(page);
  assert.ok(data);
  assert.deepEqual((JSON.parse(data[1]!) as { labels: unknown }).labels, report.labels);
  assert.ok(page.includes('Chart'), 'chart.js is bundled in');
  // Text output for people names the plan's reasons.
  stdout = '';
  assert.equal(await main(['report', path.join(REPORT, 'labels.jsonl')], out, err), 0);
  assert.match(stdout, /Training plan/);
  assert.match(stdout, /from: 9 trainable records/);
});

test('tunekit report shows progress on stderr only when it is a terminal', async () => {
  let stdout = '';
  let stderr = '';
  const out = { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream;
  const tty = { isTTY: true, write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
  assert.equal(await main(['report', '--json', path.join(REPORT, 'mixed.jsonl')], out, tty), 0);
  assert.match(stderr, /\r\x1b\[2Ktunekit report: mixed\.jsonl|\r\x1b\[2Ktunekit report: .*mixed\.jsonl \d+%/);
  assert.ok(stderr.endsWith('\r\x1b[2K'), 'the progress line is cleared at the end');
  assert.equal((JSON.parse(stdout) as { samples: number }).samples, 9, 'stdout holds only the JSON');
  stdout = '';
  stderr = '';
  const pipe = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
  assert.equal(await main(['report', '--json', path.join(REPORT, 'mixed.jsonl')], out, pipe), 0);
  assert.equal(stderr, '');
});

test('per-record report facts survive their compact encoding', () => {
  const facts = { c: [0, 70_000, 4_000_000, 3] as [number, number, number, number], t: [1, 2, 65_536, 0xffffffff] as [number, number, number, number], it: 765, ik: 1, ut: 2, tk: 'o200k_base', sig: 'abcdefgh'.repeat(8) };
  assert.deepEqual(decodeReportFacts(encodeReportFacts(facts), 'o200k_base'), facts);
  const noSig = { ...facts, sig: undefined };
  delete noSig.sig;
  assert.deepEqual(decodeReportFacts(encodeReportFacts(noSig), 'o200k_base'), noSig);
  assert.equal(decodeReportFacts('short', 'x'), undefined);
});
