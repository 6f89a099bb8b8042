import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import { PLATFORMS } from '../../domain/types';
import { durationString } from './common';
import { approveBodySchema, rejectBodySchema } from './pipeline';

export const MIN_REVIEW_LINK_MS = 1000;
export const MAX_REVIEW_LINK_MS = 30 * 86_400_000;

export const reviewLinkBodySchema = z
  .strictObject({
    expiresIn: durationString
      .refine((text) => {
        const ms = parseDuration(text);
        return ms !== null && ms >= MIN_REVIEW_LINK_MS && ms <= MAX_REVIEW_LINK_MS;
      }, 'expiresIn must be between 1s and 30d')
      .optional()
      .describe('How long the link works; default REVIEW_LINK_TTL (72h), never past the approval deadline'),
  })
  .default({});

export const reviewLinkResponseSchema = z.object({
  url: z.string().describe('`<PUBLIC_BASE_URL>/review/<token>`: open it in a browser, no API key needed'),
  expiresAt: z.string().describe('ISO 8601, UTC'),
});

export const reviewTokenParams = z.object({ token: z.string().min(1).max(1000) });

/** Form fields of the approve form: one per editable text. A field left as shown (or a variant left empty) is no edit. */
export const variantField = (platform: string) => `variants.${platform}`;
const variantFields = Object.fromEntries(PLATFORMS.map((p) => [variantField(p), z.string().max(70_000).optional()]));

/**
 * JSON callers send `{edits}` exactly as POST /v1/pipelines/{id}/approve takes it; the page's form sends flat fields
 * (title, body, variants.<platform>), pre-filled with the current text, of which only the changed ones are edits.
 */
export const reviewApproveBodySchema = z
  .strictObject({
    edits: approveBodySchema.unwrap().shape.edits,
    title: z.string().max(500).optional(),
    body: z.string().max(20_000).optional(),
    ...variantFields,
  })
  .refine((b) => b.edits === undefined || Object.keys(b).length === 1, { message: 'send either edits (JSON) or the form fields, not both', path: ['edits'] })
  .default({});

export const reviewRejectBodySchema = rejectBodySchema;

export const reviewDecisionResponseSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  edited: z.boolean(),
  decidedAt: z.string().nullable(),
});

const html = { schema: z.string().describe('An HTML page') };

/** The reviewer's page: HTML only. */
export const reviewPageSchema = { description: "The reviewer's page", content: { 'text/html': html } };

const refusal = z.object({
  error: z.object({
    code: z.enum(['not_found', 'gone']),
    message: z.string(),
    details: z.array(z.object({ reason: z.enum(['invalid', 'expired', 'decided', 'content_changed', 'closed']) })),
  }),
});
export const reviewRefusalSchema = refusal.describe('A refused link: 404 invalid (malformed, tampered, unknown); 410 expired, decided, content_changed or closed');

/** What a decision answers: JSON, or a page for a browser (Accept). */
export const reviewDecisionAnswer = {
  description: 'The decision: JSON, or a page when Accept prefers text/html',
  content: { 'application/json': { schema: reviewDecisionResponseSchema }, 'text/html': html },
};
/** A refused link: JSON, or a page when Accept prefers text/html. */
export const reviewRefusalAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: reviewRefusalSchema }, 'text/html': html },
});
