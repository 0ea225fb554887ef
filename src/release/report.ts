// One run's report: its models document plus the model it was compared with at gate time, as
// HTML. Shared by `recsys report` and GET /v1/models/{id}/report so both show the same page.

import type { ModelDoc } from '../repositories/models.ts';
import { renderModelReport } from '../report/index.ts';

/** Where the admin API serves a model's report (listings and documents link to it). */
export function reportUrl(modelId: string): string {
  return `/v1/models/${encodeURIComponent(modelId)}/report`;
}

/**
 * The report of `modelId`, or undefined when no such model exists. The previous live model is
 * the one the gate compared with (gate.live_model_id); a document that is gone since (keep-N
 * does not delete documents, but an operator may) just leaves that column out.
 */
export async function modelReport(
  getModel: (id: string) => Promise<ModelDoc | undefined>,
  modelId: string,
  now = new Date(),
): Promise<string | undefined> {
  const model = await getModel(modelId);
  if (!model) return undefined;
  const previousId = model.gate?.live_model_id;
  const previous = previousId && previousId !== modelId ? await getModel(previousId) : undefined;
  return renderModelReport({ model, previous, generatedAt: now.toISOString() });
}
