import type { RawRecord } from '../types';

/**
 * Splits JSON Lines text into records, incrementally: `push` any chunk, `end` at EOF. Blank lines
 * are skipped (most loaders ignore them) but still counted, so line numbers stay true. A CR before
 * the LF is not part of the record; a BOM at the start of the file is dropped and does not count
 * as a column, as in editors.
 */
export class JsonlSplitter {
  private pending = '';
  private pendingOffset = 0;
  private line = 0;
  private index = 0;
  private first = true;

  constructor(private readonly emit: (record: RawRecord) => void) {}

  push(chunk: string): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let text = this.pending + chunk;
    let base = this.pendingOffset;
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      this.takeLine(text, from, nl, base);
      from = nl + 1;
    }
    this.pending = from === 0 ? text : text.slice(from);
    this.pendingOffset = base + from;
    text = '';
    base = 0;
  }

  end(): void {
    if (this.pending.length > 0) this.takeLine(this.pending, 0, this.pending.length, this.pendingOffset);
    this.pending = '';
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
