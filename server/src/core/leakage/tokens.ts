/**
 * Chat-template control tokens (FORMATS.md, "Chat-template control tokens"). Tokenizers turn these
 * strings into the real control tokens unless special-token splitting is on, so a leaked one
 * silently changes the training sequence.
 */

/** Token → the model families whose templates use it (named in the message). */
const FAMILIES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['ChatML (Qwen, Yi, InternVL, MiniCPM)', ['<|im_start|>', '<|im_end|>', '<|im_sep|>']],
  ['ChatML / GPT (Qwen, GPT-2, Phi)', ['<|endoftext|>']],
  ['Llama 3', ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|eom_id|>', '<|python_tag|>', '<|finetune_right_pad_id|>']],
  ['Llama 4', ['<|header_start|>', '<|header_end|>', '<|eot|>', '<|eom|>']],
  ['Llama 2 / Mistral', ['[INST]', '[/INST]', '<<SYS>>', '<</SYS>>', '<s>', '</s>']],
  ['Mistral', ['[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_CALLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]', '[SYSTEM_PROMPT]', '[/SYSTEM_PROMPT]', '[IMG]', '[IMG_BREAK]', '[IMG_END]']],
  ['Gemma', ['<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>', '<start_of_image>', '<end_of_image>']],
  ['Phi-3 / GLM-4', ['<|system|>', '<|user|>', '<|assistant|>']],
  ['Phi-3 / gpt-oss', ['<|end|>']],
  ['GLM', ['[gMASK]', '<sop>', '<|observation|>']],
  ['Qwen-VL', ['<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>']],
  ['InternVL', ['<IMG_CONTEXT>']],
  ['gpt-oss', ['<|start|>', '<|message|>', '<|channel|>', '<|return|>', '<|call|>', '<|constrain|>']],
];

const FAMILY_OF = new Map<string, string>();
for (const [family, tokens] of FAMILIES) for (const t of tokens) FAMILY_OF.set(t, family);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One regex for every token: a single pass per text. DeepSeek's tokens use the fullwidth bar
 * U+FF5C and U+2581 (an ASCII search misses them); any `<｜…｜>` is taken as one, and so is an
 * ASCII-bar token holding U+2581 (a half-normalised copy).
 */
const TOKEN_RE = new RegExp(
  [
    ...[...FAMILY_OF.keys()].sort((a, b) => b.length - a.length).map(escape),
    '<\uFF5C[^\uFF5C<>\\n]{1,48}\uFF5C>',
    '<\\|[^|<>\\s]{0,40}\u2581[^|<>\\s]{0,40}\\|>',
  ].join('|'),
  'g',
);

/** Tokens that also read as HTML, BBCode or NLP prose ("the <eos> token"): reported only where the context says template. */
const AMBIGUOUS = new Set(['<s>', '</s>', '<bos>', '<eos>', '<sop>', '[IMG]']);
const OPENERS = new Set(['<s>', '<bos>', '<sop>']);
const CLOSERS = new Set(['</s>', '<eos>']);

export interface TokenHit {
  start: number;
  end: number;
  token: string;
  family: string;
}

export function familyOf(token: string): string {
  return FAMILY_OF.get(token) ?? 'DeepSeek';
}

/** Cheap test before the scan: every token starts with `<` or `[`. */
function mayHaveToken(text: string): boolean {
  return text.includes('<') || text.includes('[');
}

/** The control tokens in `text`, minus allowed ones and HTML-looking uses of ambiguous ones. */
export function findTokens(text: string, allow: ReadonlySet<string>): TokenHit[] {
  if (!mayHaveToken(text)) return [];
  const all: TokenHit[] = [];
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m; m = TOKEN_RE.exec(text)) {
    all.push({ start: m.index, end: m.index + m[0].length, token: m[0], family: familyOf(m[0]) });
  }
  if (all.length === 0) return all;
  const out: TokenHit[] = [];
  for (let i = 0; i < all.length; i++) {
    const hit = all[i]!;
    if (allow.has(hit.token)) continue;
    if (AMBIGUOUS.has(hit.token) && !templateContext(text, all, i)) continue;
    out.push(hit);
  }
  return out;
}

/**
 * Whether an ambiguous token sits where a chat template would put it: next to another
 * (unambiguous) control token, or `<s>` / `</s>` at the very start / end of the text. `<s>…</s>`
 * pairs in prose are HTML strikethrough; `[IMG]` with a `[/IMG]` is BBCode.
 */
function templateContext(text: string, all: readonly TokenHit[], i: number): boolean {
  const hit = all[i]!;
  const prev = all[i - 1];
  const next = all[i + 1];
  const touches = (other: TokenHit | undefined, a: number, b: number): boolean =>
    !!other && !AMBIGUOUS.has(other.token) && text.slice(a, b).trim() === '';
  if (touches(prev, prev?.end ?? 0, hit.start) || touches(next, hit.end, next?.start ?? 0)) return true;
  if (hit.token === '[IMG]') return !/\[\/img\]/i.test(text);
  const html = hit.token === '<s>' || hit.token === '</s>' ? text.includes('<s>') && text.includes('</s>') : false;
  if (html || /<\/?(?:p|div|span|b|i|u|em|strong|del|strike|br|a|code|pre|li|ul|ol|html|body|td|tr)\b[^>]*>/i.test(text)) return false;
  if (OPENERS.has(hit.token)) return text.slice(0, hit.start).trim() === '';
  if (CLOSERS.has(hit.token)) {
    const after = text.slice(hit.end);
    // At the end of the text, or ending a line: the end-of-sequence marker of a rendered turn.
    return after.trim() === '' || /^[ \t]*\r?\n/.test(after);
  }
  return false;
}
