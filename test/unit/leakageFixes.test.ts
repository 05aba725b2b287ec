import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { pickFixes } from '../../server/src/core/fixes';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import { DatasetValidator, fileKindOf, type Finding, type LocatedFix } from '../../server/src/core/validator';
import { suggestRole } from '../../server/src/core/rules/roleFix';
import { quickLiteral } from '../../server/src/core/leakage/edits';
import { rawOffsetInString } from '../../server/src/core/records/locate';
import { FIXTURES, settingsFor } from '../helpers/fixtures';

/**
 * Every quick fix of the leakage family (and the role rename) applied the way an editor applies
 * a WorkspaceEdit, then re-validated: the problem is gone, the record still parses, and the text
 * outside the edit is byte-for-byte what it was.
 */

const defaults = parseSettings({}).settings;

function validate(text: string, kind: 'jsonl' | 'json' = 'jsonl', settings: Settings = defaults): Finding[] {
  return new DatasetValidator({ settings }).validateText(text, kind).findings;
}

/** Offset of a 0-based line / UTF-16 character in `text`. */
function offsetAt(text: string, pos: { line: number; character: number }): number {
  let off = 0;
  for (let l = 0; l < pos.line; l++) off = text.indexOf('\n', off) + 1;
  return off + pos.character;
}

/** Applies located fixes as one batch (what the editor does with the WorkspaceEdit). */
function apply(text: string, fixes: readonly LocatedFix[]): string {
  const edits = fixes.flatMap((f) => f.edits).map((e) => ({ start: offsetAt(text, e.range.start), end: offsetAt(text, e.range.end), newText: e.newText }));
  edits.sort((a, b) => b.start - a.start);
  for (let i = 1; i < edits.length; i++) assert.ok(edits[i]!.end <= edits[i - 1]!.start, 'edits overlap');
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/** Asserts that `after` equals `before` except inside the edited ranges (the edits are minimal and local). */
function assertOnlyEditsChanged(before: string, after: string, fix: LocatedFix): void {
  const e = fix.edits[0]!;
  const start = offsetAt(before, e.range.start);
  const end = offsetAt(before, e.range.end);
  assert.equal(after.slice(0, start), before.slice(0, start), 'text before the edit changed');
  assert.equal(after.slice(start + e.newText.length), before.slice(end), 'text after the edit changed');
}

const chat = (user: string, assistant: string): string => JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });
const contentOf = (line: string, turn: number): string => (JSON.parse(line) as { messages: { content: string }[] }).messages[turn]!.content;
const codesOf = (fs: readonly Finding[]): string[] => fs.map((f) => f.code);

