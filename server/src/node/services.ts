import type { RuleServices } from '../core/rules';
import { NodeMediaProbe, type NodeMediaProbeOptions } from './mediaProbe';

/** The services the Node processes (CLI, language server, tests) inject into the core. */
export interface NodeServices extends RuleServices {
  mediaProbe: NodeMediaProbe;
}

/** A fresh set of services: one media probe with its own cache. */
export function defaultServices(opts: { mediaProbe?: NodeMediaProbeOptions } = {}): NodeServices {
  return { mediaProbe: new NodeMediaProbe(opts.mediaProbe) };
}

/** Something that can wait for background work started during analysis (the media probe). */
export function settlerOf(services: RuleServices | undefined): (() => Promise<void>) | undefined {
  const probe = services?.['mediaProbe'] as { settled?: () => Promise<void> } | undefined;
  return typeof probe?.settled === 'function' ? () => probe.settled!() : undefined;
}
