/**
 * A tokenizer-free token estimate: about 4 characters per token for Latin text, about one token
 * per CJK character. Good to ±30% for English on GPT/LLaMA BPEs; the report uses real tokenizers.
 */
export function estimateTokens(text: string): number {
  let cjk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x2e80 && c <= 0x9fff) cjk++;
    else if (c >= 0xac00 && c <= 0xd7af) cjk++;
  }
  return Math.ceil((text.length - cjk) / 4) + cjk;
}
