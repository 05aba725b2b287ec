import {
  describeTried,
  formatBytes,
  kindNoun,
  listedMedia,
  mediaProbeOf,
  parseDataUri,
  resolveMedia,
  scanPlaceholders,
  type MediaInfo,
  type MediaScan,
  type Placeholder,
} from '../media';
import type { Target } from '../settings';
import type { RecordSummary } from '../summary';
import type { MediaKind, MediaRef, Sample } from '../types';
import { dominantFormat } from './dataset';
import { dropPlaceholderFix, dropUnusedMediaFix, insertPlaceholderFix } from './mediaFixes';
import type { DatasetIssue, DatasetRule, DatasetRuleContext, RecordRule, RecordRuleContext, TrackedRecords } from './rule';
import { positionsOf, updateSet } from './incremental';

/**
 * The Modalities family (DIAGNOSTICS.md): placeholders against media, media that are missing or
 * broken, images where trainers do not accept them, and text-only records among multimodal ones.
 * File facts come from the injected `MediaProbe`; when it does not know a file yet the record is
 * marked volatile (not cached) and the probe runs in the background.
 */

const KINDS: readonly MediaKind[] = ['image', 'video', 'audio'];

/** Targets that take images only as `image_url` parts, JPEG/PNG/WEBP, at most 10 per example and 10 MB each. */
const API_TARGETS: ReadonlySet<Target> = new Set(['openai', 'together']);
const API_IMAGE_TYPES = new Set(['jpeg', 'jpg', 'png', 'webp']);
const API_MAX_IMAGES = 10;
const API_MAX_BYTES = 10 * 1024 * 1024;

/** Facts kept for `missing-modality`. */
export interface ModalityFact {
  /** The record carries at least one media reference. */
  has: boolean;
  /** Where to point: the first media reference, or the conversation of a text-only record. */
  anchor: ReturnType<RecordRuleContext['anchor']>;
}
export const MODALITY_FACT = 'modality';

export const mediaRule: RecordRule = {
  name: 'media',
  codes: ['media-token-mismatch', 'unknown-placeholder', 'media-not-found', 'media-unreadable', 'media-in-assistant-turn', 'too-many-media'],
  check(ctx) {
    const { sample } = ctx;
    const scan = scanPlaceholders(sample);
    ctx.facts.media.image += scan.inline.length;
    const media = [...sample.media, ...scan.inline];
    recordModality(ctx, media);
    if (sample.usesPlaceholders) {
      if (listedMedia(sample).some((m) => m.key !== undefined) || sample.format === 'minicpm-v') checkMediaMap(ctx, scan);
      checkCounts(ctx, scan);
    }
    checkAssistantMedia(ctx, scan);
    checkTooMany(ctx, media);
    checkFiles(ctx, media);
  },
};

function recordModality(ctx: RecordRuleContext, media: MediaRef[]): void {
  const first = media[0];
  let anchor;
  if (first) {
    anchor = ctx.anchor(first.path.length ? { path: first.path } : { path: [] });
  } else {
    const turn = ctx.sample.turns.find((t) => t.role === 'user') ?? ctx.sample.turns[0];
    anchor = ctx.anchor(turn ? { path: turn.contentPath } : { path: [] });
  }
  const fact: ModalityFact = { has: media.length > 0, anchor };
  ctx.facts.extra[MODALITY_FACT] = fact;
}

