import path from 'node:path';

/** What `npx herald` reads from the environment. It never needs the server's settings, so none of them is checked. */
export interface CliConfig {
  /** DATA_DIR, resolved: where `npm start` keeps its development API key and the embedded database's URL. */
  dataDir: string;
  /** HERALD_API_URL; default http://HOST:PORT of a local `npm start` (127.0.0.1:3000). `--api-url` wins. */
  apiUrl: string;
  /** HERALD_API_KEY; unset: the development key `npm start` made. `--api-key` wins. */
  apiKey: string | undefined;
  /** NO_COLOR (any value, https://no-color.org): never colour the output, even on a terminal. */
  noColor: boolean;
}

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const get = (name: string) => (env[name] === '' ? undefined : env[name]);
  return {
    dataDir: path.resolve(get('DATA_DIR') ?? '.data'),
    apiUrl: (get('HERALD_API_URL') ?? `http://${get('HOST') ?? '127.0.0.1'}:${get('PORT') ?? '3000'}`).replace(/\/+$/, ''),
    apiKey: get('HERALD_API_KEY'),
    noColor: get('NO_COLOR') !== undefined,
  };
}
