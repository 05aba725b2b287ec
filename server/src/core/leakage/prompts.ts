import { lineAt, sentenceAround } from './text';

/**
 * Text that instructed the teacher model, left in the sample (FORMATS.md, "Leakage patterns"):
 * prompt scaffolds (the Alpaca wrapper, `### Instruction:` / `### Response:` headers, rendered
 * chat headers), data-generation instructions and format instructions naming the stage tags the
 * teacher had to emit. Stage tags inside an answer are a legitimate target and are not looked at.
 */

/** A decoded-text edit: replace [start, end) of the string with `newText`. */
export interface TextEdit {
  start: number;
  end: number;
  newText: string;
}

export interface PromptHit {
  start: number;
  end: number;
  message: string;
  /** Edits that strip the scaffold and keep the inner instruction. */
  edits?: TextEdit[];
  fixTitle?: string;
  safe: boolean;
}

/** Where a text sits: the prompt the model is conditioned on, the system prompt, or the answer it learns. */
export type Side = 'prompt' | 'system' | 'answer';

const PREAMBLE = /Below is an instruction that describes a task(?:,? paired with an input that provides further context)?\.\s*Write a response that appropriately completes the request\.?/;
const HEADER = /^[ \t]*###[ \t]*(Instruction|Input|Response|Human|Assistant)[ \t]*:[ \t]*(?:\r?\n)?/gm;

/** Rendered assistant headers that end a prompt: the template's cue for the model to answer. */
const TAILS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Llama 3', /(?:<\|eot_id\|>\s*)?<\|start_header_id\|>assistant<\|end_header_id\|>\s*$/],
  ['ChatML', /(?:<\|im_end\|>\s*)?<\|im_start\|>assistant\s*$/],
  ['Llama 2 / Mistral', /\[\/INST\]\s*$/],
  ['Gemma', /(?:<end_of_turn>\s*)?<start_of_turn>model\s*$/],
  ['DeepSeek', /<\uFF5CAssistant\uFF5C>(?:<think>)?\s*$/],
  ['Phi-3', /(?:<\|end\|>\s*)?<\|assistant\|>\s*$/],
  ['gpt-oss', /(?:<\|end\|>\s*)?<\|start\|>assistant(?:<\|channel\|>\w+)?(?:<\|message\|>)?\s*$/],
  ['Vicuna / Alpaca', /(?:^|\n)[ \t]*(?:###[ \t]*(?:Response|Assistant)|ASSISTANT|Assistant)[ \t]*:\s*$/],
];

/** Rendered user headers that open a prompt. */
const HEADS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Llama 3', /^\s*(?:<\|begin_of_text\|>)?<\|start_header_id\|>user<\|end_header_id\|>\s*/],
  ['ChatML', /^\s*<\|im_start\|>user\s*/],
  ['Llama 2 / Mistral', /^\s*(?:<s>\s*)?\[INST\]\s*/],
  ['Gemma', /^\s*(?:<bos>)?<start_of_turn>user\s*/],
  ['DeepSeek', /^\s*(?:<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>)?<\uFF5CUser\uFF5C>\s*/],
  ['Phi-3', /^\s*<\|user\|>\s*/],
];

const TEXT_USER_HEAD = /^\s*(?:###[ \t]*)?(?:USER|User|HUMAN|Human)[ \t]*:[ \t]*/;

/** Assistant headers that open an answer: the prompt template's tail ended up in the target. */
const ANSWER_HEAD = /^\s*(?:###[ \t]*Response[ \t]*:|ASSISTANT[ \t]*:|Assistant[ \t]*:|<\|im_start\|>assistant\b|<\|start_header_id\|>assistant<\|end_header_id\|>|<start_of_turn>model\b|<\|assistant\|>|<\uFF5CAssistant\uFF5C>)\s*/;

const TEACHER: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bYou are an AI visual assistant\b/, "LLaVA-Instruct's instruction to the teacher"],
  [/\b[Ww]hat you see (?:are|is) provided with (?:\w+ )?(?:sentences|descriptions|captions)\b/, "LLaVA-Instruct's instruction to the teacher"],
  [
    /\b(?:[Gg]enerate|[Cc]reate|[Ww]rite|[Pp]roduce|[Cc]ome up with|[Dd]esign)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|multiple|some|a (?:set|list|few|number) of|diverse)\s+(?:[\w-]+\s+){0,2}?(?:question[- ](?:and[- ])?answer|Q\s?&\s?A|QA)\s+pairs\b/,
    'a data-generation instruction',
  ],
  [
    /\b[Bb]ased on the (?:given |provided |above |following )?(?:captions?|bounding box(?:es| coordinates)?|box coordinates|object locations|image descriptions?)(?: and (?:the )?(?:captions?|bounding box(?:es)?|object locations))? (?:provided|given|above|below)\b/,
    'a data-generation instruction',
  ],
];

