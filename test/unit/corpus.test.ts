import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CODES } from '../../server/src/core/codes';
import { DATASET_RULES, RECORD_RULES } from '../../server/src/core/rules';
import { parseSettings } from '../../server/src/core/settings';
import type { Finding } from '../../server/src/core/validator';
import { collectDatasetFiles } from '../../server/src/node/files';
import { validateFile } from '../../server/src/node/validateFile';
import { CORPUS } from '../helpers/fixtures';

/**
 * The real datasets of ../shared/corpus/real must give exactly the findings its SOURCES.md lists,
 * and no other errors or warnings (infos are allowed). Counts that SOURCES.md states are written
 * here as numbers; the others are derived from the files by an independent, simpler reading.
 */

/** Codes produced by a rule that exists today (a rule family not built yet cannot be held to its findings). */
const implemented = new Set<string>([
  ...RECORD_RULES.flatMap((r) => r.codes),
  ...DATASET_RULES.flatMap((r) => r.codes),
  // Produced by analyzeRecord and the format modules themselves.
  'invalid-json',
  'not-an-object',
  'unknown-format',
  'missing-field',
  'invalid-field-type',
  'unknown-field',
  'invalid-weight',
]);

interface Expectation {
  file: string;
  /** Exact number of findings per code. */
  exact?: Record<string, number | ((records: unknown[]) => number)>;
  /** Codes that SOURCES.md says may appear (correct but tokenizer- or judgement-dependent). */
  allowed?: string[];
  /** Lines (1-based) where a code must be, when SOURCES.md names them. */
  lines?: Record<string, number[]>;
  settings?: Record<string, unknown>;
}

const LF = 'llamafactory/data/';
const hasSlot = (r: unknown): boolean => /\{\{\w+\}\}/.test(JSON.stringify(r));

const EXPECTATIONS: Expectation[] = [
  { file: `${LF}mllm_demo.json` },
  { file: `${LF}mllm_video_demo.json` },
  { file: `${LF}mllm_audio_demo.json` },
  { file: `${LF}mllm_video_audio_demo.json` },
  { file: `${LF}alpaca_en_demo.json`, exact: { 'duplicate-sample': 14 }, allowed: ['ai-boilerplate'] },
  { file: `${LF}identity.json`, exact: { 'unfilled-template-slot': (rs) => rs.filter(hasSlot).length }, allowed: ['ai-boilerplate'] },
  { file: `${LF}glaive_toolcall_en_demo.json`, exact: { 'duplicate-sample': 35 }, allowed: ['too-long'] },
  { file: `${LF}dpo_en_demo.json`, exact: { 'duplicate-sample': 5 }, allowed: ['ai-boilerplate', 'too-long'] },
  { file: `${LF}kto_en_demo.json`, allowed: ['ai-boilerplate', 'too-long'] },
  {
    file: `${LF}v1_sft_demo.jsonl`,
    exact: { 'unfilled-template-slot': (rs) => rs.filter(hasSlot).length, 'duplicate-sample': 1 },
    allowed: ['ai-boilerplate'],
  },
  { file: `${LF}v1_multimodal_demo.jsonl`, exact: { 'duplicate-sample': 18 }, settings: { mediaRoot: path.join(CORPUS, 'llamafactory') } },
  { file: `${LF}v1_dpo_demo.jsonl` },
  { file: `${LF}reason_tool_use_demo_50.jsonl`, allowed: ['too-long'] },
  { file: `${LF}c4_demo.jsonl`, allowed: ['too-long'] },
  {
    file: 'openai-cookbook/toy_chat_fine_tuning.jsonl',
    exact: { 'missing-user-turn': 1, 'too-long': 1 },
    lines: { 'missing-user-turn': [4], 'too-long': [5] },
  },
  { file: 'qwen-vl/demo_classification_data.jsonl', exact: { 'media-not-found': 4 }, lines: { 'media-not-found': [1, 2, 3, 4] } },
];

function readRecords(file: string): unknown[] {
  const text = fs.readFileSync(file, 'utf8');
  return file.endsWith('.jsonl')
    ? text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown)
    : (JSON.parse(text) as unknown[]);
}

const corpusPresent = fs.existsSync(CORPUS);

for (const e of EXPECTATIONS) {
  test(`real corpus: ${e.file}`, async (t) => {
    if (!corpusPresent) return t.skip(`${CORPUS} is absent (it lives next to the checkout)`);
    const file = path.join(CORPUS, e.file);
    const { settings } = parseSettings(e.settings ?? {});
    const findings: Finding[] = (await validateFile(file, { settings })).findings;
    const serious = findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
    const records = readRecords(file);
    const counts = new Map<string, number>();
    for (const f of serious) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
    for (const [code, want] of Object.entries(e.exact ?? {})) {
      if (!implemented.has(code)) {
        t.diagnostic(`${code}: its rule does not exist yet, so its count is not checked`);
        continue;
      }
      const n = typeof want === 'function' ? want(records) : want;
      assert.equal(counts.get(code) ?? 0, n, `${e.file}: expected ${n} × ${code}`);
    }
    for (const [code, lines] of Object.entries(e.lines ?? {})) {
      if (!implemented.has(code)) continue;
      assert.deepEqual(
        serious.filter((f) => f.code === code).map((f) => f.range.start.line + 1),
        lines,
        `${e.file}: ${code} lines`,
      );
    }
    const allowed = new Set([...Object.keys(e.exact ?? {}), ...(e.allowed ?? [])]);
    const unexpected = serious.filter((f) => !allowed.has(f.code));
    assert.deepEqual(
      unexpected.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code}: ${f.message}`),
      [],
      `${e.file}: findings SOURCES.md does not list`,
    );
  });
}

test('real corpus: dataset_info.json is not a dataset and folder scans skip it', (t) => {
  if (!corpusPresent) return t.skip(`${CORPUS} is absent`);
  const { files } = collectDatasetFiles([path.join(CORPUS, 'llamafactory')]);
  assert.ok(!files.some((f) => f.endsWith('dataset_info.json')));
  assert.equal(files.length, 14);
});

test('every code of DIAGNOSTICS.md exists in the catalog', (t) => {
  const doc = path.resolve(CORPUS, '..', '..', 'DIAGNOSTICS.md');
  if (!fs.existsSync(doc)) return t.skip(`${doc} is absent`);
  const codes = [...fs.readFileSync(doc, 'utf8').matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!);
  assert.ok(codes.length >= 30);
  for (const c of codes) assert.ok(c in CODES, `${c} is missing from server/src/core/codes.ts`);
});
