import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DidChangeWatchedFilesNotification } from 'vscode-languageserver/node';
import { defaultServices, type NodeServices } from '../node/services';
import { guarded, type Feature, type FeatureContext } from './context';

/**
 * The media probe in the language server: one probe (one cache) for every open dataset. When a
 * batch of probes finishes, or a watched media file changes, the affected validations are dropped
 * and the client is asked to pull diagnostics again, so a missing image's error clears as soon as
 * the file appears.
 */

const MEDIA_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'heic', 'avif', 'mp4', 'mov', 'avi', 'mkv', 'webm', 'mp3', 'wav', 'flac', 'ogg', 'm4a', 'aac'];
/** Glob of the media files the client watches for us (both cases: globs are case-sensitive on Linux). */
export const MEDIA_GLOB = `**/*.{${[...MEDIA_EXTENSIONS, ...MEDIA_EXTENSIONS.map((e) => e.toUpperCase())].join(',')}}`;

const servicesByContext = new WeakMap<FeatureContext, NodeServices>();

/** The server's media services (created on first use), shared by validation, hover and preview. */
export function mediaServicesFor(ctx: FeatureContext): NodeServices {
  let services = servicesByContext.get(ctx);
  if (!services) {
    services = defaultServices();
    servicesByContext.set(ctx, services);
  }
  return services;
}

export const mediaFeature: Feature = {
  name: 'media',
  register: registerMedia,
};

export function registerMedia(ctx: FeatureContext): void {
  const services = mediaServicesFor(ctx);
  ctx.store.provideServices(() => services);

  // Records waiting for a probe were not cached; a new generation makes the client's next pull
  // re-validate them with the answers now in the probe's cache.
  services.mediaProbe.onDidChange(() => {
    ctx.store.invalidate(() => false);
    ctx.store.refresh();
  });

  ctx.events.onInitialized(() => {
    if (!ctx.client.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration) return;
    void guarded(ctx, 'media file watcher registration', () => undefined, async () => {
      await ctx.connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: MEDIA_GLOB }] });
    });
  });

  ctx.events.onDidChangeWatchedFiles((params) => {
    const paths: string[] = [];
    for (const change of params.changes) {
      if (!change.uri.startsWith('file:')) continue;
      try {
        paths.push(fileURLToPath(change.uri));
      } catch {
        // Not a local file: nothing of ours is cached for it.
      }
    }
    if (paths.length === 0 || !services.mediaProbe.invalidate(paths)) return;
    // Only records that mention a changed file's name can change (names JSON may escape: all records).
    const names = paths.map((p) => path.basename(p)).filter((n) => n.length > 0);
    if (names.every((n) => /^[\x20-\x7e]+$/.test(n) && !/["\\/]/.test(n))) ctx.store.invalidate((text) => names.some((n) => text.includes(n)));
    else ctx.store.invalidate();
    ctx.store.refresh();
  });
}