/** One pass decides whether any teacher/scaffold pattern can match at all. */
const SNIFF = /###|Below is an instruction|visual assistant|provided with|pairs\b|[Bb]ased on the|SUMMARY|CAPTION|REASONING|CONCLUSION|<\||\[\/?INST\]|<start_of_turn>|<\uFF5C|Assistant|ASSISTANT/;

const STAGE_TAG = /<\/?(SUMMARY|CAPTION|REASONING|CONCLUSION)>|\b(SUMMARY|CAPTION|REASONING|CONCLUSION)\b/g;

export function findPromptLeaks(text: string, side: Side): PromptHit[] {
  if (!SNIFF.test(text)) return [];
  const hits: PromptHit[] = [];
  if (side === 'answer') {
    const m = ANSWER_HEAD.exec(text);
    if (m && m[0].trim()) {
      const header = m[0].trim();
      hits.push({
        start: text.indexOf(header),
        end: text.indexOf(header) + header.length,
        message: `The answer opens with the prompt template's assistant header "${header}"; the model learns to write the header itself. Remove it.`,
        edits: [{ start: 0, end: m[0].length, newText: '' }],
        fixTitle: `Remove "${header}"`,
        safe: true,
      });
    }
    return hits;
  }
  // The Alpaca scaffold's fix already strips its "### Response:" tail.
  const scaffolded = scaffold(text, hits);
  for (const [family, re] of HEADS) {
    const m = re.exec(text);
    if (!m) continue;
    const header = m[0].trim();
    const start = text.indexOf(header);
    hits.push({
      start,
      end: start + header.length,
      message: `The prompt opens with a rendered ${family} user header "${header}"; the trainer's chat template adds its own, so the model sees it twice and learns the wrong tokens. Remove it.`,
      edits: [{ start: 0, end: m[0].length, newText: '' }],
      fixTitle: `Remove the rendered ${family} header`,
      safe: true,
    });
    break;
  }
  const tailFrom = Math.max(0, text.length - 300);
  const tail = text.slice(tailFrom);
  for (const [family, re] of scaffolded ? [] : TAILS) {
    const m = re.exec(tail);
    if (!m) continue;
    const header = m[0].trim();
    const start = tailFrom + m.index + m[0].indexOf(header);
    if (hits.some((h) => start < h.end && h.start < start + header.length)) break;
    let cut = tailFrom + m.index;
    while (cut > 0 && /\s/.test(text[cut - 1]!)) cut--;
    const edits: TextEdit[] = [];
    // A Vicuna-style tail usually comes with its "USER:" head: strip both.
    const head = family === 'Vicuna / Alpaca' ? TEXT_USER_HEAD.exec(text) : null;
    if (head && head[0].length < cut) edits.push({ start: 0, end: head[0].length, newText: '' });
    edits.push({ start: cut, end: text.length, newText: '' });
    hits.push({
      start,
      end: start + header.length,
      message: `The prompt ends with a rendered ${family} assistant header "${header}" (the generation prompt's tail); the trainer's template adds its own, so the model learns from a doubled header. Remove it.`,
      edits,
      fixTitle: `Remove the rendered ${family} assistant header`,
      safe: true,
    });
    break;
  }
  for (const [re, what] of TEACHER) {
    const m = re.exec(text);
    if (!m) continue;
    const s = sentenceAround(text, m.index, m.index + m[0].length);
    if (hits.some((h) => s.start < h.end && h.start < s.end)) continue;
    hits.push({
      start: s.start,
      end: s.end,
      message: `"${clip(text.slice(s.start, s.end))}" is ${what}, left in the ${side === 'system' ? 'system prompt' : 'prompt'}; the student never gets such instructions at inference time. Remove it and keep the question.`,
      edits: [removal(text, s.start, s.end)],
      fixTitle: 'Remove the generation instruction',
      safe: false,
    });
  }
  stageFormat(text, side, hits);
  return hits.sort((a, b) => a.start - b.start);
}

