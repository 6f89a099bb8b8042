// The shapes and switches of the imitation Meta Graph server (meta-graph-server.ts): what it records and how tests
// make it misbehave the way Facebook, Instagram and Threads really do. Bodies and headers follow provider-facts.md.

export type MetaPlatform = 'facebook' | 'instagram' | 'threads';

/** A post that was really published: the exactly-once count. */
export interface FakeMetaPost {
  id: string;
  platform: MetaPlatform;
  /** The page, Instagram user or Threads user it was published on. */
  owner: string;
  text: string;
  /** Image URLs the post shows. */
  media: string[];
  /** Threads: the post this one replies to. */
  replyTo: string | null;
  /** Epoch ms. */
  at: number;
}

export type FakeContainerStatus = 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';

export interface FakeMetaContainer {
  id: string;
  platform: 'instagram' | 'threads';
  owner: string;
  mediaType: 'IMAGE' | 'TEXT' | 'CAROUSEL';
  text: string;
  imageUrl: string | null;
  children: string[];
  isCarouselItem: boolean;
  replyTo: string | null;
  createdAt: number;
  /** Status polls still answered IN_PROGRESS. */
  pollsLeft: number;
  /** Why the image could not be fetched, when it could not. */
  imageProblem: string | null;
  /** Instagram: the `status` text of a container in ERROR (Meta's reason, with its subcode), else null. */
  errorStatus: string | null;
  /** The post it became. */
  publishedAs: string | null;
}

export interface FakeMetaRequest {
  method: string;
  /** Path without the version prefix and the query, e.g. "/17841400000000000/media". */
  path: string;
  /** Query and body parameters merged (the token left out). */
  params: Record<string, unknown>;
  /** Whether an access token came with it (header or parameter). */
  authenticated: boolean;
  /** The status answered; 0 when the socket was destroyed instead. */
  status: number;
}

/** Codes rateLimitNext knows, with the status, message and headers Meta sends. */
export type MetaThrottleCode = 4 | 9 | 17 | 32 | 368 | 613 | 80001 | 80002;

export interface MetaFakeSwitches {
  /** New containers answer IN_PROGRESS to this many status polls before FINISHED (0 by default). */
  containerDelay(pollsUntilFinished: number): void;
  /**
   * The next `times` Instagram image containers (carousel items included), or carousel containers with
   * `mediaType: 'CAROUSEL'`, end in ERROR with this `status` text, even when their image was fetched (default: Meta's
   * text for media it could not download, subcode 2207052). `times` 0 clears what is still queued.
   */
  containerErrorNext(times?: number, status?: string, mediaType?: 'IMAGE' | 'CAROUSEL'): void;
  /**
   * How an Instagram image Meta could not download shows: 'container' (the default) makes the container and it ends in
   * ERROR; 'request' refuses the POST /media itself with 400 code 9004 / subcode 2207052, as Meta also does.
   */
  mediaFetchFailures(mode: 'container' | 'request'): void;
  /** Containers older than this are EXPIRED (null: never, the default in tests). */
  expireContainersAfter(ms: number | null): void;
  /** The next `times` requests are throttled with this code's real status, body and usage headers. */
  rateLimitNext(code: MetaThrottleCode, times?: number, opts?: { regainMinutes?: number }): void;
  /** Facebook answers 506 to a page post whose message equals the page's latest post. On by default, as on Facebook. */
  duplicateDetection(on: boolean): void;
  /** Every token issued so far is expired (190, subcode 463). Tokens issued later work. */
  expireTokens(): void;
  /** Every token issued so far is invalidated (190, subcode 460). */
  revoke(): void;
  /** The next `times` publishing requests (feed, media_publish, threads_publish) are carried out, then the socket is destroyed. */
  acceptThenDrop(times?: number): void;
  /** The next `times` requests answer 500 with Graph's transient error (code 2, is_transient). */
  serverErrorNext(times?: number): void;
  /** Instagram's media_publish answers code 9 / subcode 2207042 (also reached for real after 50 posts in 24 h). */
  dailyLimitReached(on: boolean): void;
  /** The next `times` listings (posts, media, threads, replies) do not show the newest post yet (eventual consistency). */
  staleListingsNext(times?: number): void;
  /** Overrides the X-App-Usage percentages sent on every answer (null: computed from the request count). */
  appUsage(usage: { call_count: number; total_time: number; total_cputime: number } | null): void;
}

export function graphErrorBody(code: number, message: string, extra: { subcode?: number; type?: string; isTransient?: boolean; userTitle?: string } = {}): unknown {
  return {
    error: {
      message,
      type: extra.type ?? 'OAuthException',
      code,
      ...(extra.subcode !== undefined ? { error_subcode: extra.subcode } : {}),
      is_transient: extra.isTransient ?? false,
      ...(extra.userTitle ? { error_user_title: extra.userTitle } : {}),
      fbtrace_id: `A${Math.random().toString(36).slice(2, 12)}`,
    },
  };
}

/** What Meta answers when throttled, by code; `owner` keys the business-use-case header. */
export function throttleAnswer(
  code: MetaThrottleCode,
  owner: string,
  regainMinutes: number,
): { status: number; body: unknown; headers: Record<string, string> } {
  const full = { call_count: 100, total_cputime: 54, total_time: 71 };
  const buc = (type: string) => JSON.stringify({ [owner]: [{ type, ...full, estimated_time_to_regain_access: regainMinutes }] });
  switch (code) {
    case 4:
      return { status: 403, body: graphErrorBody(4, '(#4) Application request limit reached', { isTransient: true }), headers: { 'X-App-Usage': JSON.stringify(full) } };
    case 17:
      return { status: 403, body: graphErrorBody(17, '(#17) User request limit reached', { isTransient: true }), headers: { 'X-App-Usage': JSON.stringify(full) } };
    case 32:
      return { status: 403, body: graphErrorBody(32, '(#32) Page request limit reached'), headers: { 'X-Page-Usage': JSON.stringify({ ...full, estimated_time_to_regain_access: regainMinutes }) } };
    case 613:
      return { status: 400, body: graphErrorBody(613, '(#613) Calls to this api have exceeded the rate limit.'), headers: {} };
    case 368:
      return { status: 400, body: graphErrorBody(368, 'The action attempted has been deemed abusive or is otherwise disallowed'), headers: {} };
    case 9:
      return { status: 400, body: graphErrorBody(9, 'Application request limit reached', { subcode: 2207051 }), headers: {} };
    case 80001:
      return {
        status: 400,
        body: graphErrorBody(80001, 'There have been too many calls to this Page account. Wait a bit and try again.'),
        headers: { 'X-Business-Use-Case-Usage': buc('pages') },
      };
    case 80002:
      return {
        status: 400,
        body: graphErrorBody(80002, 'There have been too many calls to this Instagram account. Wait a bit and try again.'),
        headers: { 'X-Business-Use-Case-Usage': buc('instagram') },
      };
  }
}

/** Meta's container `status` for media it could not download (a URL that refused, timed out or failed). */
export const META_FETCH_FAILED_STATUS = "Error: Media download has failed. The media URI doesn't meet our requirements. (2207052)";
/** Meta's container `status` for a download that was not an image it can use. */
export const META_UNSUPPORTED_MEDIA_STATUS = 'Error: The media type is not supported. (2207005)';

/** Graph's timestamp format: 2026-03-01T09:30:00+0000. */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}
