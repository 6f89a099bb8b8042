// Discord webhooks: POST <webhook url> {content} (2000 characters). Answers 204; 429 carries `retry_after` seconds.
import { JSON_HEADERS, joinParts, partLabel } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, postWebhookJson, redactWebhookUrl, webhookUrlFrom } from './webhook-errors';

export const DISCORD_CONTENT_LIMIT = 2000;

export interface DiscordPublisherConfig {
  /** Per-request timeout; 10 s by default. */
  timeoutMs?: number;
}

const LABEL = 'discord webhook';

/** One message when the parts fit in 2000 characters together, else one message per part. */
export function discordMessages(parts: string[]): string[] {
  const joined = joinParts(parts);
  if ([...joined].length <= DISCORD_CONTENT_LIMIT) return [joined];
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function requests(input: PublishInput, url: string): PreparedRequest[] {
  const messages = discordMessages(input.parts);
  return messages.map((content, i) => ({
    method: 'POST' as const,
    url,
    headers: { ...JSON_HEADERS },
    // Generated text must never ping @everyone, roles or users.
    body: { content, allowed_mentions: { parse: [] } },
    note: `${partLabel(i, messages.length, 'message')} to the Discord webhook`,
  }));
}

export function createDiscordPublisher(config: DiscordPublisherConfig = {}): Publisher {
  const timeoutMs = config.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  return {
    platform: 'discord',
    preview(input: PublishInput): PreparedRequest[] {
      return requests(input, redactWebhookUrl(input.credentials?.url));
    },
    async publish(input: PublishInput): Promise<PublishResult> {
      const url = webhookUrlFrom('discord', LABEL, input);
      for (const req of requests(input, url.href)) {
        await postWebhookJson('discord', LABEL, url, req.headers, req.body, timeoutMs);
      }
      return { externalId: input.idempotencyKey, url: null };
    },
  };
}