/** `media-token-mismatch`: placeholders of each kind against the media listed beside the text. */
function checkCounts(ctx: RecordRuleContext, scan: MediaScan): void {
  const { sample, settings } = ctx;
  const listed = listedMedia(sample);
  const isMap = listed.some((m) => m.key !== undefined);
  for (const kind of KINDS) {
    // A MiniCPM-V map binds numbered placeholders by key (unknown-placeholder checks those).
    if (isMap && kind === 'image') continue;
    const items = listed.filter((m) => m.kind === kind);
    const tokens = scan.placeholders.filter((p) => p.kind === kind && !p.numbered);
    if (items.length === tokens.length) continue;
    if (tokens.length < items.length && insertsMissingPlaceholder(sample, settings.target, kind, items.length, tokens.length)) continue;
    const tok = `<${kind}>`;
    const where = items[0] ? `"${String(items[0].path[0])}"` : `"${kind}s"`;
    if (tokens.length > items.length) {
      const extra = tokens[items.length]!;
      ctx.report({
        code: 'media-token-mismatch',
        path: extra.piece.path,
        span: { start: extra.start, length: extra.length },
        message:
          `${tokens.length} ${tok} placeholder${tokens.length === 1 ? '' : 's'} but ${items.length === 0 ? 'no' : items.length} ${kindNoun(kind, items.length)} ${items.length === 0 ? 'listed' : `in ${where}`}; ` +
          `${consequence(settings.target, kind)}`,
        data: { kind, placeholders: tokens.length, media: items.length },
        fixes: dropPlaceholderFix(ctx, extra.piece.path, extra.piece.text, extra.start, extra.length),
      });
    } else {
      const extra = items[tokens.length]!;
      ctx.report({
        code: 'media-token-mismatch',
        path: extra.path,
        message:
          `${items.length} ${kindNoun(kind, items.length)} in ${where} but ${tokens.length === 0 ? 'no' : tokens.length} ${tok} placeholder${tokens.length > 1 ? 's' : ''} in the text; ` +
          `${consequence(settings.target, kind)}`,
        data: { kind, placeholders: tokens.length, media: items.length, ref: extra.ref },
        fixes: [...(insertPlaceholderFix(ctx, kind, items.length - tokens.length, tokens.length) ?? []), ...(dropUnusedMediaFix(ctx, items.slice(tokens.length)) ?? [])],
      });
    }
  }
}

function consequence(target: Target, kind: MediaKind): string {
  const tok = `<${kind}>`;
  switch (target) {
    case 'qwen-vl':
      return `Qwen-VL's fine-tuning code raises on placeholders without ${kindNoun(kind, 2)} and on unused ${kindNoun(kind, 2)}.`;
    case 'minicpm-v':
      return `MiniCPM-V fails on the sample, swallows the error and silently trains on a random other sample instead.`;
    case 'internvl':
      return `InternVL checks that the ${tok} count equals the number of ${kindNoun(kind, 2)} and fails on the sample.`;
    case 'ms-swift':
      return `ms-swift prepends missing placeholders but fails on ${tok} placeholders without ${kindNoun(kind, 2)}.`;
    case 'llava':
      return `LLaVA places ${kindNoun(kind)} features only where ${tok} stands, so the sample trains on misaligned or missing ${kindNoun(kind, 2)}.`;
    default:
      return `LLaMA-Factory aborts the whole run ("The number of ${kindNoun(kind, 2)} does not match the number of ${tok} tokens") and other trainers misalign them.`;
  }
}

/**
 * Loaders that put a missing placeholder in front of the conversation themselves: ms-swift for
 * any count, MiniCPM-V and InternVL for a single image (FORMATS.md, Media). QA records are built
 * into prompts by the training script, which places their image.
 */
function insertsMissingPlaceholder(sample: Sample, target: Target, kind: MediaKind, items: number, tokens: number): boolean {
  if (target === 'ms-swift') return true;
  if (kind !== 'image' || items !== 1 || tokens !== 0) return false;
  if (sample.format === 'minicpm-v' || sample.format === 'qa') return true;
  return target === 'internvl' || target === 'minicpm-v';
}

