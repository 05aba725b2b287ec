import { sentenceAround } from './text';

/**
 * The teacher model's voice in an answer (open-instruct's filters): first-person identity,
 * knowledge-cutoff and refusal boilerplate. Only first-person statements count: "ChatGPT is a
 * chatbot made by OpenAI" is a neutral mention.
 */
export type BoilerplateKind = 'identity' | 'cutoff' | 'refusal';

const PROFESSION = '(?:engineer|researcher|scientist|developer|enthusiast|specialist|expert|consultant|student|ethicist|practitioner|professional|startup|company|product|architect|trainer|educator|artist|writer)';

const PATTERNS: ReadonlyArray<readonly [BoilerplateKind, RegExp]> = [
  [
    'identity',
    new RegExp(
      String.raw`\b[Aa]s an? (?:AI|A\.I\.|artificial intelligence|(?:large )?language model|LLM|digital assistant|virtual assistant)(?! ${PROFESSION})(?: (?:language model|assistant|model|chatbot|system|program|bot))?(?: (?:developed|created|trained|built|made|designed) by [^,.\n]{1,40}?)?(?=\s*(?:,|I\b))`,
      'g',
    ),
  ],
  [
    'identity',
    new RegExp(
      String.raw`\bI(?: am|'m|’m) (?:just |only |merely |simply |not a human, but |)(?:an? )?(?:AI|artificial intelligence|(?:large )?language model|LLM|AI (?:language model|assistant|chatbot|model|system))\b(?! ${PROFESSION})`,
      'g',
    ),
  ],
  ['identity', /\bI(?: am|'m|’m) (?:ChatGPT|GPT-[34]\w*|Claude|Bard)\b/g],
  ['identity', /\bI(?: am|'m|’m| was)\b[^.!?\n]{0,60}\b(?:developed|created|trained|built|made) by (?:OpenAI|Anthropic|Google DeepMind|Meta AI)\b/g],
  ['identity', /作为(?:一个|一名)?(?:AI|人工智能)\s?语言模型|我是(?:一个)?(?:AI|人工智能)\s?语言模型/g],
  [
    'cutoff',
    /\b(?:[Aa]s of|[Ss]ince|[Uu]p until|[Uu]ntil|[Uu]p to) my (?:last |latest |most recent )?(?:knowledge (?:update|cutoff|cut-off)|training (?:data|cutoff|cut-off)|(?:last )?(?:update|training))\b/g,
  ],
  ['cutoff', /\b[Mm]y (?:knowledge|training data|training) (?:cutoff|cut-off|only (?:goes|extends) (?:up )?(?:to|until))\b/g],
  ['cutoff', /\bI (?:do not|don't|don’t) have (?:access to )?(?:real-time|current|up-to-date|live) (?:information|data|internet access|access to the internet|browsing)\b/g],
  [
    'refusal',
    /\bI (?:cannot|can't|can’t|can not|am unable to|'m unable to|am not able to|'m not able to) (?:fulfill|comply with|complete|assist with|help with|provide assistance with) (?:this|that|your) request\b/g,
  ],
  ['refusal', /\bI (?:do not|don't|don’t) have (?:personal )?(?:opinions|feelings|emotions|beliefs|personal experiences|consciousness|a physical (?:body|form))\b/g],
  ['refusal', /\b[Ii]t(?: is|'s|’s) not (?:appropriate|ethical) for me to\b/g],
];

/** One alternation of the patterns' distinctive words: a single pass decides whether any pattern can match. */
const SNIFF = /\b(?:[Aa]s an?|[Aa]s of my|I am|I'm|I’m|I was|I do|I don|I can|I cannot|I am|[Mm]y (?:knowledge|training)|[Ii]t(?: is|'s|’s) not|[Ss]ince my|[Uu]p (?:un)?t(?:il|o) my|[Uu]ntil my)\b|作为|我是/;

/** Sentences that refuse a task for lack of a tool ("I'm sorry, but I don't have the capability to book flights"). */
const TOOL_REFUSAL = /\b(?:capabilit(?:y|ies)|abilit(?:y|ies)|external tasks?|unable to (?:perform|book|order|place|assist)|no function|functions? (?:provided|available)|tools? (?:provided|available)|I (?:can't|cannot|can’t) (?:book|order|place|perform|access|browse|send|make))\b/;

export interface BoilerplateHit {
  start: number;
  end: number;
  kind: BoilerplateKind;
  phrase: string;
}

/**
 * Boilerplate in an assistant text. `toolRecord`: the record offers tools; refusals that state a
 * missing capability are then the intended behaviour of a function-calling model, not boilerplate.
 */
export function findBoilerplate(text: string, toolRecord: boolean): BoilerplateHit[] {
  if (!SNIFF.test(text)) return [];
  const hits: BoilerplateHit[] = [];
  for (const [kind, re] of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (hits.some((h) => start < h.end && h.start < end)) continue;
      if (toolRecord) {
        const s = sentenceAround(text, start, end);
        if (TOOL_REFUSAL.test(text.slice(s.start, s.end))) continue;
      }
      hits.push({ start, end, kind, phrase: text.slice(start, end) });
    }
  }
  return hits.sort((a, b) => a.start - b.start);
}