/** The Alpaca wrapper and `### Instruction:` / `### Response:` scaffolds, with a fix that keeps the instruction. */
function scaffold(text: string, hits: PromptHit[]): boolean {
  const pre = PREAMBLE.exec(text);
  const headers: { name: string; start: number; end: number }[] = [];
  if (text.includes('###')) {
    HEADER.lastIndex = 0;
    for (let m = HEADER.exec(text); m; m = HEADER.exec(text)) headers.push({ name: m[1]!, start: m.index, end: m.index + m[0].length });
  }
  const names = new Set(headers.map((h) => h.name));
  if (names.has('Human') && names.has('Assistant')) {
    const h = headers.find((x) => x.name === 'Human' || x.name === 'Assistant')!;
    hits.push({
      start: h.start,
      end: lineAt(text, h.start).end,
      message: 'A rendered "### Human:" / "### Assistant:" conversation inside one turn: the prompt scaffold of the model that generated it; split it into turns or remove the headers.',
      safe: false,
    });
    return true;
  }
  const instr = headers.find((h) => h.name === 'Instruction');
  const alpacaHeaders = instr && (names.has('Response') || names.has('Input'));
  if (!pre && !alpacaHeaders) return false;
  const edits: { start: number; end: number; newText: string }[] = [];
  let ok = true;
  const first = pre ? pre.index : instr!.start;
  if (instr) {
    if (pre && text.slice(pre.index + pre[0].length, instr.start).trim() !== '') ok = false;
    edits.push({ start: first, end: skipSpace(text, instr.end), newText: '' });
  } else if (pre) {
    edits.push({ start: pre.index, end: skipSpace(text, pre.index + pre[0].length), newText: '' });
  }
  for (const h of headers) {
    if (h.name === 'Input') {
      let s = h.start;
      while (s > 0 && /\s/.test(text[s - 1]!)) s--;
      edits.push({ start: s, end: skipSpace(text, h.end), newText: '\n\n' });
    } else if (h.name === 'Response') {
      if (text.slice(h.end).trim() !== '') ok = false;
      let s = h.start;
      while (s > 0 && /\s/.test(text[s - 1]!)) s--;
      edits.push({ start: s, end: text.length, newText: '' });
    }
  }
  const end = pre ? pre.index + pre[0].length : lineAt(text, instr!.start).end;
  hits.push({
    start: first,
    end,
    message: pre
      ? 'The Alpaca prompt wrapper ("Below is an instruction that describes a task…") is left in the prompt; the trainer adds its own template, so the model learns the scaffold as content. Strip it and keep the instruction.'
      : 'Alpaca prompt headers ("### Instruction:" / "### Response:") are left in the prompt; the trainer adds its own template, so the model learns the scaffold as content. Strip them and keep the instruction.',
    ...(ok ? { edits, fixTitle: 'Strip the prompt scaffold, keep the instruction' } : {}),
    safe: ok,
  });
  return true;
}

/** A prompt that names two or more of the stage tags the teacher had to emit (LLaVA-CoT). */
function stageFormat(text: string, side: Side, hits: PromptHit[]): void {
  if (!/SUMMARY|CAPTION|REASONING|CONCLUSION/.test(text)) return;
  const seen = new Set<string>();
  let first = -1;
  let last = -1;
  let tagged = false;
  STAGE_TAG.lastIndex = 0;
  for (let m = STAGE_TAG.exec(text); m; m = STAGE_TAG.exec(text)) {
    seen.add(m[1] ?? m[2]!);
    if (m[1]) tagged = true;
    if (first < 0) first = m.index;
    last = m.index + m[0].length;
  }
  // Bare words need three of the four stage names; one tag plus another name is enough.
  if (!(tagged ? seen.size >= 2 : seen.size >= 3)) return;
  const start = lineAt(text, first).start;
  const end = lineAt(text, last).end;
  if (hits.some((h) => start < h.end && h.start < end)) return;
  hits.push({
    start,
    end,
    message: `This ${side === 'system' ? 'system prompt' : 'prompt'} tells the teacher which stage tags to emit (${[...seen].map((s) => `<${s}>`).join(' ')}); keep the staged answer but drop the format instruction, or the student depends on it at inference time.`,
    edits: [removal(text, start, end)],
    fixTitle: 'Remove the format instruction',
    safe: false,
  });
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/** Removes [start, end) with the whitespace after it (or before it, at the end of the text). */
function removal(text: string, start: number, end: number): TextEdit {
  const e = skipSpace(text, end);
  if (e > end || start === 0) return { start, end: e, newText: '' };
  let s = start;
  while (s > 0 && /\s/.test(text[s - 1]!)) s--;
  return { start: s, end, newText: '' };
}

function clip(s: string): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > 70 ? `${t.slice(0, 67)}…` : t;
}
