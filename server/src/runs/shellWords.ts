import { shellQuote } from './quote';

/**
 * A command word that is either a value (always quoted) or a fragment of shell written in
 * Tunekit's own source (a variable expansion such as `"$SLURM_NNODES"`). Only code can create a
 * `ShellRaw`; nothing read from a config or a dataset ever becomes one.
 */
export class ShellRaw {
  constructor(readonly text: string) {}
}

export type Word = string | ShellRaw;

export const raw = (text: string): ShellRaw => new ShellRaw(text);

export function renderWords(words: readonly Word[]): string {
  return words.map((w) => (w instanceof ShellRaw ? w.text : shellQuote(w))).join(' ');
}
