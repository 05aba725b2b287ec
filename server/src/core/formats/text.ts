import { z } from 'zod';
import { idOf, textTurn, type FormatDef, type JsonObject } from './format';

export const textFormat: FormatDef = {
  name: 'text',
  describe: 'pre-training text {"text"}',
  signatures: [['text']],
  knownKeys: null,
  consequence: 'the pre-training loader yields an empty document',
  schema: z.looseObject({ text: z.string() }),
  detect(value) {
    if (!('text' in value)) return 0;
    return 'messages' in value || 'conversations' in value || 'label' in value ? 0 : 5;
  },
  normalise(value: JsonObject) {
    return {
      format: 'text',
      turns: [textTurn('assistant', 'text', ['text'], ['text'], ['text'], value['text'])],
      media: [],
      usesPlaceholders: false,
      value,
      id: idOf(value),
    };
  },
};
