import { z } from 'zod';
import type { Turn } from '../types';
import { collectMediaField, idOf, isString, textTurn, type FormatDef, type JsonObject } from './format';

/** Alpaca's user turn is instruction + input; both are pieces of one turn so positions stay exact. */
function userTurn(value: JsonObject): Turn {
  const turn = textTurn('user', 'instruction', ['instruction'], ['instruction'], ['instruction'], value['instruction']);
  if (isString(value['input'])) turn.texts.push({ text: value['input'], path: ['input'] });
  return turn;
}

export const alpacaFormat: FormatDef = {
  name: 'alpaca',
  describe: 'Alpaca {"instruction","input","output"}',
  signatures: [['instruction', 'output'], ['instruction', 'input', 'output']],
  knownKeys: new Set(['instruction', 'input', 'output', 'system', 'history', 'images', 'videos', 'audios', 'id', 'tools']),
  consequence: 'LLaMA-Factory skips or mis-builds the prompt',
  schema: z.object({
    instruction: z.string(),
    input: z.string().optional(),
    output: z.string(),
    system: z.string().optional(),
    history: z.array(z.tuple([z.string(), z.string()])).optional(),
    images: z.array(z.string()).optional(),
    videos: z.array(z.string()).optional(),
    audios: z.array(z.string()).optional(),
  }),
  detect(value) {
    if (!('instruction' in value)) return 0;
    if ('chosen' in value || 'rejected' in value) return 0;
    if ('output' in value) return 10;
    return 'label' in value ? 0 : 3;
  },
  normalise(value: JsonObject) {
    const turns: Turn[] = [];
    if (isString(value['system'])) turns.push(textTurn('system', 'system', ['system'], ['system'], ['system'], value['system']));
    const history = value['history'];
    if (Array.isArray(history)) {
      history.forEach((pair, i) => {
        if (!Array.isArray(pair)) return;
        turns.push(textTurn('user', 'history', ['history', i, 0], ['history', i], ['history', i, 0], pair[0]));
        turns.push(textTurn('assistant', 'history', ['history', i, 1], ['history', i], ['history', i, 1], pair[1]));
      });
    }
    turns.push(userTurn(value));
    turns.push(textTurn('assistant', 'output', ['output'], ['output'], ['output'], value['output']));
    const media = [] as ReturnType<FormatDef['normalise']>['media'];
    collectMediaField(value, 'images', 'image', media);
    collectMediaField(value, 'videos', 'video', media);
    collectMediaField(value, 'audios', 'audio', media);
    return { format: 'alpaca', turns, media, usesPlaceholders: true, value, id: idOf(value) };
  },
};
