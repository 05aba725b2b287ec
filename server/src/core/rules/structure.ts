import type { FormatName, Turn } from '../types';
import { recordTokens, totalTokens } from '../report/facts';
import { tokenCounterOf } from '../report/tokenCounter';
import type { RecordRule, RecordRuleContext } from './rule';
import { roleRenameFixes } from './roleFix';

/** Formats whose records are conversations with roles; the others have fixed fields instead. */
const CONVERSATIONAL: ReadonlySet<FormatName> = new Set(['openai', 'messages+media', 'llamafactory-v1', 'sharegpt', 'minicpm-v', 'preference']);

const isPromptSide = (t: Turn): boolean => t.role === 'user' || t.role === 'tool';
const isResponseSide = (t: Turn): boolean => t.role === 'assistant' || t.role === 'tool_call';

/** `unknown-role`, `role-order`, `system-not-first`, `multiple-system`, `missing-user-turn`, `no-assistant-turn`, `last-turn-not-assistant`, `empty-conversation`. */
export const conversationRule: RecordRule = {
  name: 'conversation',
  codes: ['empty-conversation', 'unknown-role', 'role-order', 'system-not-first', 'multiple-system', 'missing-user-turn', 'no-assistant-turn', 'last-turn-not-assistant'],
  check(ctx) {
    const { sample, format } = ctx;
    if (!CONVERSATIONAL.has(sample.format)) return;
    const turns = sample.turns;
    const listPath = conversationListPath(ctx);
    if (turns.length === 0) {
      if (listPath && Array.isArray(valueAt(ctx, listPath))) {
        ctx.report({
          code: 'empty-conversation',
          path: listPath,
          message: `${listPath.join('.')} is an empty list: there is nothing to train on; LLaMA-Factory and OpenAI reject such a record.`,
        });
      }
      return;
    }
    const allowed = format.roleNames ?? [];
    let unknown = false;
    for (const t of turns) {
      if (t.role === 'unknown' && t.rawRole !== '') {
        unknown = true;
        ctx.report({
          code: 'unknown-role',
          path: t.rolePath,
          message: `Role "${t.rawRole}" is not one of ${allowed.map((r) => `"${r}"`).join(', ')} for ${format.name}; ${format.consequence}.`,
          data: { role: t.rawRole, allowed },
          fixes: roleRenameFixes(ctx, t, allowed),
        });
      }
    }
    const systems = turns.filter((t) => t.role === 'system');
    turns.forEach((t, i) => {
      if (t.role === 'system' && i > 0) {
        ctx.report({
          code: 'system-not-first',
          path: t.rolePath,
          message: `A system turn at position ${i + 1}: the system prompt must be the first turn; chat templates either drop it or render it as a user turn.`,
        });
      }
    });
    if (systems.length > 1) {
      ctx.report({
        code: 'multiple-system',
        path: systems[1]!.rolePath,
        message: `${systems.length} system turns in one conversation; templates keep only one system prompt, so the others are lost or misplaced.`,
      });
    }
    const hasUser = turns.some((t) => t.role === 'user');
    const hasAssistant = turns.some(isResponseSide);
    const first = turns[0]!;
    // An unknown role is the root cause: it may well be the missing user or assistant turn.
    if (!hasUser && !unknown) {
      ctx.report({
        code: 'missing-user-turn',
        path: listPath ?? [],
        message: `No user turn in this conversation; the model would learn to answer nothing (OpenAI's data check flags it, LLaMA-Factory drops it).`,
      });
    }
    if (!hasAssistant && !unknown) {
      ctx.report({
        code: 'no-assistant-turn',
        path: listPath ?? [],
        message: `No assistant turn: there is no target to learn from, so the sample contributes no loss (LLaMA-Factory drops it).`,
      });
    }
    if (hasUser && hasAssistant && !unknown) checkOrder(ctx, turns);
    const last = turns[turns.length - 1]!;
    if (hasAssistant && !isResponseSide(last) && last.role !== 'system' && last !== first) {
      ctx.report({
        code: 'last-turn-not-assistant',
        path: last.rolePath,
        message: `The conversation ends on a "${last.rawRole}" turn; SFT trains on assistant turns, so this last turn is wasted (mistral-finetune rejects it; LLaMA-Factory drops samples with an odd turn count).`,
      });
    }
  },
};