/** `unknown-placeholder`: MiniCPM-V numbered placeholders against the keys of the `image` map. */
function checkMediaMap(ctx: RecordRuleContext, scan: MediaScan): void {
  const listed = listedMedia(ctx.sample).filter((m) => m.kind === 'image');
  const isMap = listed.some((m) => m.key !== undefined);
  const imageTokens = scan.placeholders.filter((p) => p.kind === 'image');
  if (!isMap) {
    // A single image path: numbered placeholders have nothing to bind to.
    for (const p of imageTokens.filter((t) => t.numbered)) {
      ctx.report({
        code: 'unknown-placeholder',
        path: p.piece.path,
        span: { start: p.start, length: p.length },
        message: `${p.token} needs "image" to be a map such as {"${p.token}": "path.jpg"}, but it is ${listed.length ? 'a single path' : 'absent'}; MiniCPM-V leaves the placeholder as plain text and the image is not where the text says.`,
        data: { placeholder: p.token },
      });
    }
    return;
  }
  const keys = new Set(listed.map((m) => m.key!));
  const used = new Set<string>();
  for (const p of imageTokens) {
    if (keys.has(p.token)) {
      used.add(p.token);
      continue;
    }
    // A plain <image> beside numbered keys is a placeholder the map does not define either.
    ctx.report({
      code: 'unknown-placeholder',
      path: p.piece.path,
      span: { start: p.start, length: p.length },
      message: `${p.token} is not a key of this record's "image" map (${[...keys].join(', ')}); MiniCPM-V leaves it as plain text, so no image is placed there.`,
      data: { placeholder: p.token, keys: [...keys] },
    });
  }
  // MiniCPM-V puts a lone {"<image>": path} in front of the conversation when no placeholder names it.
  if (keys.size === 1 && keys.has('<image>') && imageTokens.length === 0) return;
  for (const m of listed) {
    if (m.key === undefined || used.has(m.key)) continue;
    ctx.report({
      code: 'unknown-placeholder',
      path: m.path,
      onKey: true,
      message: `The image map key "${m.key}" is used by no placeholder in the conversation; MiniCPM-V loads the image but has nowhere to put it, fails on the sample and silently trains on a random other one instead.`,
      data: { key: m.key },
      fixes: dropUnusedMediaFix(ctx, [m]),
    });
  }
}

/** `media-in-assistant-turn`: image parts (or placeholders) in what the model is trained to say. */
function checkAssistantMedia(ctx: RecordRuleContext, scan: MediaScan): void {
  const { sample, settings } = ctx;
  const api = API_TARGETS.has(settings.target) || sample.format === 'openai';
  const turns = [...sample.turns, ...(sample.extraTurns ?? [])];
  for (const turn of turns) {
    if (turn.role !== 'assistant' && turn.role !== 'tool_call') continue;
    for (const m of turn.mediaParts) {
      ctx.report({
        code: 'media-in-assistant-turn',
        path: m.path,
        message: api
          ? `An ${kindNoun(m.kind)} part in an assistant turn; OpenAI and Together accept images only in user turns and reject the file.`
          : `An ${kindNoun(m.kind)} part in an assistant turn; the model cannot generate ${kindNoun(m.kind, 2)}, so trainers drop it or train on the raw reference text.`,
        data: { kind: m.kind },
      });
    }
  }
  for (const p of scan.placeholders) {
    const turn = sample.turns[p.turn];
    if (!turn || (turn.role !== 'assistant' && turn.role !== 'tool_call')) continue;
    reportAssistantPlaceholder(ctx, p);
  }
}

function reportAssistantPlaceholder(ctx: RecordRuleContext, p: Placeholder): void {
  ctx.report({
    code: 'media-in-assistant-turn',
    path: p.piece.path,
    span: { start: p.start, length: p.length },
    message: `${p.token} in an assistant turn: trainers expand it into ${kindNoun(p.kind)} tokens inside the target, so the model learns to emit ${kindNoun(p.kind)} tokens; put the ${kindNoun(p.kind)} in the user turn.`,
    data: { kind: p.kind },
  });
}

/** `too-many-media`: OpenAI and Together take at most 10 images per example. */
function checkTooMany(ctx: RecordRuleContext, media: MediaRef[]): void {
  const { settings, sample } = ctx;
  const applies = API_TARGETS.has(settings.target) || (settings.target === 'generic' && sample.format === 'openai');
  if (!applies) return;
  const images = media.filter((m) => m.kind === 'image');
  if (images.length <= API_MAX_IMAGES) return;
  const who = settings.target === 'together' ? 'Together' : 'OpenAI';
  ctx.report({
    code: 'too-many-media',
    path: images[API_MAX_IMAGES]!.path,
    message: `${images.length} images in one example; ${who} accepts at most ${API_MAX_IMAGES} and rejects the file. Split the conversation or drop images.`,
    data: { count: images.length, max: API_MAX_IMAGES },
  });
}

