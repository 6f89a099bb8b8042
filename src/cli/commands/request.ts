// The pipeline request as flags, shared by `run`, `validate` and `schedules create`: the same names, checks and body.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { FORMATS, PLATFORMS, PRIORITIES } from '../../domain/types';
import { UsageError } from '../errors';
import { isoTime, many, pairs } from '../context';

export interface RequestFlags {
  request?: string;
  topic?: string;
  brief?: string;
  voice?: string;
  audience?: string;
  format?: string;
  platform?: string[];
  account?: Record<string, string>;
  dryRun?: boolean;
  publishAt?: string;
  approval?: boolean;
  approvalTimeout?: string;
  onTimeout?: string;
  image?: boolean;
  imageStyle?: string;
  imageSource?: string[];
  priority?: string;
  whenFull?: string;
}

const IMAGE_SOURCES = ['openai', 'stability', 'unsplash', 'pexels', 'card'];

/** Adds the request's flags to a command; `publishAt: false` leaves out --publish-at (recurring pipelines refuse it). */
export function requestOptions(cmd: Command, opts: { publishAt?: boolean } = {}): Command {
  cmd
    .option('--request <file>', 'a pipeline request as JSON (a file, or - for stdin); the flags below change it')
    .option('--topic <text>', 'what to write about')
    .option('--brief <text>', 'source notes, up to 20000 characters')
    .option('--voice <text>', 'brand voice')
    .option('--audience <text>', 'who it is for')
    .addOption(new Option('--format <format>', 'post, thread or article (default post)').choices(FORMATS))
    .addOption(new Option('--platform <platform>', `a target platform, repeatable: ${PLATFORMS.join(', ')}`).argParser(many(PLATFORMS)))
    .option('--account <platform=accountId>', 'the connected account for a platform, repeatable (needed unless --dry-run)', pairs)
    .option('--dry-run', 'publish nothing: store the exact requests that would be sent')
    .option('--approval', 'wait for a human approval before publishing')
    .option('--approval-timeout <duration>', 'how long to wait for the approval, e.g. 24h')
    .addOption(new Option('--on-timeout <action>', 'what happens when the approval times out').choices(['reject', 'publish']))
    .option('--no-image', 'no image')
    .option('--image-style <text>', 'a style for generated images')
    .addOption(new Option('--image-source <source>', `an image source to try, in order, repeatable: ${IMAGE_SOURCES.join(', ')}`).argParser(many(IMAGE_SOURCES)))
    .addOption(new Option('--priority <priority>', 'task priority (default normal)').choices(PRIORITIES));
  if (opts.publishAt !== false) {
    cmd
      .option('--publish-at <time>', 'publish at this ISO 8601 time', isoTime)
      .addOption(new Option('--when-full <policy>', "when an account's daily cap is already full at --publish-at: refuse (default) or move to the next free slot").choices(['refuse', 'next_slot']));
  }
  return cmd;
}

/** The request body: the --request file (if any) with the flags laid over it. Missing essentials are usage errors. */
export function buildRequest(flags: RequestFlags, stdin: () => string = () => readFileSync(0, 'utf8')): Record<string, any> {
  const base = flags.request ? readRequestFile(flags.request, stdin) : {};
  const req: Record<string, any> = { ...base };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) req[key] = value;
  };
  set('topic', flags.topic);
  set('brief', flags.brief);
  set('voice', flags.voice);
  set('audience', flags.audience);
  set('format', flags.format);
  set('publishAt', flags.publishAt);
  set('priority', flags.priority);
  set('whenFull', flags.whenFull);
  if (flags.dryRun) req.dryRun = true;
  const accounts = flags.account ?? {};
  if (flags.platform?.length) {
    req.targets = flags.platform.map((platform) => ({ platform, ...(accounts[platform] ? { accountId: accounts[platform] } : {}) }));
  } else if (Array.isArray(req.targets) && flags.account) {
    req.targets = req.targets.map((t: { platform: string; accountId?: string }) => (accounts[t.platform] ? { ...t, accountId: accounts[t.platform] } : t));
  }
  const unknownAccount = Object.keys(accounts).find((p) => !(req.targets ?? []).some((t: { platform: string }) => t.platform === p));
  if (unknownAccount) throw new UsageError(`--account ${unknownAccount}=… names a platform that is not a target; add --platform ${unknownAccount}`);
  if (flags.image === false || flags.imageStyle || flags.imageSource) {
    req.image = {
      ...(typeof req.image === 'object' && req.image ? req.image : {}),
      mode: flags.image === false ? 'none' : 'auto',
      ...(flags.imageStyle ? { style: flags.imageStyle } : {}),
      ...(flags.imageSource ? { sources: flags.imageSource } : {}),
    };
  }
  if (flags.approval || flags.approvalTimeout || flags.onTimeout) {
    req.approval = {
      ...(typeof req.approval === 'object' && req.approval ? req.approval : {}),
      required: true,
      ...(flags.approvalTimeout ? { timeout: flags.approvalTimeout } : {}),
      ...(flags.onTimeout ? { onTimeout: flags.onTimeout } : {}),
    };
  }
  return req;
}

/** Usage errors for what no request can do without: a topic and at least one target. */
export function requireTopicAndTargets(req: Record<string, any>): void {
  if (typeof req.topic !== 'string' || !req.topic.trim()) throw new UsageError('--topic is required (or a "topic" in --request)');
  if (!Array.isArray(req.targets) || !req.targets.length) throw new UsageError('at least one --platform is required (or "targets" in --request)');
}

function readRequestFile(file: string, stdin: () => string): Record<string, any> {
  let text: string;
  try {
    text = file === '-' ? stdin() : readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--request: cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--request: ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--request: ${file} must hold a JSON object`);
  return parsed as Record<string, any>;
}
