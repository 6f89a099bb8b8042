// The list's summaries (GET /v1/pipelines without view=full), each kept as the JSON text the route's serializer wrote
// for it, under the row version it was written from. A page of 100 meant reading 100 list_items through the pg
// driver's JSON parse, presenting them, zod's encode, the dropped-field walk and JSON.stringify, all on the API's event
// loop, which concurrent readers queue behind; pipelines change little once written, and the same pages (the newest
// first) are read again and again. Now a page reads only each row's id, time and version, and the items it has not
// written since their row last changed.
//
// The version is the row's xmin: PostgreSQL gives every new version of a row (any UPDATE, whatever code or person
// runs it) a new one, so a text is never reused for a row that changed since. Texts are kept per tenant and id and
// only as the usual path wrote them (an item that path refuses is never kept: it fails again, as before).
import type { ListFilter, PipelineRepository, PipelineSummaryRow } from '../db/pipelines-repo';

/** The newest texts, at most `max` (least recently used out first). */
export class SummaryTexts {
  private readonly texts = new Map<string, string>();

  constructor(private readonly max: number) {}

  get(key: string): string | undefined {
    const text = this.texts.get(key);
    if (text !== undefined) {
      this.texts.delete(key);
      this.texts.set(key, text);
    }
    return text;
  }

  set(key: string, text: string): void {
    this.texts.delete(key);
    this.texts.set(key, text);
    while (this.texts.size > this.max) this.texts.delete(this.texts.keys().next().value!);
  }

  get size(): number {
    return this.texts.size;
  }
}

const keyOf = (tenantId: string, id: string, rev: string) => `${tenantId}\u0000${id}\u0000${rev}`;

/**
 * A page of summaries as JSON texts, newest first: kept texts for the rows that did not change since they were written,
 * `write` (presentation and the response schema) for the others. A row gone between the page's two reads (pipelines
 * are deleted only before they start) is left out.
 */
export async function summaryPage(
  pipelines: Pick<PipelineRepository, 'listSummaryVersions' | 'summariesOf'>,
  texts: SummaryTexts,
  tenantId: string,
  filter: ListFilter,
  write: (row: PipelineSummaryRow) => string,
): Promise<{ items: string[]; next: { createdAt: string; id: string } | null }> {
  const page = await pipelines.listSummaryVersions(tenantId, filter);
  const out: (string | undefined)[] = page.items.map((r) => texts.get(keyOf(tenantId, r.id, r.rev)));
  const missing = page.items.filter((_, i) => out[i] === undefined).map((r) => r.id);
  if (missing.length) {
    const rows = new Map((await pipelines.summariesOf(tenantId, missing)).map((r) => [r.id, r]));
    page.items.forEach((r, i) => {
      if (out[i] !== undefined) return;
      const row = rows.get(r.id);
      if (!row) return;
      const text = write(row);
      texts.set(keyOf(tenantId, row.id, row.rev), text);
      out[i] = text;
    });
  }
  return { items: out.filter((t): t is string => t !== undefined), next: page.next };
}
