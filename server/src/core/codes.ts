import type { Severity } from './types';
import type { Target } from './settings';

/**
 * Every diagnostic code Tunekit can report, with its default severity. Codes are public (users
 * configure them in `tunekit.rules`, quick fixes key on them): add freely, never rename.
 */
export type Family = 'syntax' | 'structure' | 'media' | 'leakage' | 'qa' | 'runs';

interface CodeInfo {
  family: Family;
  severity: Severity | ((target: Target) => Severity);
  summary: string;
}

export const CODES = {
  'invalid-json': { family: 'syntax', severity: 'error', summary: 'The record is not valid JSON.' },
  'not-an-object': { family: 'syntax', severity: 'error', summary: 'The record is valid JSON but not an object.' },
  'unknown-format': { family: 'syntax', severity: 'error', summary: 'The record matches none of the known formats.' },
  'format-mismatch': { family: 'syntax', severity: 'warning', summary: "The record's format differs from the file's dominant format." },
  'missing-field': { family: 'syntax', severity: 'error', summary: 'A field the format requires is absent.' },
  'invalid-field-type': { family: 'syntax', severity: 'error', summary: 'A field has the wrong JSON type.' },
  'unknown-field': {
    family: 'syntax',
    severity: (t) => (t === 'together' ? 'error' : 'info'),
    summary: 'A top-level key the format does not define.',
  },
  'empty-conversation': { family: 'syntax', severity: 'error', summary: 'The conversation list is empty.' },
  'record-too-large': { family: 'syntax', severity: 'warning', summary: 'The record is too large to validate in full.' },
  'internal-error': { family: 'syntax', severity: 'warning', summary: 'A Tunekit rule failed on this record (a bug: please report it).' },

  'unknown-role': { family: 'structure', severity: 'error', summary: "A role outside the format's role set." },
  'role-order': { family: 'structure', severity: 'error', summary: 'Turns do not alternate user/assistant.' },
  'system-not-first': { family: 'structure', severity: 'error', summary: 'A system turn anywhere but first.' },
  'multiple-system': { family: 'structure', severity: 'warning', summary: 'More than one system turn.' },
  'missing-user-turn': { family: 'structure', severity: 'error', summary: 'No user turn at all.' },
  'no-assistant-turn': { family: 'structure', severity: 'error', summary: 'No assistant turn at all.' },
  'last-turn-not-assistant': { family: 'structure', severity: 'warning', summary: 'The conversation does not end on an assistant turn.' },
  'empty-content': { family: 'structure', severity: 'error', summary: "A turn's content is empty." },
  'invalid-weight': { family: 'structure', severity: 'error', summary: 'A weight/loss_weight outside what the format allows.' },
  'duplicate-id': { family: 'structure', severity: 'warning', summary: 'An id already used by an earlier record.' },
  'duplicate-sample': { family: 'structure', severity: 'warning', summary: 'A record identical to an earlier one.' },
  'too-long': { family: 'structure', severity: 'warning', summary: 'The record exceeds the token limit.' },

  'media-token-mismatch': { family: 'media', severity: 'error', summary: 'Placeholder count differs from media count.' },
  'unknown-placeholder': { family: 'media', severity: 'error', summary: 'A numbered placeholder the media map does not define, or an unused map key.' },
  'media-not-found': { family: 'media', severity: 'error', summary: 'A referenced media file does not exist.' },
  'media-unreadable': { family: 'media', severity: 'error', summary: 'A media file or data: URI that cannot be decoded.' },
  'media-in-assistant-turn': {
    family: 'media',
    severity: (t) => (t === 'openai' || t === 'together' ? 'error' : 'warning'),
    summary: 'An image inside an assistant turn.',
  },
  'missing-modality': {
    family: 'media',
    severity: (t) => (t === 'minicpm-v' ? 'error' : 'warning'),
    summary: 'A text-only record in a multimodal file, or the reverse.',
  },
  'too-many-media': { family: 'media', severity: 'warning', summary: 'More media in one record than the target allows.' },

  'leaked-special-token': { family: 'leakage', severity: 'error', summary: 'A chat-template control token inside content.' },
  'leaked-generation-prompt': { family: 'leakage', severity: 'warning', summary: 'Text that instructed the teacher model, left in the sample.' },
  'unfilled-template-slot': { family: 'leakage', severity: 'error', summary: 'A template variable never filled.' },
  'ai-boilerplate': { family: 'leakage', severity: 'warning', summary: 'Identity, knowledge-cutoff or refusal boilerplate in an assistant turn.' },
  'repeated-boilerplate': { family: 'leakage', severity: 'warning', summary: 'The same long span recurs across many records.' },
  'leakage-pattern': { family: 'leakage', severity: 'warning', summary: 'Text matching a user pattern of tunekit.leakage.patterns (severity per pattern).' },

  'answer-not-in-options': { family: 'qa', severity: 'error', summary: 'A multiple-choice answer that is none of the options.' },
  'inconsistent-answer-format': { family: 'qa', severity: 'warning', summary: 'Answers of one file follow different shapes.' },

  'run-config': { family: 'runs', severity: 'error', summary: 'A run config (*.tunekit.yaml) value the run config schema rejects.' },
} satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export function isCode(code: string): code is Code {
  return Object.prototype.hasOwnProperty.call(CODES, code);
}

export function defaultSeverity(code: Code, target: Target): Severity {
  const info: CodeInfo = CODES[code];
  return typeof info.severity === 'function' ? info.severity(target) : info.severity;
}
