// Review links: POST /v1/pipelines/{id}/review-link (with an API key) makes a signed link; /review/{token} (without
// one) shows the reviewer the pipeline and lets them approve, with edits, or reject, once.
//
// Links are stateless. "Approves once" holds without a table: a link only works while its pipeline awaits a decision
// and while the content is the version it was made for, and the workflow's approve/reject Update validator lets exactly
// one decision through, so after any decision every link of that pipeline is refused. The content version is a hash
// of what the reviewer sees, not the state's `version` (which also moves on reschedules and publication updates).
//
// Refusals: 404 for a link that is not one of ours (malformed, tampered with, signed with another key, for a pipeline
// that does not exist); 410 for a real link that no longer works (expired, decided, content changed, pipeline closed).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { parseDuration } from '../../domain/duration';
import { contentVersion, newLinkId, signReviewToken, verifyReviewToken, type ReviewClaims } from '../../domain/review-token';
import { PLATFORMS, type ApprovalEdits, type PipelineState, type Platform } from '../../domain/types';
import type { PipelineRow } from '../../db/pipelines-repo';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { approvePipeline, rejectPipeline } from '../review/decisions';
import { REVIEW_PAGE_CSP, renderMessagePage, renderReviewPage, type FieldProblem } from '../review/page';
import { errorResponse } from '../schemas/common';
import { idParams } from '../schemas/pipeline';
import {
  reviewApproveBodySchema,
  reviewDecisionAnswer,
  reviewLinkBodySchema,
  reviewLinkResponseSchema,
  reviewPageSchema,
  reviewRefusalAnswer,
  reviewRejectBodySchema,
  reviewTokenParams,
  variantField,
} from '../schemas/review';

export const reviewLinkRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.post(
    '/pipelines/:id/review-link',
    {
      schema: {
        operationId: 'createReviewLink',
        tags: ['review'],
        summary: 'A signed, expiring link for a reviewer without an API key',
        description:
          'Only while the pipeline is awaiting_approval (else 409). The link is bound to this pipeline and to its current content; it stops working after a decision, at expiresAt, or as soon as the content changes.',
        params: idParams,
        body: reviewLinkBodySchema,
        response: { 201: reviewLinkResponseSchema, 400: errorResponse, 401: errorResponse, 404: errorResponse, 409: errorResponse },
      },
    },
    async (request, reply) => {
      const row = await deps.pipelines.get(request.tenantId, request.params.id);
      if (!row) throw notFound(`pipeline ${request.params.id}`);
      if (row.status !== 'awaiting_approval' || row.state.approval?.decision) {
        throw new HttpError('conflict', `pipeline is ${row.state.approval?.decision ?? row.status}; a review link can only be made while it is awaiting_approval`);
      }
      const now = Date.now();
      let expiresAt = now + (request.body.expiresIn ? parseDuration(request.body.expiresIn)! : deps.config.reviewLinkTtlMs);
      // A link that outlives the approval deadline could never be used after it: it ends there.
      const deadline = row.state.approval?.deadline ? Date.parse(row.state.approval.deadline) : null;
      if (deadline !== null) expiresAt = Math.min(expiresAt, deadline);
      if (expiresAt <= now) throw new HttpError('conflict', 'the approval deadline has passed');
      const token = signReviewToken(deps.reviewLinkKey, {
        pipelineId: row.id,
        tenantId: row.tenantId,
        contentVersion: contentVersion(row.state),
        expiresAt,
        linkId: newLinkId(),
      });
      return reply.status(201).send({ url: `${deps.config.publicBaseUrl.replace(/\/+$/, '')}/review/${token}`, expiresAt: new Date(expiresAt).toISOString() });
    },
  );
};

type Refusal = { status: 404 | 410; reason: 'invalid' | 'expired' | 'decided' | 'content_changed' | 'closed'; heading: string; message: string };
type Opened = { ok: true; claims: ReviewClaims; row: PipelineRow } | ({ ok: false } & Refusal);

