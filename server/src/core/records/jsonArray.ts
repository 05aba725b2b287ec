import type { RawRecord } from '../types';

/** A problem with the array itself (not with one element), with its absolute position. */
export interface ArrayProblem {
  offset: number;
  line: number;
  column: number;
  message: string;
  /** Characters the problem covers: 1 (the offending character), or 0 at the end of the file. */
  width?: number;
}

/**
 * A streaming scanner for a top-level JSON array: yields each element's text with its offset,
 * line and UTF-16 column, without ever holding the parsed array (LLaVA's 665k-record mix is one
 * 1 GB array). It only tracks strings and nesting depth; each element is then parsed on its own,
 * so one broken element yields an `invalid-json` there and the next element is read normally.
 */
export class JsonArrayScanner {
  private state: 'start' | 'beforeValue' | 'inValue' | 'afterValue' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escape = false;
  private buf: string[] = [];
  private elemOffset = 0;
  private elemLine = 0;
  private elemColumn = 0;
  private offset = 0;
  private line = 0;
  private column = 0;
  private index = 0;
  private first = true;
  private trailingReported = false;

  constructor(
    private readonly emit: (record: RawRecord) => void,
    private readonly problem: (p: ArrayProblem) => void,
  ) {}

  push(chunk: string): void {
    let i = 0;
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    // Inside strings the scanner jumps to the next character that matters (quote, backslash or
    // raw newline) with indexOf, which is many times faster than stepping through record text one
    // character at a time; the positions found are remembered until passed.
    let nextQuote = -1;
    let nextBackslash = -1;
    let nextNewline = -1;
    const len = chunk.length;
    let segStart = -1;
    while (i < len) {
      if (this.state === 'inValue') {
        if (segStart < 0) segStart = i;
        if (this.inString && !this.escape) {
          if (nextQuote < i && nextQuote !== -2) nextQuote = indexOrNone(chunk, '"', i);
          if (nextBackslash < i && nextBackslash !== -2) nextBackslash = indexOrNone(chunk, '\\', i);
          if (nextNewline < i && nextNewline !== -2) nextNewline = indexOrNone(chunk, '\n', i);
          let stop = len;
          if (nextQuote >= 0 && nextQuote < stop) stop = nextQuote;
          if (nextBackslash >= 0 && nextBackslash < stop) stop = nextBackslash;
          if (nextNewline >= 0 && nextNewline < stop) stop = nextNewline;
          // Plain string content up to `stop`: no line breaks in it, so only offset and column move.
          this.offset += stop - i;
          this.column += stop - i;
          i = stop;
          if (i >= len) break;
        }
        const c = chunk.charCodeAt(i);
        if (this.inString) {
          if (this.escape) this.escape = false;
          else if (c === 92) this.escape = true;
          else if (c === 34) this.inString = false;
          else if (c === 10) this.inString = false; // a raw newline cannot be inside a JSON string; resync
        } else if (c === 34) this.inString = true;
        else if (c === 123 || c === 91) this.depth++;
        else if (c === 125 || c === 93) {
          if (this.depth === 0) {
            // The closing bracket of the array ends an element that had no nesting (a scalar).
            this.buf.push(chunk.slice(segStart, i));
            segStart = -1;
            this.finishElement();
            this.state = 'done';
            this.advance(c);
            i++;
            continue;
          }
          this.depth--;
        } else if (c === 44 && this.depth === 0) {
          this.buf.push(chunk.slice(segStart, i));
          segStart = -1;
          this.finishElement();
          this.state = 'beforeValue';
          this.advance(c);
          i++;
          continue;
        }
        this.advance(c);
        i++;
        continue;
      }
      const c = chunk.charCodeAt(i);
      const ws = c === 32 || c === 10 || c === 13 || c === 9;
      if (!ws) {
        if (this.state === 'start') {
          if (c === 91) this.state = 'beforeValue';
          else {
            this.report('The file does not start with "[": a JSON dataset file must be an array of records (or use .jsonl).');
            // Nothing after this point can be read as array elements; say it once, not again at the end.
            this.state = 'done';
            this.trailingReported = true;
          }
        } else if (this.state === 'beforeValue') {
          if (c === 93) this.state = 'done';
          else if (c === 44) this.report('Empty array element (two commas in a row).');
          else {
            this.state = 'inValue';
            this.depth = 0;
            this.inString = false;
            this.escape = false;
            this.elemOffset = this.offset;
            this.elemLine = this.line;
            this.elemColumn = this.column;
            segStart = i;
            continue; // re-read this character in the value state
          }
        } else if (this.state === 'done' && !this.trailingReported) {
          this.trailingReported = true;
          this.report('Unexpected text after the closing "]" of the array.');
        }
      }
      this.advance(c);
      i++;
    }
    if (segStart >= 0) this.buf.push(chunk.slice(segStart));
  }

  /** Characters held for the element being read (it started in an earlier chunk); never more than one element's text. */
  get bufferedChars(): number {
    let n = 0;
    for (const part of this.buf) n += part.length;
    return n;
  }

  end(): void {
    // At the end of the file there is no character to underline: the problems get zero width.
    if (this.state === 'inValue') {
      this.finishElement();
      this.report('The array is not closed: "]" is missing at the end of the file.', 0);
    } else if (this.state === 'start') {
      this.report('The file is empty: expected a JSON array of records.', 0);
    } else if (this.state === 'beforeValue' || this.state === 'afterValue') {
      this.report('The array is not closed: "]" is missing at the end of the file.', 0);
    }
    this.state = 'done';
  }

  private advance(c: number): void {
    this.offset++;
    if (c === 10) {
      this.line++;
      this.column = 0;
    } else this.column++;
  }

  private finishElement(): void {
    let text = this.buf.join('');
    this.buf = [];
    // Trim trailing whitespace so the record's range ends at its last character.
    let end = text.length;
    while (end > 0) {
      const c = text.charCodeAt(end - 1);
      if (c === 32 || c === 10 || c === 13 || c === 9) end--;
      else break;
    }
    if (end !== text.length) text = text.slice(0, end);
    this.emit({ index: this.index++, offset: this.elemOffset, line: this.elemLine, column: this.elemColumn, text });
  }

  private report(message: string, width = 1): void {
    this.problem({ offset: this.offset, line: this.line, column: this.column, message, width });
  }
}

/** `text.indexOf(ch, from)`, or -2 when there is none (so the caller stops asking). */
function indexOrNone(text: string, ch: string, from: number): number {
  const at = text.indexOf(ch, from);
  return at < 0 ? -2 : at;
}