describe('leaked-special-token fix', () => {
  test('removes the token with a minimal edit that maps through JSON escapes', () => {
    // Escapes before the token (\u00e9, \", \t, a surrogate pair) shift raw offsets against decoded ones.
    const line = String.raw`{"messages": [{"role": "user", "content": "Caf\u00e9 \"menu\"\tplease"}, {"role": "assistant", "content": "R\u00e9sum\u00e9 \"ok\" \ud83d\ude00 <|im_end|>\nnext line <|eot_id|>"}]}`;
    const findings = validate(line);
    assert.deepEqual(codesOf(findings), ['leaked-special-token', 'leaked-special-token']);
    const first = findings[0]!;
    assert.equal(line.slice(first.range.start.character, first.range.end.character), '<|im_end|>');
    const fix = first.fixes![0]!;
    assert.equal(fix.title, 'Remove "<|im_end|>"');
    assert.equal(fix.safe, true);
    const fixed = apply(line, [fix]);
    assertOnlyEditsChanged(line, fixed, fix);
    // The space before the token goes with it; the line break stays.
    assert.equal(contentOf(fixed, 1), 'Résumé "ok" 😀\nnext line <|eot_id|>');
    assert.deepEqual(codesOf(validate(fixed)), ['leaked-special-token'], 'only the other token is left');
    const second = validate(fixed)[0]!;
    const twice = apply(fixed, second.fixes!);
    assert.equal(contentOf(twice, 1), 'Résumé "ok" 😀\nnext line');
    assert.deepEqual(validate(twice), []);
  });

  test('a token on its own line takes its line break with it', () => {
    const line = chat('Hi', 'Hello there.\n<|im_end|>');
    const fixed = apply(line, validate(line)[0]!.fixes!);
    assert.equal(contentOf(fixed, 1), 'Hello there.');
  });

  test('the DeepSeek fullwidth token is removed whole', () => {
    const line = chat('Hi', 'Hello.<｜end▁of▁sentence｜>');
    const fixed = apply(line, validate(line)[0]!.fixes!);
    assert.equal(contentOf(fixed, 1), 'Hello.');
  });

  test('"in all records" gathers the same token everywhere into one edit set', () => {
    const lines = [chat('A', 'One.<|im_end|>'), chat('B', 'Two.'), chat('C', 'Three.<|im_end|>'), chat('D', 'Four <|eot_id|>')];
    const text = lines.join('\n');
    const findings = validate(text);
    const key = findings[0]!.fixes![0]!.groupKey!;
    const group = findings.flatMap((f) => f.fixes ?? []).filter((f) => f.groupKey === key);
    assert.equal(group.length, 2);
    const fixed = apply(text, group);
    const after = validate(fixed);
    assert.deepEqual(
      after.map((f) => f.range.start.line),
      [3],
      'only the other token (line 4) is left',
    );
    assert.equal(fixed.split('\n')[1], lines[1], 'a record without the token is untouched');
  });
});

describe('leaked-generation-prompt fixes', () => {
  const fixOf = (line: string): { fix: LocatedFix; fixed: string } => {
    const f = validate(line).find((x) => x.code === 'leaked-generation-prompt');
    assert.ok(f?.fixes?.[0], `no fix for ${line}`);
    return { fix: f.fixes[0], fixed: apply(line, [f.fixes[0]]) };
  };

  test('the Alpaca wrapper is stripped and the instruction kept', () => {
    const line = chat(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName three fruits.\n\n### Response:\n',
      'Apple, pear and plum.',
    );
    const { fix, fixed } = fixOf(line);
    assert.equal(fix.safe, true);
    assert.equal(contentOf(fixed, 0), 'Name three fruits.');
    assert.deepEqual(validate(fixed), []);
  });

  test('### Instruction / ### Input / ### Response headers go, instruction and input stay', () => {
    const { fixed } = fixOf(chat('### Instruction:\nTranslate to German.\n\n### Input:\nGood morning\n\n### Response:', 'Guten Morgen.'));
    assert.equal(contentOf(fixed, 0), 'Translate to German.\n\nGood morning');
    assert.deepEqual(validate(fixed), []);
  });

  test('a rendered assistant header at the end of the prompt is removed', () => {
    for (const [prompt, want] of [
      ['What is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', 'What is 2+2?'],
      ['Name a planet.\n<|im_start|>assistant\n', 'Name a planet.'],
      ['<s>[INST] Name a colour. [/INST]', 'Name a colour.'],
      ['USER: Name a river.\nASSISTANT:', 'Name a river.'],
    ] as const) {
      const line = chat(prompt, 'An answer in a full sentence.');
      const safe = validate(line).flatMap((f) => (f.fixes ?? []).filter((x) => x.safe));
      const fixed = apply(line, pickFixes(safe, (x) => x.edits.map((e) => e.range), (a, b) => a.line - b.line || a.character - b.character));
      assert.equal(contentOf(fixed, 0), want, prompt);
      assert.deepEqual(codesOf(validate(fixed)), [], prompt);
    }
  });

  test('an answer opening with "### Response:" loses the header', () => {
    const { fixed } = fixOf(chat('Name a sea.', '### Response: The Baltic Sea.'));
    assert.equal(contentOf(fixed, 1), 'The Baltic Sea.');
  });

  test('teacher instructions get an unsafe fix that removes the sentence', () => {
    const line = chat('Generate 3 question-answer pairs about the beach photo. Where is the umbrella?', 'On the left.');
    const { fix, fixed } = fixOf(line);
    assert.equal(fix.safe, false);
    assert.equal(contentOf(fixed, 0), 'Where is the umbrella?');
    assert.deepEqual(validate(fixed), []);
  });
});

