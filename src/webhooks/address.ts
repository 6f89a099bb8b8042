// Where a webhook may be sent: http(s) URLs whose host is, and resolves only to, public unicast addresses. Anything
// else (loopback, RFC 1918, link-local and cloud metadata, CGNAT, multicast, unspecified, IPv6 unique-local, IPv4
// mapped or translated into IPv6, documentation and reserved ranges) could reach inside Herald's own network.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Every address a host name resolves to (A and AAAA), as the operating system's resolver answers. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Why an address is not a public one ("loopback", "private", "uniqueLocal"…), or null when it is public unicast. */
export function nonPublicRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const range = ipaddr.parse(address).range();
  // An allow-list: only what the IANA registries call ordinary unicast passes, so a range added to them later is
  // refused by default rather than let through.
  return range === 'unicast' ? null : range;
}

export class WebhookUrlError extends Error {
  constructor(
    message: string,
    /** `scheme`, `url`, `private_address` or `unresolvable`. */
    readonly reason: 'scheme' | 'url' | 'private_address' | 'unresolvable',
  ) {
    super(message);
  }
}

/** The URL's own problems (scheme, credentials, form): the same whatever DNS says. */
export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookUrlError('url is not an absolute URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlError(`url must be http or https, not ${url.protocol.replace(':', '')}`, 'scheme');
  if (url.username || url.password) throw new WebhookUrlError('url must not carry a user name or password: the signature authenticates Herald', 'url');
  return url;
}

/** The host of a URL without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export interface CheckedTarget {
  url: URL;
  /** The address to connect to: checked, and the only one the connection may use. */
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the URL's host once and checks every address it resolves to (a host with one public and one private
 * address is refused: the private one could be chosen). Returns the address the connection must use.
 * `allowPrivate` skips the address check (development and tests), never the scheme check.
 */
export async function resolveWebhookTarget(text: string, opts: { allowPrivate: boolean; resolve: Resolve }): Promise<CheckedTarget> {
  const url = parseWebhookUrl(text);
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await opts.resolve(host);
    } catch (err) {
      throw new WebhookUrlError(`${host} does not resolve: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'unresolvable');
    }
    if (addresses.length === 0) throw new WebhookUrlError(`${host} does not resolve to any address`, 'unresolvable');
  }
  if (!opts.allowPrivate) {
    for (const a of addresses) {
      const range = nonPublicRange(a.address);
      if (range) {
        const via = a.address === host ? '' : ` (${host} resolves to ${a.address})`;
        throw new WebhookUrlError(`${a.address} is a ${range} address${via}: webhooks go to public addresses only`, 'private_address');
      }
    }
  }
  const first = addresses[0];
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
