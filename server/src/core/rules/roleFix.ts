import { StringEditor } from '../leakage/edits';
import type { CanonicalRole, Fix, Turn } from '../types';
import type { RecordRuleContext } from './rule';

/**
 * The quick fix of `unknown-role`: rename the role to the format's own name for it. A role that
 * differs only in case or by a typo ("Assistant", "asistant") or is a common synonym ("bot",
 * "human" in an OpenAI file) maps to exactly one name; the fix is safe then, and shared by every
 * record with the same role (fix in all records).
 */

/** What the format's role names mean, for mapping synonyms onto them. */
const MEANING: Readonly<Record<string, CanonicalRole>> = {
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  system: 'system',
  developer: 'system',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
  function_call: 'tool_call',
};

const SYNONYMS: Readonly<Record<string, CanonicalRole>> = {
  user: 'user',
  human: 'user',
  usr: 'user',
  person: 'user',
  customer: 'user',
  client: 'user',
  question: 'user',
  prompt: 'user',
  instruction: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  bot: 'assistant',
  ai: 'assistant',
  model: 'assistant',
  chatbot: 'assistant',
  agent: 'assistant',
  answer: 'assistant',
  response: 'assistant',
  chatgpt: 'assistant',
  claude: 'assistant',
  system: 'system',
  sys: 'system',
  system_prompt: 'system',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
  function_call: 'tool_call',
};

/** The format's role name that `raw` stands for, when there is exactly one. */
export function suggestRole(raw: string, allowed: readonly string[]): string | undefined {
  const key = raw.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (!key) return undefined;
  const exact = allowed.filter((a) => a.toLowerCase() === key);
  if (exact.length === 1) return exact[0];
  const meaning = SYNONYMS[key];
  if (meaning) {
    // The format lists its own names first (ShareGPT: "gpt" before the Qwen-VL alias "assistant").
    const same = allowed.find((a) => MEANING[a] === meaning);
    if (same) return same;
  }
  // A typo: one name within two edits, and clearly nearer than any other.
  const scored = allowed.map((a) => ({ a, d: distance(key, a.toLowerCase()) })).sort((x, y) => x.d - y.d);
  const best = scored[0];
  if (best && best.d <= Math.min(2, Math.floor(best.a.length / 3)) && (scored[1]?.d ?? Infinity) > best.d) return best.a;
  return undefined;
}

/** The rename fix for a turn with an unknown role, if a name can be suggested. */
export function roleRenameFixes(ctx: RecordRuleContext, turn: Turn, allowed: readonly string[]): Fix[] | undefined {
  const name = suggestRole(turn.rawRole, allowed);
  if (!name || name === turn.rawRole) return undefined;
  const edit = new StringEditor(ctx.record.text).edit(turn.rolePath, turn.rawRole, { start: 0, end: turn.rawRole.length, newText: name });
  if (!edit) return undefined;
  return [{ title: `Rename role "${turn.rawRole}" to "${name}"`, edits: [edit], safe: true, groupKey: `unknown-role:${turn.rawRole}>${name}` }];
}

/** Levenshtein distance (short strings only). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
