/**
 * A 53-bit hash of a parsed record (cyrb53 over its canonical JSON). Whitespace and escape
 * differences vanish because the value is re-serialised; a collision among a million records is
 * about 1 in 20,000, and the duplicate message names the earlier record so a user can check.
 */
export function stableHash(text: string, value: unknown): string {
  let canonical = text;
  try {
    if (!isCompact(text)) canonical = JSON.stringify(value);
  } catch {
    // JSON.stringify recurses and overflows on values nested thousands of levels deep.
  }
  return cyrb53(canonical).toString(36);
}

/** A record written by JSON.stringify has no whitespace outside strings; skipping re-serialisation is then exact enough. */
function isCompact(text: string): boolean {
  return text.indexOf(': ') < 0 && text.indexOf(', ') < 0 && text.indexOf('\n') < 0 && text.indexOf('\\u') < 0 && text.indexOf('\\/') < 0;
}

export function cyrb53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