const INVALID: Refusal = {
  status: 404,
  reason: 'invalid',
  heading: 'This review link is not valid',
  message: 'Check that the whole link was copied, or ask the person who sent it for a new one.',
};

function decidedMessage(state: PipelineState): string {
  const a = state.approval;
  if (a?.decision === 'timed_out') return 'No decision came before the approval deadline, so this link no longer works.';
  const when = a?.decidedAt ? ` at ${a.decidedAt.slice(0, 16).replace('T', ' ')} UTC` : '';
  return `This content was already ${a?.decision ?? 'decided'}${when}. A review link decides once.`;
}

/** Why a real link for this state no longer works, or null while it does. */
function refusalFor(state: PipelineState, claims: ReviewClaims): Refusal | null {
  if (contentVersion(state) !== claims.contentVersion) {
    const why = state.approval?.decision === 'approved' ? ' (it was approved with edits)' : '';
    return { status: 410, reason: 'content_changed', heading: 'The content changed', message: `The content changed after this link was made${why}, so it no longer approves anything. Ask for a new link.` };
  }
  if (state.approval?.decision) return { status: 410, reason: 'decided', heading: 'Already decided', message: decidedMessage(state) };
  if (state.status !== 'awaiting_approval') {
    return { status: 410, reason: 'closed', heading: 'No longer waiting for approval', message: `This pipeline is ${state.status}; there is nothing left to approve.` };
  }
  return null;
}

/**
 * Whether a refusal or a decision is answered as a page. Browsers name text/html in Accept (every navigation and
 * form post does); anything else gets JSON in the contract's shape, except a form post that states no preference.
 */
function wantsHtml(request: FastifyRequest, fallback: boolean): boolean {
  let html = -1;
  let json = -1;
  for (const item of (request.headers.accept ?? '').split(',')) {
    const [type, ...params] = item.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) || 0 : 1;
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q);
    else if (type === 'application/json') json = Math.max(json, q);
  }
  if (html === json) return fallback;
  return html > json;
}

