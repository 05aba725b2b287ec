import { RequestType } from 'vscode-languageserver-protocol';

/**
 * Custom requests behind the sample preview and the image gallery webviews. The server answers
 * with plain data (records normalised to a chat, media with their resolved local paths); the
 * client turns paths into webview URIs and renders.
 */

import type { PreviewMedia, SamplePreview } from '../core/preview';

export type { PreviewMedia, PreviewMediaKind, PreviewPart, PreviewProblem, PreviewRole, PreviewTurn, SamplePreview } from '../core/preview';

export interface SamplePreviewParams {
  uri: string;
  /** Either a record index, or a position whose record is wanted (the cursor). */
  record?: number;
  position?: { line: number; character: number };
}

/** The record under the cursor (or at an index) as a chat; null when the document is not an open dataset. */
export const samplePreviewRequest = new RequestType<SamplePreviewParams, SamplePreview | null, void>('tunekit/samplePreview');

export type GalleryFilter = 'all' | 'problems';

export interface GalleryParams {
  uri: string;
  /** Index of the first image wanted, in file order. */
  offset: number;
  limit: number;
  filter: GalleryFilter;
}

export interface GalleryItem {
  record: number;
  line: number;
  media: PreviewMedia;
  /** The first words of the record's question. */
  caption: string;
}

export interface GalleryPage {
  uri: string;
  offset: number;
  /** Images matching the filter in the whole file. */
  total: number;
  /** Records with media problems (for the filter's label). */
  problemRecords: number;
  items: GalleryItem[];
}

/** One page of the image gallery; null when the document is not an open dataset. */
export const galleryRequest = new RequestType<GalleryParams, GalleryPage | null, void>('tunekit/gallery');
