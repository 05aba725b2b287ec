import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { ExtraSpill } from '../core/summaryStore';

/**
 * Keeps a big file's per-record `extra` facts in a temporary file (see `ExtraSpill`): written as
 * batches arrive, read back block by block when dataset rules walk the summaries. The file is
 * removed when the summaries are garbage collected, or by `close()`.
 */

/** Serialises an `extra` object (worker side); `NodeSpill.decode` reads it back. */
export function serializeExtra(extra: Record<string, unknown>): Uint8Array {
  return v8.serialize(extra);
}

/** Read-ahead for sequential passes; a read far from the last one fetches only a small block. */
const BLOCK_BYTES = 1 << 20;
const SMALL_BLOCK_BYTES = 16 * 1024;

interface Handle {
  fd: number;
  file: string;
  closed: boolean;
}

function closeHandle(h: Handle): void {
  if (h.closed) return;
  h.closed = true;
  try {
    fs.closeSync(h.fd);
  } catch {
    // Already closed.
  }
  try {
    fs.unlinkSync(h.file);
  } catch {
    // Already gone (unlinked at open where the platform allows).
  }
}

const registry = new FinalizationRegistry<Handle>(closeHandle);

export class NodeSpill implements ExtraSpill {
  private readonly handle: Handle;
  private size = 0;
  private block: Buffer = Buffer.alloc(0);
  private blockStart = 0;
  private blockEnd = 0;

  constructor(dir = os.tmpdir()) {
    const file = path.join(dir, `tunekit-summaries-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.bin`);
    const fd = fs.openSync(file, 'w+', 0o600);
    this.handle = { fd, file, closed: false };
    if (process.platform !== 'win32') {
      // Nothing else needs the name: the data stays reachable through the descriptor, and the
      // file disappears even if the process is killed.
      try {
        fs.unlinkSync(file);
      } catch {
        // Removed at close instead.
      }
    }
    registry.register(this, this.handle, this);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.size;
  }

  append(bytes: Uint8Array): number {
    const at = this.size;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.handle.fd, bytes, done, bytes.length - done, at + done);
    this.size += bytes.length;
    return at;
  }

  read(position: number, length: number): Uint8Array {
    if (position < this.blockStart || position + length > this.blockEnd) {
      // Sequential walks continue where the last block ended: fetch a big block; jumps fetch a small one.
      const sequential = position >= this.blockStart && position <= this.blockEnd;
      const want = Math.max(length, sequential ? BLOCK_BYTES : SMALL_BLOCK_BYTES);
      const size = Math.min(want, this.size - position);
      if (this.block.length < size) this.block = Buffer.allocUnsafe(Math.max(size, BLOCK_BYTES));
      let got = 0;
      while (got < size) {
        const n = fs.readSync(this.handle.fd, this.block, got, size - got, position + got);
        if (n === 0) break;
        got += n;
      }
      this.blockStart = position;
      this.blockEnd = position + got;
    }
    return this.block.subarray(position - this.blockStart, position - this.blockStart + length);
  }

  decode(bytes: Uint8Array): Record<string, unknown> {
    return v8.deserialize(bytes) as Record<string, unknown>;
  }

  close(): void {
    registry.unregister(this);
    closeHandle(this.handle);
  }
}