describe('ai-boilerplate fix', () => {
  test('removes the boilerplate sentence (unsafe), keeps the rest', () => {
    const line = chat('Is the review positive?', 'As an AI language model, I cannot feel. The review is positive overall.');
    const f = validate(line).find((x) => x.code === 'ai-boilerplate');
    assert.ok(f?.fixes);
    assert.equal(f.fixes[0]?.safe, false);
    const fixed = apply(line, f.fixes);
    assert.equal(contentOf(fixed, 1), 'The review is positive overall.');
    assert.deepEqual(validate(fixed), []);
  });

  test('an answer that is nothing but boilerplate gets no fix (it would be empty)', () => {
    const f = validate(chat('Who are you?', 'I am ChatGPT, a model trained by OpenAI.')).find((x) => x.code === 'ai-boilerplate')!;
    assert.equal(f.fixes, undefined);
  });
});

describe('repeated-boilerplate fixes (dataset-level, with real edits)', () => {
  const fixture = (name: string): { text: string; settings: Settings; kind: 'jsonl' | 'json' } => {
    const file = path.join(FIXTURES, name);
    const text = fs.readFileSync(file, 'utf8');
    return { text, settings: settingsFor(file), kind: fileKindOf(file, text) };
  };

  for (const name of ['leak-repeated-boilerplate.jsonl', 'leak-array.json']) {
    test(`${name}: strip in this record, then in every record`, () => {
      const { text, settings, kind } = fixture(name);
      const findings = validate(text, kind, settings).filter((f) => f.code === 'repeated-boilerplate');
      assert.ok(findings.length >= 5);
      for (const f of findings) {
        const fix = f.fixes?.[0];
        assert.ok(fix && fix.edits.length === 1, 'every finding carries a real edit');
        assert.equal(fix.groupKey, findings[0]!.fixes![0]!.groupKey);
      }
      // This record only: the span goes, the record still parses, nothing else moves.
      const one = apply(text, [findings[0]!.fixes![0]!]);
      assertOnlyEditsChanged(text, one, findings[0]!.fixes![0]!);
      // Every record: nothing repeated is left; records keep their count and order.
      const all = apply(
        text,
        findings.map((f) => f.fixes![0]!),
      );
      assert.deepEqual(
        validate(all, kind, settings).filter((f) => f.code === 'repeated-boilerplate'),
        [],
      );
      const records = (t: string): unknown[] => (kind === 'json' ? (JSON.parse(t) as unknown[]) : t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown));
      assert.equal(records(all).length, records(text).length);
      const firstPrompt = (t: string): string => {
        const r = records(t)[0] as { messages?: { content: string }[]; conversations?: { value: string }[] };
        return r.messages ? r.messages[1]!.content : r.conversations![0]!.value;
      };
      assert.ok(firstPrompt(text).length > firstPrompt(all).length + 60);
      assert.doesNotMatch(firstPrompt(all), /\n$|^\n/, 'the separator goes with the span');
    });
  }

  test('incremental: an edit re-analyses one record and the dataset rule follows the facts', () => {
    const { text, settings } = fixture('leak-repeated-boilerplate.jsonl');
    const validator = new DatasetValidator({ settings });
    const count = (t: string): number => validator.validateText(t, 'jsonl').findings.filter((f) => f.code === 'repeated-boilerplate').length;
    assert.equal(count(text), 6);
    const lines = text.split('\n');
    const strip = (l: string): string => l.replace(/\\nPlease look carefully[^"]*/, '');
    const before = validator.counters.recordsAnalyzed;
    lines[0] = strip(lines[0]!);
    assert.equal(count(lines.join('\n')), 5, 'five records still share it: still at the threshold');
    assert.equal(validator.counters.recordsAnalyzed - before, 1, 'only the edited record was analysed again');
    lines[1] = strip(lines[1]!);
    assert.equal(count(lines.join('\n')), 0, 'four records are below repeatedMinRecords');
    assert.equal(validator.counters.recordsAnalyzed - before, 2);
  });
});

describe('unknown-role rename', () => {
  test('suggests the format name for case, typos and synonyms, nothing for unrelated names', () => {
    const openai = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];
    const sharegpt = ['human', 'gpt', 'system', 'observation', 'function_call', 'user', 'assistant'];
    assert.equal(suggestRole('Assistant', openai), 'assistant');
    assert.equal(suggestRole('asistant', openai), 'assistant');
    assert.equal(suggestRole('human', openai), 'user');
    assert.equal(suggestRole('bot', sharegpt), 'gpt');
    assert.equal(suggestRole('Human', sharegpt), 'human');
    assert.equal(suggestRole('narrator', openai), undefined);
    assert.equal(suggestRole('', openai), undefined);
  });

  test('the fix renames the role in place and the record validates', () => {
    const line = JSON.stringify({ messages: [{ role: 'User', content: 'Hi' }, { role: 'bot', content: 'Hello.' }] });
    const findings = validate(line).filter((f) => f.code === 'unknown-role');
    assert.equal(findings.length, 2);
    const fixed = apply(
      line,
      findings.map((f) => f.fixes![0]!),
    );
    assert.equal(fixed, line.replace('"User"', '"user"').replace('"bot"', '"assistant"'));
    assert.deepEqual(validate(fixed), []);
  });
});

