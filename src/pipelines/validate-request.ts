// The pre-flight check (POST /v1/validate): every problem a pipeline request would meet, found with the same checks
// that creating a pipeline and approving edits use, and nothing stored or started.
import type { AccountRepository } from '../db/accounts-repo';
import type { AdaptOptions } from '../domain/adapt';
import { PLATFORM_RULES } from '../domain/platform-rules';
import type { ContentFormat, PipelineRequest, Platform, Variant } from '../domain/types';
import type { ProviderLimits } from '../resilience/types';
import { checkDailyCaps, type TimesOf } from './daily-cap-check';
import { exactVariant, type ExactVariant } from './exact-text';
import { publishAtProblem } from './publish-time';
import { inspectTargetAccounts } from './target-accounts';

export type ProblemCode =
  | 'unknown_account'
  | 'platform_mismatch'
  | 'account_reauth_required'
  | 'account_disabled'
  | 'publish_at_past'
  | 'publish_at_too_far'
  | 'daily_cap_full'
  | 'text_too_long'
  | 'text_invalid'
  | 'not_a_target';

export interface Problem {
  /** Index in `targets`, or null for a problem of the whole request (publishAt). */
  target: number | null;
  platform: Platform | null;
  /** Dotted path of the field at fault (`targets.0.accountId`, `content.body`, `variants.x`, `publishAt`). */
  path: string;
  code: ProblemCode;
  message: string;
  /** What to do about it. */
  hint: string;
  /** daily_cap_full: the first time every target has room (null: none within reach). */
  nextFreeAt?: string | null;
}

export interface TargetPreview {
  platform: Platform;
  accountId: string | null;
  /** The variant Herald would publish; null when the text is written later (a topic) or cannot be adapted (see problems). */
  variant: Variant | null;
  /** Why there is no variant, when there is none. */
  note: string | null;
}

export interface Validation {
  ok: boolean;
  targets: TargetPreview[];
  problems: Problem[];
}

/** What is checked: a pipeline request, or the same with the exact content (and per-platform texts) in place of a topic. */
export type ValidationInput = Pick<PipelineRequest, 'format' | 'targets' | 'dryRun' | 'publishAt'> & {
  content?: { title: string; body: string; hashtags: string[] };
  variants?: Partial<Record<Platform, string>>;
};

export interface ValidationDeps {
  accounts: Pick<AccountRepository, 'get'>;
  /** Publication times per account (src/db/caps-repo.ts), read without a lock: nothing is reserved. */
  times: TimesOf;
  limits: Record<string, ProviderLimits>;
  adaptOptions: AdaptOptions;
}

export const AFTER_GENERATION = 'counts come after generation: the text is written when the pipeline runs; send content to check exact text';

function textProblem(index: number, format: ContentFormat, failed: Extract<ExactVariant, { ok: false }>): Problem {
  const { platform } = failed;
  const path = failed.field === 'own' ? `variants.${platform}` : 'content.body';
  if (failed.length === null) {
    return { target: index, platform, path, code: 'text_invalid', message: failed.reason, hint: `fix ${path} for ${platform}` };
  }
  const over = failed.length - failed.limit;
  const thread = failed.field === 'body' && format !== 'thread' && PLATFORM_RULES[platform].threads ? ', use "format": "thread"' : '';
  const own = failed.field === 'body' ? `, or give variants.${platform} its own text` : '';
  return {
    target: index,
    platform,
    path,
    code: 'text_too_long',
    message: failed.reason,
    hint: `shorten the ${platform} ${failed.field === 'own' ? 'variant' : 'body'} by ${over} ${failed.unit}${thread}${own}`,
  };
}

/** Checks `input` for `tenantId` as creating it would, plus what creating accepts but publishing would trip over. */
export async function validatePipelineRequest(deps: ValidationDeps, tenantId: string, input: ValidationInput, now = Date.now()): Promise<Validation> {
  const problems: Problem[] = [];
  const timing = input.publishAt ? publishAtProblem(input.publishAt, now) : null;
  if (timing) problems.push({ target: null, platform: null, path: 'publishAt', code: timing.code, message: timing.message, hint: 'choose a publishAt from now to a year ahead, or leave it out to publish when ready' });
  problems.push(...(await inspectTargetAccounts(deps.accounts, tenantId, input)));
  if (!timing) problems.push(...(await checkDailyCaps(deps.times, input, deps.limits)).problems);

  const targets = input.targets.map((t, index): TargetPreview => {
    const base = { platform: t.platform, accountId: t.accountId ?? null };
    if (!input.content) return { ...base, variant: null, note: AFTER_GENERATION };
    const checked = exactVariant({ ...input.content, platform: t.platform, format: input.format, own: input.variants?.[t.platform], bodyWritten: true }, deps.adaptOptions);
    if (checked.ok) return { ...base, variant: checked.variant, note: null };
    problems.push(textProblem(index, input.format, checked));
    return { ...base, variant: null, note: checked.reason };
  });
  for (const platform of Object.keys(input.variants ?? {}) as Platform[]) {
    if (!input.targets.some((t) => t.platform === platform)) {
      problems.push({ target: null, platform, path: `variants.${platform}`, code: 'not_a_target', message: `${platform}: not a target of this request`, hint: `add a ${platform} target or remove variants.${platform}` });
    }
  }
  problems.sort((a, b) => (a.target ?? -1) - (b.target ?? -1));
  return { ok: problems.length === 0, targets, problems };
}
