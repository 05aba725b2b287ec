import { codeLikeLine, inCode } from './text';

/**
 * Template slots that were never filled: `{{name}}` (Mustache/Jinja style), `{insert text here}`
 * (a real released dataset, LlamaFactory#7270) and `{question}`-style single-brace slots. Braces
 * of code, JSON, f-strings, LaTeX and template markup are syntax, not slots.
 */
const DOUBLE = /(?<![$#{])\{\{\s*([A-Za-z_][\w.-]{0,40})\s*\}\}(?!\})/g;
const INSERT = /(?<![$\\])\{\s*(?:insert|enter|add|put|type|paste|fill in)\b[^{}\n]{0,80}\}/gi;
/** A single-brace identifier of three or more characters, not part of `{{…}}`, `${…}`, `\cmd{…}`, `x^{…}`. */
const SINGLE = /(?<![\w$\\^_{}#%@])\{([A-Za-z_][A-Za-z0-9_]{2,40})\}(?![}\w])/g;

export interface SlotHit {
  start: number;
  end: number;
  slot: string;
}

export function findSlots(text: string): SlotHit[] {
  if (!text.includes('{')) return [];
  const hits: SlotHit[] = [];
  const add = (re: RegExp, strict: boolean): void => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (inCode(text, start)) continue;
      if (strict && codeLikeLine(text, start)) continue;
      if (hits.some((h) => start < h.end && h.start < end)) continue;
      hits.push({ start, end, slot: m[0] });
    }
  };
  add(INSERT, false);
  add(DOUBLE, true);
  add(SINGLE, true);
  return hits.sort((a, b) => a.start - b.start);
}