describe('every fix of every leakage fixture', () => {
  const names = fs.readdirSync(FIXTURES).filter((f) => f.startsWith('leak-') && /\.jsonl?$/.test(f) && !f.endsWith('.settings.json'));
  for (const name of names) {
    test(`${name}: each fix applies alone, keeps every record parsable, and removes its finding`, () => {
      const file = path.join(FIXTURES, name);
      const text = fs.readFileSync(file, 'utf8');
      const kind = fileKindOf(file, text);
      const settings = settingsFor(file);
      const findings = validate(text, kind, settings);
      let fixes = 0;
      for (const f of findings) {
        for (const fix of f.fixes ?? []) {
          if (fix.edits.length === 0) continue;
          fixes++;
          const fixed = apply(text, [fix]);
          if (kind === 'jsonl') {
            const before = text.split('\n');
            const after = fixed.split('\n');
            assert.equal(after.length, before.length, `${fix.title}: line count changed`);
            after.forEach((l, i) => {
              if (l.trim()) JSON.parse(l);
              if (i !== f.range.start.line) assert.equal(l, before[i], `${fix.title}: another line changed`);
            });
          } else JSON.parse(fixed);
          const same = (x: Finding): boolean => x.code === f.code && x.record === f.record;
          assert.ok(
            validate(fixed, kind, settings).filter(same).length < findings.filter(same).length,
            `${name}: "${fix.title}" did not remove its ${f.code} on line ${f.range.start.line + 1}`,
          );
        }
      }
      if (!name.includes('legit')) assert.ok(fixes > 0 || name.includes('slots'), `${name} has no fix to test`);
    });
  }
});

