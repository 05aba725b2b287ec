/** Small text helpers shared by the leakage detectors. All indexes are into the decoded string. */

/** Start and end (exclusive) of the line holding `index`. */
export function lineAt(text: string, index: number): { start: number; end: number } {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const nl = text.indexOf('\n', index);
  return { start, end: nl < 0 ? text.length : nl };
}

/** True inside a fenced (```) code block or inline `code` span. */
export function inCode(text: string, index: number): boolean {
  let fences = 0;
  for (let i = text.indexOf('```'); i >= 0 && i < index; i = text.indexOf('```', i + 3)) fences++;
  if (fences % 2 === 1) return true;
  const line = lineAt(text, index);
  let ticks = 0;
  for (let i = text.indexOf('`', line.start); i >= 0 && i < index; i = text.indexOf('`', i + 1)) ticks++;
  return ticks % 2 === 1;
}

/**
 * Whether the line around `index` reads as code, markup or math rather than prose: assignments,
 * calls, statements, tags, template-literal or LaTeX commands. Braces on such lines are syntax.
 */
export function codeLikeLine(text: string, index: number): boolean {
  const { start, end } = lineAt(text, index);
  const line = text.slice(start, end);
  return CODE_LINE.test(line);
}

const CODE_LINE =
  /[=;]|[\w)\]]\s*\(|=>|\b(?:print|return|def|function|const|let|var|import|class|public|private|static|void|echo|printf|println|fmt|lambda|SELECT|FROM)\b|<\/?[a-zA-Z][\w-]*(?:\s[^<>]*)?>|\.format\b|\$|\\[a-zA-Z]+|%[sd(]|#\{|\{%|%\}|"\s*:|'\s*:/;

/** The sentence around [start, end): from after the previous terminator or line break to the next one (inclusive). */
export function sentenceAround(text: string, start: number, end: number): { start: number; end: number } {
  let s = start;
  while (s > 0 && !/[.!?。！？\n]/.test(text[s - 1]!)) s--;
  while (s < start && /\s/.test(text[s]!)) s++;
  let e = end;
  while (e < text.length && !/[.!?。！？\n]/.test(text[e]!)) e++;
  if (e < text.length && text[e] !== '\n') e++;
  return { start: s, end: e };
}

/**
 * Extends a removal range over the whitespace that would otherwise be left behind, without
 * joining lines: at the end of the text it takes the whitespace before, at the start the
 * whitespace after; before a line break it takes the spaces before; on a line of its own, one
 * line break; in running text, the spaces after.
 */
export function withSeparator(text: string, start: number, end: number): { start: number; end: number } {
  const isWs = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  let after = end;
  while (after < text.length && isWs(text[after])) after++;
  let before = start;
  while (before > 0 && isWs(text[before - 1])) before--;
  if (after === text.length) return { start: before, end: text.length };
  if (before === 0) return { start: 0, end: after };
  const gapAfter = text.slice(end, after);
  if (gapAfter.includes('\n')) {
    const gapBefore = text.slice(before, start);
    if (gapBefore.includes('\n')) {
      let e = end;
      while (text[e] === ' ' || text[e] === '\t' || text[e] === '\r') e++;
      return { start, end: e + 1 };
    }
    let s = start;
    while (s > 0 && (text[s - 1] === ' ' || text[s - 1] === '\t')) s--;
    return { start: s, end };
  }
  return { start, end: after };
}