/** `media-not-found` and `media-unreadable`, from the probe's answers. */
function checkFiles(ctx: RecordRuleContext, media: MediaRef[]): void {
  const probe = mediaProbeOf(ctx.services);
  if (!probe || media.length === 0) return;
  const { settings, sample } = ctx;
  const api = API_TARGETS.has(settings.target) || sample.format === 'openai';
  const apiName = settings.target === 'together' ? 'Together' : 'OpenAI';
  let pending = false;
  for (const m of media) {
    const at = 'span' in m ? { path: m.path, span: (m as { span: { start: number; length: number } }).span } : { path: m.path };
    const res = resolveMedia(m.ref, ctx.formatContext, probe, { fetchRemote: settings.media.fetchRemote, record: ctx.value });
    if (res.pending) {
      pending = true;
      continue;
    }
    if (m.ref.trim() === '') {
      ctx.report({ ...at, code: 'media-not-found', message: `The ${kindNoun(m.kind)} path is empty; ${missingConsequence(settings.target)}`, data: { ref: m.ref, tried: [] } });
      continue;
    }
    // A relative path in an unsaved document has nothing to resolve against yet.
    if (res.location.candidates.length === 0) continue;
    if (!res.target || !res.info) {
      const tried = res.location.display;
      ctx.report({
        ...at,
        code: 'media-not-found',
        message: `${capitalised(kindNoun(m.kind))} "${m.ref}" not found (tried ${describeTried(tried)}); ${missingConsequence(settings.target)}`,
        data: { ref: m.ref, tried },
      });
      continue;
    }
    const info = res.info;
    if (info.status === 'remote') continue;
    const problem = unreadableProblem(m, info, res.location.kind, api, apiName);
    if (problem) {
      const where = res.location.kind === 'data' ? `The ${kindNoun(m.kind)} data: URI` : `${capitalised(kindNoun(m.kind))} "${m.ref}"`;
      ctx.report({ ...at, code: 'media-unreadable', message: `${where} ${problem}`, data: { ref: m.ref, target: res.target } });
    }
  }
  if (pending) ctx.facts.extra['volatile'] = true;
}

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function missingConsequence(target: Target): string {
  switch (target) {
    case 'minicpm-v':
      return "MiniCPM-V's loader swallows the error and silently trains on a random other sample.";
    case 'openai':
    case 'together':
      return 'the upload is rejected.';
    default:
      return 'trainers crash on it (MiniCPM-V silently trains on a random other sample), so fix the path or set tunekit.mediaRoot.';
  }
}

const KIND_LABEL: Record<MediaKind, string> = { image: 'an image', video: 'a video', audio: 'audio' };

/** Why a found medium cannot be used, or undefined when it can. */
function unreadableProblem(m: MediaRef, info: MediaInfo, kind: 'file' | 'data' | 'remote', api: boolean, apiName: string): string | undefined {
  if (info.status === 'unreadable') return `${info.problem ?? 'is not a supported image, video or audio file'}; the trainer fails to decode it.`;
  if (info.kind && info.kind !== m.kind) {
    return `is ${KIND_LABEL[info.kind]} (${(info.type ?? '').toUpperCase()}), not ${KIND_LABEL[m.kind]}; the ${m.kind} decoder fails on it.`;
  }
  if (kind === 'data') {
    const uri = parseDataUri(m.ref);
    const declared = uri?.mime.replace(/^image\/jpg$/, 'image/jpeg');
    if (declared && info.mime && declared !== info.mime) return `says ${uri!.mime} but holds ${info.mime}; decoders that trust the declared type fail on it.`;
  }
  if (api && m.kind === 'image') {
    if (info.type && !API_IMAGE_TYPES.has(info.type)) return `is ${info.type.toUpperCase()}; ${apiName} accepts only JPEG, PNG and WEBP images and rejects the file.`;
    if (info.size !== undefined && info.size > API_MAX_BYTES) return `is ${formatBytes(info.size)}; ${apiName} accepts images of at most 10 MB and rejects the file.`;
  }
  return undefined;
}