describe('Modalities fixes', () => {
  const mm = (user: string, images: string[]): string =>
    JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: 'Two people on a bench.' }], images });
  const mismatch = (t: string, s: Settings = defaults): Finding[] => validate(t, 'jsonl', s).filter((f) => f.code === 'media-token-mismatch' || f.code === 'unknown-placeholder');
  const fixNamed = (f: Finding | undefined, title: RegExp): LocatedFix => {
    const fix = f?.fixes?.find((x) => title.test(x.title));
    assert.ok(fix, `no fix ${String(title)} in ${JSON.stringify(f?.fixes?.map((x) => x.title))}`);
    return fix;
  };

  test('insert the missing <image> placeholder (safe when the text has none)', () => {
    const line = mm('Who are they?', ['a.jpg']);
    const fix = fixNamed(mismatch(line)[0], /^Insert the missing <image> placeholder$/);
    assert.equal(fix.safe, true);
    const fixed = apply(line, [fix]);
    assertOnlyEditsChanged(line, fixed, fix);
    assert.equal(contentOf(fixed, 0), '<image>Who are they?');
    assert.deepEqual(mismatch(fixed), []);
  });

  test('LLaVA puts the placeholder on its own line; several missing ones are inserted together', () => {
    const llava = parseSettings({ target: 'llava' }).settings;
    const line = mm('Compare them.', ['a.jpg', 'b.jpg']);
    const fix = fixNamed(mismatch(line, llava)[0], /^Insert 2 missing <image> placeholders$/);
    const fixed = apply(line, [fix]);
    assert.equal(contentOf(fixed, 0), '<image>\n<image>\nCompare them.');
    assert.deepEqual(mismatch(fixed, llava), []);
  });

  test('drop the unused media entry, with its comma', () => {
    const line = mm('<image>Who is this?', ['a.jpg', 'b.jpg', 'c.jpg']);
    const f = mismatch(line)[0];
    assert.equal(fixNamed(f, /^Insert/).safe, false, 'where a second placeholder goes is a judgement');
    const drop = fixNamed(f, /^Remove the 2 unused media entries$/);
    assert.equal(drop.safe, false);
    const fixed = apply(line, [drop]);
    assert.deepEqual((JSON.parse(fixed) as { images: string[] }).images, ['a.jpg']);
    assert.equal(fixed, line.replace(', "b.jpg", "c.jpg"', '').replace(',"b.jpg","c.jpg"', ''));
    assert.deepEqual(mismatch(fixed), []);
  });

  test('drop an extra placeholder', () => {
    const line = mm('<image>\n<image>\nWho is this?', ['a.jpg']);
    const fixed = apply(line, [fixNamed(mismatch(line)[0], /^Remove the extra <image> placeholder$/)]);
    assert.equal(contentOf(fixed, 0), '<image>\nWho is this?');
    assert.deepEqual(mismatch(fixed), []);
  });

  test('drop an image map key no placeholder uses (MiniCPM-V)', () => {
    const line = JSON.stringify({
      id: '1',
      image: { '<image_00>': 'a.jpg', '<image_01>': 'b.jpg' },
      conversations: [
        { role: 'user', content: '<image_00>\nWhat is it?' },
        { role: 'assistant', content: 'A cat on a mat.' },
      ],
    });
    const f = mismatch(line).find((x) => x.code === 'unknown-placeholder');
    const fixed = apply(line, [fixNamed(f, /^Remove the unused image "b.jpg"$/)]);
    assert.deepEqual((JSON.parse(fixed) as { image: Record<string, string> }).image, { '<image_00>': 'a.jpg' });
    assert.deepEqual(mismatch(fixed), []);
  });
});

describe('raw offsets without a syntax tree', () => {
  test('quickLiteral maps decoded indexes exactly as the syntax tree does, for both escapings', () => {
    const samples = ['plain text only', 'Caf\u00e9 "quoted" \\ back\tslash\nnew line \u0001 ctrl', 'emoji \ud83d\ude00 and \u4e2d\u6587 text', 'x'.repeat(50) + '\n' + 'y "z"'.repeat(20)];
    for (const s of samples) {
      const js = JSON.stringify({ a: 'other', b: s });
      // Python's json.dumps default (ensure_ascii): every non-ASCII UTF-16 unit as a lowercase \uXXXX escape.
      const ascii = js.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      for (const record of [js, ascii]) {
        const raw = quickLiteral(record, s);
        assert.ok(raw, `not found in ${record}`);
        const literal = record.indexOf('"b": ') >= 0 ? record.indexOf('"b": ') + 5 : record.indexOf('"b":') + 4;
        for (let i = 0; i <= s.length; i++) {
          if (i > 0 && /[\ud800-\udbff]/.test(s[i - 1]!)) continue; // never inside a surrogate pair
          assert.equal(raw(i), rawOffsetInString(record, literal, i), `index ${i} of ${JSON.stringify(s)}`);
        }
      }
    }
  });

  test('a string that occurs twice is left to the exact path', () => {
    assert.equal(quickLiteral(JSON.stringify({ a: 'same text', b: 'same text' }), 'same text'), undefined);
  });
});