const isFormPost = (request: FastifyRequest) => (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

function sendHtml(reply: FastifyReply, status: number, html: string) {
  return reply.status(status).type('text/html; charset=utf-8').serializer((payload: unknown) => payload as string).send(html);
}

function refuse(reply: FastifyReply, html: boolean, r: Refusal) {
  if (html) return sendHtml(reply, r.status, renderMessagePage(r.heading, r.message));
  return reply.status(r.status).send({ error: { code: r.status === 404 ? 'not_found' : 'gone', message: `${r.heading}: ${r.message}`, details: [{ reason: r.reason }] } });
}

/**
 * Where the page shows each of the workflow's reasons for refusing an edit. reviewEdits words every reason as
 * `<field or platform>: ...`; a platform's reason belongs to its own text when the reviewer gave one, else to the body.
 */
function placeReasons(reasons: string[], edits: ApprovalEdits): FieldProblem[] {
  return reasons.map((message) => {
    const head = message.split(':', 1)[0];
    if (head === 'title' || head === 'body') return { field: head, message };
    if ((PLATFORMS as readonly string[]).includes(head)) {
      if (edits.variants?.[head as Platform] !== undefined) return { field: `variant-${head}`, message };
      if (edits.body !== undefined) return { field: 'body', message };
    }
    return { field: 'form', message };
  });
}

type ApproveBody = Record<string, string | undefined> & { edits?: ApprovalEdits };

/** The page's fields as edits: a title or body left as shown, and an empty platform text, change nothing. */
function editsFromForm(body: ApproveBody, state: PipelineState): ApprovalEdits | undefined {
  // Browsers send a textarea's line breaks as CRLF.
  const text = (v: string) => v.replace(/\r\n?/g, '\n');
  const edits: ApprovalEdits = {};
  if (body.title !== undefined && text(body.title) !== state.content?.title) edits.title = text(body.title);
  if (body.body !== undefined && text(body.body) !== state.content?.body) edits.body = text(body.body);
  for (const platform of PLATFORMS) {
    const own = body[variantField(platform)];
    if (own !== undefined && own.trim() !== '') edits.variants = { ...edits.variants, [platform]: text(own) };
  }
  return Object.keys(edits).length ? edits : undefined;
}

export const reviewPageRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const basePath = new URL(deps.config.publicBaseUrl).pathname.replace(/\/+$/, '');
  const log = deps.logger.child({ component: 'review-link' });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // Every answer here, page or error: never cached (it holds a capability), never framed, never sent on as a Referer.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('content-security-policy', REVIEW_PAGE_CSP);
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    return payload;
  });

  const open = async (token: string): Promise<Opened> => {
    const check = verifyReviewToken(deps.reviewLinkKey, token, Date.now());
    if (!check.ok && check.reason !== 'expired') return { ok: false, ...INVALID };
    const claims = check.ok ? check.claims : (check as { claims: ReviewClaims }).claims;
    if (!check.ok) {
      const at = new Date(claims.expiresAt).toISOString().slice(0, 16).replace('T', ' ');
      return { ok: false, status: 410, reason: 'expired', heading: 'This review link has expired', message: `It worked until ${at} UTC. Ask the person who sent it for a new one.` };
    }
    const row = await deps.pipelines.get(claims.tenantId, claims.pipelineId);
    if (!row) return { ok: false, ...INVALID };
    const refusal = refusalFor(row.state, claims);
    return refusal ? { ok: false, ...refusal } : { ok: true, claims, row };
  };

  /** The link a decision was posted to, checked: null when its refusal has been sent. */
  const openForDecision = async (request: FastifyRequest, reply: FastifyReply) => {
    const html = wantsHtml(request, isFormPost(request));
    // Bad input is answered first, as on every route; only a browser's form with a bad field gets its page back.
    const invalid = request.validationError;
    if (invalid && (!html || invalid.validationContext !== 'body')) throw invalid;
    const { token } = request.params as { token: string };
    const opened = await open(token);
    if (opened.ok) return { html, token, claims: opened.claims, row: opened.row };
    await refuse(reply, html, opened);
    return null;
  };

  const page = (token: string, claims: ReviewClaims, state: PipelineState, extra: { values?: Parameters<typeof renderReviewPage>[0]['values']; problems?: FieldProblem[] } = {}) =>
    renderReviewPage({
      state,
      approveAction: `${basePath}/review/${token}/approve`,
      rejectAction: `${basePath}/review/${token}/reject`,
      linkExpiresAt: new Date(claims.expiresAt).toISOString(),
      ...extra,
    });

  /**
   * A decision that did not go through. One that lost a race (another link, the API, the deadline) is answered as a
   * link already used; Temporal away or slow is a 503 that a person can act on (the same post later will work).
   */
  const notDecided = async (err: unknown, claims: ReviewClaims, html: boolean, reply: FastifyReply) => {
    if (err instanceof HttpError && err.code === 'unavailable' && html) {
      reply.header('retry-after', String(err.retryAfterSeconds ?? 5));
      return sendHtml(reply, 503, renderMessagePage('Not decided yet', 'Herald could not confirm your decision just now. Open the link again in a minute: it shows whether the decision was made, and if not, you can send it again.'));
    }
    if (!(err instanceof HttpError && err.code === 'conflict')) throw err;
    const row = await deps.pipelines.get(claims.tenantId, claims.pipelineId);
    return refuse(reply, html, (row && refusalFor(row.state, claims)) ?? { status: 410, reason: 'decided', heading: 'Already decided', message: err.message });
  };

  const common = { tags: ['review'], security: [], params: reviewTokenParams };
  const refusals = { 404: reviewRefusalAnswer('Not a link Herald made (reason invalid)'), 410: reviewRefusalAnswer('A real link that no longer works (reason expired, decided, content_changed or closed)') };
  // The URL holds the link's token: request logging (which would write the URL) stays off for these routes.
  const quiet = { logLevel: 'warn' as const };

  app.get(
    '/review/:token',
    {
      ...quiet,
      schema: {
        ...common,
        operationId: 'reviewPage',
        summary: "The reviewer's page (HTML; no API key)",
        description: 'Title, body, hashtags, images and every platform variant, with an approve form (optional edits) and a reject form. With Accept: application/json a refused link answers JSON.',
        response: { 200: reviewPageSchema, ...refusals },
      },
    },
    async (request, reply) => {
      const html = wantsHtml(request, false);
      const opened = await open(request.params.token);
      if (!opened.ok) return refuse(reply, html, opened);
      return sendHtml(reply, 200, page(request.params.token, opened.claims, opened.row.state));
    },
  );

  app.post(
    '/review/:token/approve',
    {
      ...quiet,
      attachValidation: true,
      schema: {
        ...common,
        operationId: 'reviewApprove',
        summary: 'Approve through a review link, optionally with edits',
        description:
          'Form post (application/x-www-form-urlencoded: title, body, variants.<platform>) or JSON ({edits} as in POST /v1/pipelines/{id}/approve). Edits are validated exactly as there: 422 with the reasons (the page shows them next to the fields). Answers a page or JSON by Accept.',
        body: reviewApproveBodySchema,
        response: { 200: reviewDecisionAnswer, 400: errorResponse, ...refusals, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const opened = await openForDecision(request, reply);
      if (!opened) return reply;
      const { html, token, claims, row } = opened;
      const body = (request.body ?? {}) as ApproveBody;
      if (request.validationError) {
        const problems = [{ field: 'form', message: request.validationError.message }];
        return sendHtml(reply, 400, page(token, claims, row.state, { problems }));
      }
      const edits = body.edits ?? editsFromForm(body, row.state);
      let state: PipelineState;
      try {
        state = await approvePipeline(deps.temporal, row, edits, 'review_link');
      } catch (err) {
        if (err instanceof HttpError && err.code === 'unprocessable' && html) {
          const reasons = err.details.length ? err.details.map(String) : [err.message];
          const values = { title: edits?.title, body: edits?.body, variants: edits?.variants };
          return sendHtml(reply, 422, page(token, claims, row.state, { values, problems: placeReasons(reasons, edits ?? {}) }));
        }
        return notDecided(err, claims, html, reply);
      }
      log.info({ pipelineId: row.id, linkId: claims.linkId, edited: state.approval?.edited ?? false }, 'approved through a review link');
      if (html) {
        const next = state.publishAt ? `It will be published at ${state.publishAt.slice(0, 16).replace('T', ' ')} UTC.` : 'It is being published now.';
        return sendHtml(reply, 200, renderMessagePage('Approved', `Thank you: the content is approved${state.approval?.edited ? ' with your edits' : ''}. ${next}`, { done: true }));
      }
      return { decision: 'approved' as const, edited: state.approval?.edited ?? false, decidedAt: state.approval?.decidedAt ?? null };
    },
  );

  app.post(
    '/review/:token/reject',
    {
      ...quiet,
      attachValidation: true,
      schema: {
        ...common,
        operationId: 'reviewReject',
        summary: 'Reject through a review link, with a reason',
        description: 'Form post or JSON `{reason}`; answers a page or JSON by Accept.',
        body: reviewRejectBodySchema,
        response: { 200: reviewDecisionAnswer, 400: errorResponse, ...refusals, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const opened = await openForDecision(request, reply);
      if (!opened) return reply;
      const { html, token, claims, row } = opened;
      if (request.validationError) {
        const problems = [{ field: 'reason', message: 'Give a reason (up to 2000 characters) so the author knows what to change.' }];
        return sendHtml(reply, 400, page(token, claims, row.state, { problems }));
      }
      let state: PipelineState;
      try {
        state = await rejectPipeline(deps.temporal, row, request.body.reason, 'review_link');
      } catch (err) {
        return notDecided(err, claims, html, reply);
      }
      log.info({ pipelineId: row.id, linkId: claims.linkId }, 'rejected through a review link');
      if (html) return sendHtml(reply, 200, renderMessagePage('Rejected', 'Thank you: the content is rejected and will not be published. The author sees your reason.', { done: true }));
      return { decision: 'rejected' as const, edited: false, decidedAt: state.approval?.decidedAt ?? null };
    },
  );
};
