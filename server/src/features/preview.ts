import { galleryPage, MEDIA_CODES, samplePreview, type GalleryRecord, type RecordFinding } from '../core/preview';
import type { Finding } from '../core/validator';
import { galleryRequest, samplePreviewRequest, type GalleryPage, type SamplePreview } from '../protocol/preview';
import { guarded, type Feature, type FeatureContext } from './context';
import { mediaServicesFor } from './media';
import { recordNear, recordText } from './records';
import type { DocumentState, ValidatedDocument } from './store';

/**
 * Answers the sample preview and gallery webviews (`tunekit/samplePreview`, `tunekit/gallery`)
 * from the document's last validation; the data is built in core/preview.ts.
 */

export const previewFeature: Feature = {
  name: 'preview',
  register: registerPreview,
};

/** The document's validation once the media probes it started have answered. */
async function settledResult(ctx: FeatureContext, uri: string): Promise<{ state: DocumentState; validated: ValidatedDocument } | undefined> {
  const probe = mediaServicesFor(ctx).mediaProbe;
  let answer = await ctx.store.getResult(uri);
  for (let round = 0; round < 3 && answer?.isDataset; round++) {
    await probe.settled();
    const again = await ctx.store.getResult(uri);
    if (!again?.isDataset || again.validated === answer.validated) return again?.isDataset ? again : undefined;
    answer = again;
  }
  return answer?.isDataset ? answer : undefined;
}

function findingsByRecord(findings: readonly Finding[]): Map<number, RecordFinding[]> {
  const out = new Map<number, RecordFinding[]>();
  for (const f of findings) {
    let list = out.get(f.record);
    if (!list) out.set(f.record, (list = []));
    list.push(f.data ? { code: f.code, severity: f.severity, message: f.message, data: f.data } : { code: f.code, severity: f.severity, message: f.message });
  }
  return out;
}

export function registerPreview(ctx: FeatureContext): void {
  const probe = mediaServicesFor(ctx).mediaProbe;

  ctx.connection.onRequest(samplePreviewRequest, (params) =>
    guarded(ctx, 'sample preview', () => null, async (): Promise<SamplePreview | null> => {
      const answer = await settledResult(ctx, params.uri);
      const document = ctx.documents.get(params.uri);
      if (!answer || !document) return null;
      const { summaries, findings } = answer.validated.result;
      if (summaries.length === 0) return null;
      let rec;
      if (params.record !== undefined) {
        const s = summaries[Math.max(0, Math.min(summaries.length - 1, params.record))]!;
        rec = recordText(document, s);
      } else {
        rec = recordNear(document, summaries, params.position ?? { line: 0, character: 0 });
      }
      if (!rec) return null;
      const mine = findings.filter((f) => f.record === rec.summary.index);
      return samplePreview(
        { uri: params.uri, record: rec.summary.index, line: rec.summary.line, records: summaries.length },
        rec.text,
        answer.state.validator.formatContext,
        probe,
        mine.map((f) => (f.data ? { code: f.code, severity: f.severity, message: f.message, data: f.data } : { code: f.code, severity: f.severity, message: f.message })),
      );
    }),
  );

  ctx.connection.onRequest(galleryRequest, (params) =>
    guarded(ctx, 'gallery', () => null, async (): Promise<GalleryPage | null> => {
      const answer = await settledResult(ctx, params.uri);
      const document = ctx.documents.get(params.uri);
      if (!answer || !document) return null;
      const { summaries, findings } = answer.validated.result;
      const byRecord = findingsByRecord(findings);
      const records: GalleryRecord[] = summaries.map((s) => ({
        index: s.index,
        line: s.line,
        images: s.media.image,
        hasProblem: (byRecord.get(s.index) ?? []).some((f) => MEDIA_CODES.has(f.code)),
      }));
      const page = galleryPage({
        records,
        offset: Math.max(0, params.offset),
        limit: Math.min(500, Math.max(0, params.limit)),
        filter: params.filter,
        read: (r) => ({ text: recordText(document, summaries[r.index]!).text, findings: byRecord.get(r.index) ?? [] }),
        ctx: answer.state.validator.formatContext,
        probe,
      });
      return { uri: params.uri, offset: params.offset, ...page };
    }),
  );
}
