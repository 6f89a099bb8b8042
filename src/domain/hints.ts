// What a person can do about an error, from its code (a failure type or one of Herald's own codes) and what is known
// about where it happened. Pure: workflows import it, so the state, its publications, the timeline and the webhooks
// all carry the hint the workflow wrote. Never reads a message's text.
import { ErrorType } from './error-types';
import type { ErrorInfo } from './timeline';
import { PLATFORM_NAMES, type PipelineState, type Platform } from './types';

/** Herald's own error codes (the others are failure types, src/domain/error-types.ts). */
export const HeraldErrorCode = {
  ApprovalTimeout: 'approval_timeout',
  Cancelled: 'cancelled',
  Rejected: 'rejected',
  TooLong: 'too_long',
  /** An error stored by a version that kept only its text. */
  Legacy: 'error',
} as const;

export interface HintContext {
  /** The platform of the publication (or the validated target). */
  platform?: Platform | null;
  accountId?: string | null;
  /** The account's handle, when the caller knows it. */
  handle?: string | null;
  /** The provider or platform the failing call went to (failure details). */
  provider?: string | null;
  /** The provider's HTTP status (failure details). */
  status?: number | null;
  /** When the provider or the breaker lets calls through again (failure details). */
  retryAt?: string | null;
  /** The platform's id of an existing identical post (failure details). */
  existingId?: string | null;
  /** How many units a text is over its platform's limit. */
  overBy?: number | null;
  /** The approval timeout the request set, e.g. "24h". */
  approvalTimeout?: string | null;
  /** The time the hint is written (ISO 8601): a retryAt on another UTC day is given with its date. */
  now?: string | null;
}

export function platformName(platform: Platform | string): string {
  return PLATFORM_NAMES[platform as Platform] ?? platform;
}

/** "the X account @alice (id acc_1)", or as much of it as is known. */
function accountPhrase(ctx: HintContext): string {
  const platform = ctx.platform ? `${platformName(ctx.platform)} ` : '';
  const handle = ctx.handle ? `@${ctx.handle.replace(/^@/, '')}` : null;
  if (handle && ctx.accountId) return `the ${platform}account ${handle} (id ${ctx.accountId})`;
  if (handle) return `the ${platform}account ${handle}`;
  if (ctx.accountId) return `the ${platform}account ${ctx.accountId}`;
  return `the ${platform}account`;
}

/** "14:05 UTC" on the UTC day of `now` (or with no `now`), else "2026-12-04 14:05 UTC". */
export function utcTime(iso: string, now?: string | null): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  const hhmm = `${text.slice(11, 16)} UTC`;
  return !now || now.slice(0, 10) === text.slice(0, 10) ? hhmm : `${text.slice(0, 10)} ${hhmm}`;
}

function who(ctx: HintContext): string {
  if (ctx.provider) return ctx.platform === ctx.provider ? platformName(ctx.provider) : ctx.provider;
  return ctx.platform ? platformName(ctx.platform) : 'the provider';
}

/** The hint for an error code in a context, or null when there is nothing useful to say. */
export function hintFor(code: string, ctx: HintContext = {}): string | null {
  const until = ctx.retryAt ? utcTime(ctx.retryAt, ctx.now) : null;
  switch (code) {
    case ErrorType.ReauthRequired:
    case ErrorType.AuthExpired:
      return `Reconnect ${accountPhrase(ctx)}: its token was revoked or has expired, so Herald cannot post with it. Then start the pipeline again.`;
    case ErrorType.AccountMissing:
      return `Connect ${accountPhrase(ctx)} (POST /v1/accounts) or name an account of this tenant for that platform, then start the pipeline again.`;
    case ErrorType.RateLimited:
      return until
        ? `Wait until ${until}: ${who(ctx)}'s rate limit is used up. Herald tries again by itself then.`
        : `${who(ctx)} is limiting requests: wait a few minutes, or publish less often to it.`;
    case ErrorType.QuotaExhausted:
      return until
        ? `Wait until ${until}: ${who(ctx)}'s quota is used up.`
        : `${who(ctx)}'s quota or credit is used up: add credit or raise the plan, or wait for the quota to renew.`;
    case ErrorType.BreakerOpen:
      return until
        ? `${who(ctx)} kept failing, so Herald stopped calling it until ${until}. Check its status page; Herald tries again by itself then.`
        : `${who(ctx)} kept failing, so Herald stopped calling it for a while. Check its status page and try again later.`;
    case ErrorType.Duplicate:
      return ctx.existingId
        ? `${who(ctx)} already has this post (id ${ctx.existingId}): nothing to do, or change the text to post it again.`
        : `${who(ctx)} already has this post: nothing to do, or change the text to post it again.`;
    case ErrorType.Permanent:
      return permanentHint(ctx);
    case ErrorType.Transient:
      return `${who(ctx)} had a temporary problem and did not recover within Herald's retries: start the pipeline again later.`;
    case ErrorType.NotReady:
      return `${who(ctx)} was still processing the media: start the pipeline again in a few minutes.`;
    case ErrorType.InvalidInput:
      return 'Correct the request as the message says and start the pipeline again.';
    case HeraldErrorCode.TooLong:
      return ctx.overBy && ctx.overBy > 0
        ? `Shorten the ${ctx.platform ? `${platformName(ctx.platform)} ` : ''}variant by ${ctx.overBy} character${ctx.overBy === 1 ? '' : 's'}.`
        : 'Shorten the text to fit the platform.';
    case HeraldErrorCode.ApprovalTimeout:
      return ctx.approvalTimeout
        ? `Nobody decided within ${ctx.approvalTimeout}: start it again and decide sooner, or set a longer approval.timeout (or onTimeout "publish").`
        : 'Nobody decided in time: start it again and decide sooner, or set a longer approval.timeout (or onTimeout "publish").';
    default:
      return null;
  }
}