/** After an optional leading system turn, prompt-side and response-side turns alternate. Consecutive tool results (parallel calls) count as one. */
function checkOrder(ctx: RecordRuleContext, turns: Turn[]): void {
  let expectPrompt = true;
  let prev: Turn | undefined;
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i]!;
    if (t.role === 'system') continue;
    if (t.role === 'tool' && prev?.role === 'tool') continue;
    const ok = expectPrompt ? isPromptSide(t) : isResponseSide(t);
    if (!ok) {
      const want = expectPrompt ? 'a user (or tool result) turn' : 'an assistant turn';
      ctx.report({
        code: 'role-order',
        path: t.rolePath,
        message: `Turn ${i + 1} is "${t.rawRole}" where ${want} was expected${prev ? ` after "${prev.rawRole}"` : ''}; turns must alternate user/assistant, and LLaMA-Factory drops such samples ("human and observation in odd positions, gpt and function in even").`,
      });
      return;
    }
    expectPrompt = !expectPrompt;
    prev = t;
  }
}

function conversationListPath(ctx: RecordRuleContext): (string | number)[] | undefined {
  for (const key of ['messages', 'conversations', 'chosen_messages']) if (key in ctx.value) return [key];
  if ('input' in ctx.value) return ['input', 'messages'];
  return undefined;
}

function valueAt(ctx: RecordRuleContext, path: (string | number)[]): unknown {
  let cur: unknown = ctx.value;
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[p] : undefined;
  return cur;
}

/** `empty-content` for every format's text fields. */
export const emptyContentRule: RecordRule = {
  name: 'emptyContent',
  codes: ['empty-content'],
  check(ctx) {
    const check = (t: Turn): void => {
      if (t.hasToolCalls || t.mediaParts.length > 0) return;
      if (t.contentNull) {
        if (t.role === 'assistant' && CONVERSATIONAL.has(ctx.sample.format) && 'content' in objectAt(ctx, t.path)) {
          ctx.report({
            code: 'empty-content',
            path: t.contentPath,
            message: `This assistant turn has null content and no tool_calls: there is nothing to train on.`,
          });
        }
        return;
      }
      if (t.texts.length > 0 && t.texts.every((p) => p.text.trim() === '')) {
        ctx.report({
          code: 'empty-content',
          path: t.texts[0]!.path,
          message: `${CONVERSATIONAL.has(ctx.sample.format) ? `The "${t.rawRole}" turn's content` : `"${t.rawRole}"`} is ${t.texts[0]!.text === '' ? 'empty' : 'only whitespace'}; the trainer ${t.role === 'assistant' ? 'learns to answer nothing' : 'gets an empty prompt'}.`,
        });
      }
    };
    sampleTurns(ctx).forEach(check);
  },
};

function objectAt(ctx: RecordRuleContext, path: readonly (string | number)[]): Record<string, unknown> {
  let cur: unknown = ctx.value;
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[p] : undefined;
  return cur && typeof cur === 'object' ? (cur as Record<string, unknown>) : {};
}

function sampleTurns(ctx: RecordRuleContext): Turn[] {
  return ctx.sample.extraTurns ? [...ctx.sample.turns, ...ctx.sample.extraTurns] : ctx.sample.turns;
}

/** `too-long`: an estimate until the report brings real tokenizers. */
export const lengthRule: RecordRule = {
  name: 'length',
  codes: ['too-long'],
  check(ctx) {
    // One count shared with the dataset report (real tokenizer when one is injected, plus image tokens).
    const counts = recordTokens(ctx);
    const tokens = totalTokens(counts);
    ctx.facts.approxTokens = tokens;
    const max = ctx.settings.maxTokens;
    if (tokens > max) {
      const counter = tokenCounterOf(ctx.services);
      const how = counter.exact ? `by ${counter.name}` : 'estimated from characters, not a real tokenizer';
      const images = counts.it > 0 ? `, ${counts.it.toLocaleString('en-US')} of them for images` : '';
      ctx.report({
        code: 'too-long',
        path: [],
        message: `${counter.exact ? '' : 'About '}${tokens.toLocaleString('en-US')} tokens (${how}${images}), over tunekit.maxTokens ${max.toLocaleString('en-US')}: the trainer truncates it at the cutoff length and the end of the answer is never learned.`,
        data: { tokens, max, imageTokens: counts.it, tokenizer: counter.name },
      });
    }
  },
};
