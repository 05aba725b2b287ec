import { statsRequest, statusNotification, type ProblemCounts, type StatusParams } from '../protocol/status';
import { guarded, type Feature, type FeatureContext } from './context';
import type { DocumentState } from './store';

/**
 * Tells the client what each validation found (`tunekit/status`, shown in a language status item)
 * and answers `tunekit/stats` with a document validator's work counters.
 */
export const statusFeature: Feature = {
  name: 'status',
  register: registerStatus,
};

export function registerStatus(ctx: FeatureContext): void {
  const send = (status: StatusParams): void => {
    ctx.connection.sendNotification(statusNotification, status).catch((err: unknown) => {
      ctx.connection.console.warn(`Tunekit: could not send the status of ${status.uri}: ${String(err)}`);
    });
  };
  ctx.store.onDidValidate((state) => send(statusOf(state)));
  ctx.store.onDidStopBeingDataset((uri) =>
    send({ uri, isDataset: false, records: 0, problems: { error: 0, warning: 0, info: 0, hint: 0 }, truncated: false, ms: 0 }),
  );

  ctx.connection.onRequest(statsRequest, (params) =>
    guarded(ctx, 'stats', () => null, async () => {
      // Validate first, so the counters include the document's current version.
      const answer = await ctx.store.getResult(params.uri);
      if (!answer?.isDataset) return null;
      const { validator, validations } = answer.state;
      return { ...validator.counters, validations };
    }),
  );
}

export function statusOf(state: DocumentState): StatusParams {
  const problems: ProblemCounts = { error: 0, warning: 0, info: 0, hint: 0 };
  const last = state.lastResult;
  for (const f of last?.result.findings ?? []) problems[f.severity]++;
  const status: StatusParams = {
    uri: state.uri,
    isDataset: true,
    records: last?.result.records ?? 0,
    problems,
    truncated: last?.result.truncated ?? false,
    ms: Math.round((last?.ms ?? 0) * 10) / 10,
  };
  if (last?.result.format) status.format = last.result.format;
  if (state.error) status.error = state.error;
  return status;
}
