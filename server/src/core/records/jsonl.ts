import type { RawRecord } from '../types';

/**
 * Splits JSON Lines text into records, incrementally: `push` any chunk, `end` at EOF. Blank lines
 * are skipped (most loaders ignore them) but still counted, so line numbers stay true. A CR before
 * the LF is not part of the record; a BOM at the start of the file is dropped and does not count
 * as a column, as in editors.
 */
export class JsonlSplitter {
  /** The unfinished last line, kept as the chunks it arrived in (joined once its end arrives). */
  private pending: string[] = [];
  private pendingOffset = 0;
  private line = 0;
  private index = 0;
  private first: boolean;

  /** `atFileStart: false` for a chunk cut from inside a file (worker batches): a BOM there is text. */
  constructor(
    private readonly emit: (record: RawRecord) => void,
    opts: { atFileStart?: boolean } = {},
  ) {
    this.first = opts.atFileStart ?? true;
  }

  /** Line breaks seen so far. */
  get lineCount(): number {
    return this.line;
  }

  push(chunk: string): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    // Joining or rescanning the pending text on every chunk would make one long line quadratic.
    if (chunk.indexOf('\n') < 0) {
      if (chunk.length > 0) this.pending.push(chunk);
      return;
    }
    const text = this.pending.length > 0 ? this.pending.join('') + chunk : chunk;
    const base = this.pendingOffset;
    let from = 0;
    for (let nl = text.indexOf('\n', text.length - chunk.length); nl >= 0; nl = text.indexOf('\n', nl + 1)) {
      this.takeLine(text, from, nl, base);
      from = nl + 1;
    }
    this.pending = from < text.length ? [text.slice(from)] : [];
    this.pendingOffset = base + from;
  }

  end(): void {
    const rest = this.pending.join('');
    if (rest.length > 0) this.takeLine(rest, 0, rest.length, this.pendingOffset);
    this.pending = [];
  }

  private takeLine(text: string, from: number, to: number, base: number): void {
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--;
    if (!isBlank(text, from, end)) {
      this.emit({ index: this.index++, offset: base + from, line: this.line, column: 0, text: text.slice(from, end) });
    }
    this.line++;
  }
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}