function permanentHint(ctx: HintContext): string {
  const name = who(ctx);
  if (ctx.status === 401 || ctx.status === 403) {
    return `${name} refused the credentials: check the permissions of ${accountPhrase(ctx)}, or reconnect it.`;
  }
  if (ctx.status === 404) return `${name} does not know the address or the resource: check the account's settings.`;
  if (ctx.status === 413) return `${name} refused the size of the post or its media: shorten the text or drop an image.`;
  if (ctx.status !== null && ctx.status !== undefined && ctx.status >= 400 && ctx.status < 500) {
    return `${name} refused the post as it is (HTTP ${ctx.status}): change what the message names and start again; retrying the same post will not help.`;
  }
  return `${name} refused the request: retrying the same request will not help; change what the message names, or check ${name}'s configuration.`;
}

/** An error with its hint. */
export function errorInfo(code: string, message: string, ctx: HintContext = {}): ErrorInfo {
  return { code, message, hint: hintFor(code, ctx) };
}

/**
 * An error as stored by any version: an older state holds a publication's error as "code: message" text, or a pipeline
 * error without a hint. Never fails; null stays null.
 */
export function readErrorInfo(value: unknown): ErrorInfo | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { code: HeraldErrorCode.Legacy, message: value, hint: null };
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    const message = typeof v.message === 'string' ? v.message : JSON.stringify(value);
    return { code: typeof v.code === 'string' ? v.code : HeraldErrorCode.Legacy, message, hint: typeof v.hint === 'string' ? v.hint : null };
  }
  return { code: HeraldErrorCode.Legacy, message: String(value), hint: null };
}

/** The codes whose hint names an account, so a caller that knows the account's handle can name it too. */
export const ACCOUNT_CODES: readonly string[] = [ErrorType.ReauthRequired, ErrorType.AuthExpired, ErrorType.AccountMissing];

/**
 * The state with its account hints naming each account by its handle too ("@alice (id acc_1)"). The workflow does not
 * know handles; the projection does, and the pipeline's error changes with the publication it came from, so every
 * stored surface says the same thing. A hint the workflow did not write from the account's code is left alone.
 */
export function nameAccounts(state: PipelineState, handles: ReadonlyMap<string, string>): PipelineState {
  const renamed = new Map<string, string>();
  const publications = state.publications.map((p) => {
    const error = p.error && typeof p.error === 'object' ? p.error : null;
    const handle = p.accountId ? handles.get(p.accountId) : undefined;
    if (!error || !handle || !ACCOUNT_CODES.includes(error.code)) return p;
    const plain = hintFor(error.code, { platform: p.platform, accountId: p.accountId });
    if (error.hint !== plain || plain === null) return p;
    const named = hintFor(error.code, { platform: p.platform, accountId: p.accountId, handle })!;
    renamed.set(plain, named);
    return { ...p, error: { ...error, hint: named } };
  });
  if (!renamed.size) return state;
  const e = state.error && typeof state.error === 'object' ? state.error : null;
  const error = e?.hint && renamed.has(e.hint) ? { ...e, hint: renamed.get(e.hint)! } : state.error;
  return { ...state, publications, error };
}

/** The accounts whose handles nameAccounts would use. */
export function accountsToName(state: PipelineState): string[] {
  const ids = state.publications.filter((p) => p.accountId && p.error && typeof p.error === 'object' && ACCOUNT_CODES.includes(p.error.code)).map((p) => p.accountId!);
  return [...new Set(ids)];
}
