import { z } from 'zod';
import { idOf, textTurn, type FormatDef, type JsonObject } from './format';

export const promptCompletionFormat: FormatDef = {
  name: 'prompt-completion',
  describe: 'prompt/completion {"prompt","completion"}',
  signatures: [['prompt', 'completion']],
  knownKeys: new Set(['prompt', 'completion', 'id']),
  consequence: 'the trainer cannot build the sequence',
  schema: z.object({ prompt: z.string(), completion: z.string() }),
  detect(value) {
    if ('completion' in value) return 'chosen' in value ? 0 : 10;
    return 0;
  },
  normalise(value: JsonObject) {
    return {
      format: 'prompt-completion',
      turns: [
        textTurn('user', 'prompt', ['prompt'], ['prompt'], ['prompt'], value['prompt']),
        textTurn('assistant', 'completion', ['completion'], ['completion'], ['completion'], value['completion']),
      ],
      media: [],
      usesPlaceholders: false,
      value,
      id: idOf(value),
    };
  },
};
