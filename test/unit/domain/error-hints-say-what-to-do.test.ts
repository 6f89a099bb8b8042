// Every error carries a hint that says what the user can do, chosen by the failure type and its typed details, never
// by the message text.
import { errorInfo, hintFor, nameAccounts, readErrorInfo } from '../../../src/domain/hints';
import type { PipelineState, Publication } from '../../../src/domain/types';

it('an account that needs re-authorisation: reconnect it, named by platform, handle and id', () => {
  expect(hintFor('ReauthRequired', { platform: 'x', accountId: 'acc_1', handle: 'alice' })).toBe(
    'Reconnect the X account @alice (id acc_1): its token was revoked or has expired, so Herald cannot post with it. Then start the pipeline again.',
  );
  expect(hintFor('ReauthRequired', { platform: 'linkedin', accountId: 'acc_2' })).toMatch(/^Reconnect the LinkedIn account acc_2: /);
  expect(hintFor('AccountMissing', { platform: 'mastodon', accountId: 'acc_3' })).toMatch(/^Connect the Mastodon account acc_3 \(POST \/v1\/accounts\)/);
});

it('waits name the time in UTC from retryAt', () => {
  expect(hintFor('QuotaExhausted', { platform: 'instagram', provider: 'instagram', retryAt: '2026-12-03T14:05:00.000Z' })).toBe(
    "Wait until 14:05 UTC: Instagram's quota is used up.",
  );
  expect(hintFor('RateLimited', { provider: 'openai', retryAt: '2026-12-03T09:15:30.000Z' })).toMatch(/^Wait until 09:15 UTC: openai's rate limit/);
  expect(hintFor('BreakerOpen', { platform: 'x', provider: 'x', retryAt: '2026-12-03T10:00:00.000Z' })).toMatch(/^X kept failing, so Herald stopped calling it until 10:00 UTC/);
  expect(hintFor('BreakerOpen', { provider: 'x' })).toMatch(/for a while/);
  expect(hintFor('RateLimited', { provider: 'x', retryAt: '2026-12-04T00:10:00.000Z', now: '2026-12-03T23:59:00.000Z' })).toMatch(/^Wait until 2026-12-04 00:10 UTC: /);
  expect(hintFor('RateLimited', { provider: 'x', retryAt: '2026-12-03T23:59:30.000Z', now: '2026-12-03T23:59:00.000Z' })).toMatch(/^Wait until 23:59 UTC: /);
});

it('a text over its limit: shorten that variant by the count', () => {
  expect(hintFor('too_long', { platform: 'x', overBy: 12 })).toBe('Shorten the X variant by 12 characters.');
  expect(hintFor('too_long', { platform: 'bluesky', overBy: 1 })).toBe('Shorten the Bluesky variant by 1 character.');
});

it('a refusal by HTTP status, a duplicate with its existing id, a timeout; unknown codes have no hint', () => {
  expect(hintFor('Permanent', { platform: 'x', provider: 'x', status: 403, accountId: 'acc_1' })).toMatch(/^X refused the credentials: check the permissions of the X account acc_1/);
  expect(hintFor('Permanent', { provider: 'webhook', status: 422 })).toMatch(/HTTP 422/);
  expect(hintFor('Duplicate', { platform: 'bluesky', provider: 'bluesky', existingId: 'at://p/1' })).toMatch(/already has this post \(id at:\/\/p\/1\)/);
  expect(hintFor('approval_timeout', { approvalTimeout: '24h' })).toMatch(/^Nobody decided within 24h/);
  expect(hintFor('cancelled')).toBeNull();
  expect(hintFor('SomethingNew')).toBeNull();
});

it('the hint does not depend on the message', () => {
  expect(errorInfo('ReauthRequired', 'anything at all', { platform: 'x', accountId: 'a' }).hint).toBe(errorInfo('ReauthRequired', 'other', { platform: 'x', accountId: 'a' }).hint);
});

it('errors stored by earlier versions read as {code, message, hint}', () => {
  expect(readErrorInfo('Permanent: x: 403')).toEqual({ code: 'error', message: 'Permanent: x: 403', hint: null });
  expect(readErrorInfo({ code: 'publish_failed', message: 'no publication succeeded' })).toEqual({ code: 'publish_failed', message: 'no publication succeeded', hint: null });
  expect(readErrorInfo(null)).toBeNull();
});

it("the projection names the account's handle in the publication's hint and in the pipeline error from the same cause", () => {
  const plain = hintFor('ReauthRequired', { platform: 'x', accountId: 'acc_1' });
  const error = { code: 'ReauthRequired', message: 'account is reauth_required', hint: plain };
  const p: Publication = { platform: 'x', accountId: 'acc_1', status: 'failed', externalId: null, url: null, attempts: 1, error, retryAt: null, publishedAt: null };
  const other: Publication = { ...p, platform: 'linkedin', accountId: 'acc_2', error: { code: 'Permanent', message: 'm', hint: 'keep me' } };
  const s = { publications: [p, other], error: { ...error, message: 'no publication succeeded' } } as unknown as PipelineState;
  const named = nameAccounts(s, new Map([['acc_1', 'alice'], ['acc_2', 'bob']]));
  const want = 'Reconnect the X account @alice (id acc_1): its token was revoked or has expired, so Herald cannot post with it. Then start the pipeline again.';
  expect(named.publications[0].error!.hint).toBe(want);
  expect(named.error!.hint).toBe(want);
  expect(named.publications[1].error!.hint).toBe('keep me');
});
