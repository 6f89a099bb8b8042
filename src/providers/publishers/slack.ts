// Slack incoming webhooks: POST <webhook url> {text}. The URL is the secret; Slack answers 200 "ok".
import { JSON_HEADERS, joinParts, partLabel } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, postWebhookJson, redactWebhookUrl, webhookUrlFrom } from './webhook-errors';

export interface SlackPublisherConfig {
  /** Per-request timeout; 10 s by default. */
  timeoutMs?: number;
}

const LABEL = 'slack webhook';

function requests(input: PublishInput, url: string): PreparedRequest[] {
  // Slack takes up to 40,000 characters in one message, so a thread becomes one message with its parts separated.
  return [
    {
      method: 'POST',
      url,
      headers: { ...JSON_HEADERS },
      body: { text: joinParts(input.parts) },
      note: `${partLabel(0, 1, 'message')} to the Slack incoming webhook`,
    },
  ];
}

export function createSlackPublisher(config: SlackPublisherConfig = {}): Publisher {
  const timeoutMs = config.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  return {
    platform: 'slack',
    preview(input: PublishInput): PreparedRequest[] {
      return requests(input, redactWebhookUrl(input.credentials?.url));
    },
    async publish(input: PublishInput): Promise<PublishResult> {
      const url = webhookUrlFrom('slack', LABEL, input);
      for (const req of requests(input, url.href)) {
        await postWebhookJson('slack', LABEL, url, req.headers, req.body, timeoutMs);
      }
      // Slack's webhook answers only "ok": there is no message id to return.
      return { externalId: input.idempotencyKey, url: null };
    },
  };
}
