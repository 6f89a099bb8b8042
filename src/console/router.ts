// Hash routing: the server serves one page, and a URL like /#/pipelines/pl_1 can be bookmarked and reloaded.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** First segment: compose, pipelines, plan, schedules, accounts, providers, webhooks. */
  page: string;
  /** The segments after it, decoded (e.g. ['pl_1'] for #/pipelines/pl_1). */
  params: string[];
  /** What follows `?` in the hash, for filters a page keeps in its URL. */
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path, search = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [page = '', ...rest] = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  return { page: page || 'compose', params: rest, query: new URLSearchParams(search) };
}

/** `href` for a link to a page: href('pipelines', id) -> '#/pipelines/<id>'. */
export const href = (page: string, ...params: string[]) => `#/${[page, ...params].map(encodeURIComponent).join('/')}`;

export function navigate(page: string, ...params: string[]): void {
  location.hash = href(page, ...params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** What every page component receives. */
export interface PageProps {
  params: string[];
  query: URLSearchParams;
}