/** Trainers that take text-only and media records in one file (FORMATS.md, Media; Qwen-VL's loader has a text-only path). */
const ACCEPTS_MIXED: ReadonlySet<Target> = new Set(['llava', 'internvl', 'ms-swift', 'qwen-vl', 'openai', 'together']);

/**
 * `missing-modality`: text-only records in a file whose records otherwise carry media, or media
 * records in an otherwise text-only file. The minority side is reported (text-only on a tie).
 */
export const missingModalityRule: DatasetRule = {
  name: 'missingModality',
  codes: ['missing-modality'],
  check(summaries, ctx) {
    let withMedia = 0;
    let without = 0;
    for (const s of summaries) {
      const fact = s.extra[MODALITY_FACT] as ModalityFact | undefined;
      if (!fact) continue;
      if (fact.has) withMedia++;
      else without++;
    }
    const flagTextOnly = modalityToFlag(summaries, ctx, withMedia, without);
    if (flagTextOnly === undefined) return [];
    const out: DatasetIssue[] = [];
    for (const s of summaries) {
      const fact = s.extra[MODALITY_FACT] as ModalityFact | undefined;
      if (!fact || fact.has === flagTextOnly) continue;
      out.push(missingModalityIssue(s, fact, flagTextOnly, withMedia, without, ctx.settings.target));
    }
    return out;
  },
  incremental(ctx) {
    let withMedia = 0;
    let without = 0;
    // Both sides by group: the minority side is reported without reading the majority's records.
    const withMediaGroups = new Set<TrackedRecords>();
    const withoutGroups = new Set<TrackedRecords>();
    return {
      update(group, from, to) {
        const fact = group.facts.extra[MODALITY_FACT] as ModalityFact | undefined;
        if (!fact) return;
        if (fact.has) {
          withMedia += to - from;
          updateSet(withMediaGroups, group, from, to);
        } else {
          without += to - from;
          updateSet(withoutGroups, group, from, to);
        }
      },
      issues(view) {
        const { summaries } = view;
        const flagTextOnly = modalityToFlag(summaries, ctx, withMedia, without);
        if (flagTextOnly === undefined) return [];
        return positionsOf(view, flagTextOnly ? withoutGroups : withMediaGroups).map((p) => {
          const s = summaries[p]!;
          return missingModalityIssue(s, s.extra[MODALITY_FACT] as ModalityFact, flagTextOnly, withMedia, without, ctx.settings.target);
        });
      },
    };
  },
};

/** Which side `missing-modality` reports (true: the text-only records), or undefined when none. */
function modalityToFlag(summaries: readonly RecordSummary[], ctx: DatasetRuleContext, withMedia: number, without: number): boolean | undefined {
  if (withMedia === 0 || without === 0) return undefined;
  const target = ctx.settings.target;
  if (ACCEPTS_MIXED.has(target)) return undefined;
  // An OpenAI chat file is for OpenAI or Together, which take mixed files.
  if (target === 'generic' && dominantFormat(summaries) === 'openai') return undefined;
  return withMedia >= without;
}

function missingModalityIssue(s: RecordSummary, fact: ModalityFact, flagTextOnly: boolean, withMedia: number, without: number, target: Target): DatasetIssue {
  return {
    record: s.index,
    code: 'missing-modality',
    path: [],
    rel: fact.anchor,
    message: flagTextOnly
      ? `A text-only record in a file where ${withMedia} of ${withMedia + without} records carry media; ${textOnlyConsequence(target)}`
      : `A record with media in a file where ${without} of ${withMedia + without} records are text-only; check that the trainer is multimodal: ${textOnlyConsequence(target)}`,
    data: { withMedia, without },
  };
}

function textOnlyConsequence(target: Target): string {
  if (target === 'minicpm-v') return "MiniCPM-V's loader fails on it and silently trains on a random other sample instead.";
  return "MiniCPM-V's loader crashes or silently trains on a random other sample, Pixtral and some LLaMA-Factory DPO paths fail; LLaVA, InternVL and ms-swift accept mixed files.";
}
