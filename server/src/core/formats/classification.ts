import { z } from 'zod';
import type { Sample } from '../types';
import { collectMediaField, idOf, isString, textTurn, type FormatDef, type JsonObject } from './format';

export const classificationFormat: FormatDef = {
  name: 'classification',
  describe: 'image classification {"image","instruction"?,"label"}',
  signatures: [['image', 'label'], ['image', 'instruction', 'label']],
  knownKeys: new Set(['image', 'images', 'instruction', 'label', 'data_path', 'id']),
  consequence: 'the trainer cannot build a target for it',
  schema: z.object({
    image: z.union([z.string(), z.array(z.string())]),
    instruction: z.string().optional(),
    label: z.union([z.string(), z.number(), z.boolean()]),
    data_path: z.string().optional(),
  }),
  detect(value) {
    if (!('label' in value) || 'messages' in value || 'conversations' in value) return 0;
    return 'image' in value || 'images' in value ? 12 : 3;
  },
  normalise(value: JsonObject): Sample {
    const turns = [];
    if (isString(value['instruction'])) turns.push(textTurn('user', 'instruction', ['instruction'], ['instruction'], ['instruction'], value['instruction']));
    const label = value['label'];
    turns.push(textTurn('assistant', 'label', ['label'], ['label'], ['label'], typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean' ? String(label) : label));
    const media = [] as Sample['media'];
    collectMediaField(value, 'image', 'image', media);
    collectMediaField(value, 'images', 'image', media);
    const sample: Sample = { format: 'classification', turns, media, usesPlaceholders: false, value, id: idOf(value) };
    if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') sample.answer = { value: String(label), path: ['label'] };
    return sample;
  },
};
