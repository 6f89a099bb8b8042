import { WorkflowFailedError, WorkflowIdConflictPolicy } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorType } from '../../domain/error-types';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { accountListView, accountView, refreshedAccountView } from '../schemas/account';
import { dateTimeString, noContent, typedResponses } from '../schemas/common';
import { idParams, platformSchema } from '../schemas/pipeline';

const WEBHOOK_PLATFORMS = new Set(['slack', 'discord', 'webhook']);

const accountBody = z
  .strictObject({
    platform: platformSchema,
    handle: z.string().trim().min(1).max(200),
    credentials: z.record(z.string(), z.unknown()).refine((c) => Object.keys(c).length > 0, 'credentials must not be empty'),
    settings: z.record(z.string(), z.unknown()).optional(),
    expiresAt: dateTimeString.optional(),
  })
  .superRefine((body, ctx) => {
    if (WEBHOOK_PLATFORMS.has(body.platform)) {
      const url = body.credentials.url;
      let ok: boolean;
      try {
        ok = typeof url === 'string' && ['https:', 'http:'].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok) ctx.addIssue({ code: 'custom', path: ['credentials', 'url'], message: `${body.platform} accounts need credentials.url, the incoming webhook URL (http or https)` });
    }
  });

/** Connected accounts. Credentials go in encrypted and never come back out. */
export const accountRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { accounts } = deps;
  app.post('/accounts', { schema: { operationId: 'createAccount', tags: ['accounts'], summary: 'Connect an account', body: accountBody, response: typedResponses({ 201: accountView }) } }, async (request, reply) => {
    const account = await accounts.create({ tenantId: request.tenantId, ...request.body });
    return reply.status(201).send(account);
  });
  app.get('/accounts', { schema: { operationId: 'listAccounts', tags: ['accounts'], summary: 'Connected accounts', response: typedResponses({ 200: accountListView }) } }, async (request) => ({ items: await accounts.list(request.tenantId) }));
  app.get('/accounts/:id', { schema: { operationId: 'getAccount', tags: ['accounts'], summary: 'An account (never its credentials)', params: idParams, response: typedResponses({ 200: accountView }) } }, async (request) => {
    const account = await accounts.get(request.tenantId, request.params.id);
    if (!account) throw notFound(`account ${request.params.id}`);
    return account;
  });
  app.post('/accounts/:id/refresh', { schema: { operationId: 'refreshAccount', tags: ['accounts'], summary: 'Refresh its token now', params: idParams, response: typedResponses({ 200: refreshedAccountView }) } }, async (request) => {
    const account = await accounts.get(request.tenantId, request.params.id);
    if (!account) throw notFound(`account ${request.params.id}`);
    try {
      // Concurrent requests for one account join the same workflow; the account row lock covers the schedule too.
      const result = await deps.temporal.workflow.execute('refreshAccountNow', {
        taskQueue: deps.config.temporal.taskQueue,
        workflowId: `account-refresh-${request.tenantId}-${account.id}`,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        args: [{ tenantId: request.tenantId, accountId: account.id }],
        workflowExecutionTimeout: '2 minutes',
      });
      const after = await accounts.get(request.tenantId, account.id);
      if (!after) throw notFound(`account ${account.id}`);
      return { ...after, refreshed: result.refreshed, reason: result.reason };
    } catch (err) {
      let cause: unknown = err instanceof WorkflowFailedError ? err.cause : err;
      if (cause instanceof ActivityFailure) cause = cause.cause;
      if (cause instanceof ApplicationFailure && cause.type === ErrorType.ReauthRequired) {
        throw new HttpError('conflict', `the account must be reconnected: ${cause.message}`, [{ status: 'reauth_required' }]);
      }
      if (cause instanceof ApplicationFailure) throw new HttpError('unavailable', `refresh failed: ${cause.message}`, [], 30);
      throw err;
    }
  });
  app.delete('/accounts/:id', { schema: { operationId: 'deleteAccount', tags: ['accounts'], summary: 'Disconnect an account', params: idParams, response: typedResponses({ 204: noContent }) } }, async (request, reply) => {
    if (!(await accounts.remove(request.tenantId, request.params.id))) throw notFound(`account ${request.params.id}`);
    return reply.status(204).send();
  });
};
