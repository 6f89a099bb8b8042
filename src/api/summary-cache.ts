// The list's summaries (GET /v1/pipelines without view=full), each kept as the JSON text the route's response schema
// wrote for it, under the row version it was written from. A page of 100 meant the pg driver's JSON parse of 100
// list_items, presenting them, zod's encode, the dropped-field walk and JSON.stringify, all on the API's event loop,
// which concurrent readers queue behind; yet pipelines change little once written, and the same pages (the newest
// first) are read again and again. Now a page is one query as before, its items read as text: the rows that did not
// change since their text was written are not parsed, presented or serialized again.
//
// The version is the row's xmin: PostgreSQL gives every new version of a row (any UPDATE, whatever code or person
// runs it) a new one, so a text is never reused for a row that changed since (with the state's version beside it, so
// even an xmin seen again after 4 billion transactions would not be taken for the old one while the state moved on).
// Texts are kept per tenant and id, only as the usual path wrote them (a page that path refuses is answered as
// before, and nothing of it is kept).
import type { ListFilter, PipelineListItem, PipelineRepository, PipelineSummaryRow } from '../db/pipelines-repo';

/** The most recently used texts, at most `max` (least recently used out first). */
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
 * A page of summaries as JSON texts, newest first: kept texts for the rows that did not change since they were
 * written, `write` (presentation and the response schema, one call for all the others) for the rest.
 */
export async function summaryPage(
  pipelines: Pick<PipelineRepository, 'listSummaryTexts'>,
  texts: SummaryTexts,
  tenantId: string,
  filter: ListFilter,
  write: (rows: PipelineSummaryRow[]) => string[],
): Promise<{ items: string[]; next: { createdAt: string; id: string } | null }> {
  const page = await pipelines.listSummaryTexts(tenantId, filter);
  const items = page.items.map((r) => texts.get(keyOf(tenantId, r.id, r.rev)));
  const missing = page.items.filter((_, i) => items[i] === undefined);
  if (missing.length) {
    const written = write(
      missing.map((r) => ({ id: r.id, workflowId: r.workflowId, createdAt: r.createdAt, item: (r.itemText === null ? null : JSON.parse(r.itemText)) as PipelineListItem })),
    );
    missing.forEach((r, i) => texts.set(keyOf(tenantId, r.id, r.rev), written[i]));
    let next = 0;
    for (let i = 0; i < items.length; i++) if (items[i] === undefined) items[i] = written[next++];
  }
  return { items: items as string[], next: page.next };
}
