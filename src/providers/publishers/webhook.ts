// Generic webhooks: POST <url> with the whole piece as JSON and an Idempotency-Key header. The URL is the secret.
import { JSON_HEADERS, joinParts } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';
import { parseJson } from '../http';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, postWebhookJson, redactWebhookUrl, webhookUrlFrom } from './webhook-errors';

export interface WebhookPublisherConfig {
  /** Per-request timeout; 10 s by default. */
  timeoutMs?: number;
}

const LABEL = 'webhook';

function request(input: PublishInput, url: string): PreparedRequest {
  return {
    method: 'POST',
    url,
    headers: { ...JSON_HEADERS, 'Idempotency-Key': input.idempotencyKey },
    body: {
      idempotencyKey: input.idempotencyKey,
      platform: input.platform,
      title: input.title,
      parts: input.parts,
      text: joinParts(input.parts),
      images: input.images.map((img) => ({ id: img.id, url: img.url, alt: img.alt, contentType: img.contentType })),
    },
    note: 'the whole piece as JSON to the webhook',
  };
}

export function createWebhookPublisher(config: WebhookPublisherConfig = {}): Publisher {
  const timeoutMs = config.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  return {
    platform: 'webhook',
    preview(input: PublishInput): PreparedRequest[] {
      return [request(input, redactWebhookUrl(input.credentials?.url))];
    },
    async publish(input: PublishInput): Promise<PublishResult> {
      const url = webhookUrlFrom('webhook', LABEL, input);
      const req = request(input, url.href);
      const res = await postWebhookJson('webhook', LABEL, url, req.headers, req.body, timeoutMs);
      const json = parseJson(res.text) as { id?: unknown } | undefined;
      const id = json && typeof json === 'object' ? json.id : undefined;
      const externalId = typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : input.idempotencyKey;
      return { externalId, url: null };
    },
  };
}
