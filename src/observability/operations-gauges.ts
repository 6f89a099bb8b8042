// Gauges of state an operator watches, read from PostgreSQL when Prometheus scrapes: accounts by status (those in
// `reauth_required` stop every post to them until someone reconnects), publications waiting for a quota or a breaker,
// and webhook receivers by status (a disabled one gets no more events). The same totals on every worker: alert rules take max() across them.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { OperationsCountsRepository, StatusCount } from '../db/operations-counts-repo';

const QUERY_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function registerOperationsGauges(registry: Registry, repo: OperationsCountsRepository, logger: Logger): void {
  const gauge = (name: string, help: string, labelNames: string[], read: () => Promise<StatusCount[]>, labels: (c: StatusCount) => Record<string, string>) => {
    if (registry.getSingleMetric(name)) return;
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        // A slow or absent database leaves the gauge empty for this scrape rather than failing the scrape.
        const counts = await withTimeout(read(), QUERY_TIMEOUT_MS).catch((err: unknown) => {
          logger.warn({ err, metric: name }, 'metrics: not counted');
          return null;
        });
        this.reset();
        for (const c of counts ?? []) this.set(labels(c), c.count);
      },
    });
  };
  gauge('herald_accounts', 'Connected accounts by tenant, platform and status (active, reauth_required, disabled)', ['tenant', 'platform', 'status'], repo.accounts, (c) => ({
    tenant: c.tenantId,
    platform: c.platform ?? '',
    status: c.status,
  }));
  gauge('herald_publications_waiting', 'Publications waiting for a quota or a circuit breaker (status waiting), by tenant and platform', ['tenant', 'platform'], repo.waitingPublications, (c) => ({
    tenant: c.tenantId,
    platform: c.platform ?? '',
  }));
  gauge('herald_webhook_receivers', 'Webhook receivers (subscriptions) by tenant and status (active, disabled)', ['tenant', 'status'], repo.webhookReceivers, (c) => ({
    tenant: c.tenantId,
    status: c.status,
  }));
}
