// Looks for secrets in everything Herald's processes wrote: the API and in-process worker (h.logs), worker child
// processes (their captured stdout and stderr), and any log file. A secret is found in any of the forms a careless log
// line would carry it: as is, URL-encoded, JSON-escaped, base64 or base64url, and (for a long one) a 16-character slice
// of its middle, so a truncated or partly masked token is caught too.
import { existsSync, readFileSync } from 'node:fs';

export interface SecretFinding {
  /** Which source (e.g. "api+worker", "worker-3", a file path). */
  source: string;
  /** The secret's label, never the secret. */
  secret: string;
  /** The form it was found in. */
  form: string;
  /** The line, with the secret masked. */
  line: string;
}

type Text = string | string[];

export class SecretScan {
  private readonly secrets = new Map<string, string>();
  private readonly sources = new Map<string, () => Text>();

  /** A secret to look for; `label` names it in findings (the value is never printed). Short values are refused. */
  add(label: string, value: string | null | undefined): this {
    if (typeof value !== 'string') return this;
    if (value.length < 8) throw new Error(`secret "${label}" is too short to search for without false alarms (${value.length} characters)`);
    this.secrets.set(value, label);
    // A webhook URL's secret is its path: the host alone may rightly be logged.
    const url = /^https?:\/\//i.test(value) ? safeUrl(value) : undefined;
    if (url && `${url.pathname}${url.search}`.length >= 8) this.secrets.set(`${url.pathname}${url.search}`, `${label} (path)`);
    return this;
  }

  /**
   * Every string of 8 characters or more in `credentials` (tokens, passwords, URLs...), but for the fields named in
   * `public` (identifiers that are no secret and rightly appear in logs, such as a Bluesky DID or handle).
   */
  addAll(label: string, credentials: unknown, opts: { public?: string[] } = {}): this {
    const skip = new Set(opts.public ?? []);
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'string' && v.length >= 8) this.add(path, v);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (!skip.has(k)) walk(x, `${path}.${k}`);
    };
    walk(credentials, label);
    return this;
  }

  /** A place to search, read when the scan runs (so output written later is included). */
  source(name: string, read: () => Text): this {
    this.sources.set(name, read);
    return this;
  }

  /** A log file, if it exists when the scan runs. */
  file(path: string): this {
    return this.source(path, () => (existsSync(path) ? readFileSync(path, 'utf8') : ''));
  }

  get secretCount(): number {
    return this.secrets.size;
  }

  /** How many lines and characters were searched, per source: proof the scan looked at something. */
  coverage(): Record<string, { lines: number; chars: number }> {
    const out: Record<string, { lines: number; chars: number }> = {};
    for (const [name, read] of this.sources) {
      const lines = linesOf(read());
      out[name] = { lines: lines.length, chars: lines.reduce((n, l) => n + l.length, 0) };
    }
    return out;
  }

  findings(): SecretFinding[] {
    const needles: { needle: string; label: string; form: string; value: string }[] = [];
    for (const [value, label] of this.secrets) {
      for (const [form, needle] of formsOf(value)) needles.push({ needle, label, form, value });
    }
    const found: SecretFinding[] = [];
    for (const [source, read] of this.sources) {
      for (const line of linesOf(read())) {
        for (const n of needles) {
          if (!line.includes(n.needle)) continue;
          found.push({ source, secret: n.label, form: n.form, line: mask(line, [...this.secrets.keys()], needles.map((x) => x.needle)).slice(0, 400) });
          break;
        }
      }
    }
    return found;
  }
}

function linesOf(text: Text): string[] {
  const all = Array.isArray(text) ? text : [text];
  return all.flatMap((t) => t.split('\n')).filter((l) => l.length > 0);
}

function formsOf(value: string): [string, string][] {
  const forms = new Map<string, string>([[value, 'as is']]);
  const add = (form: string, s: string) => {
    if (s.length >= 8 && !forms.has(s)) forms.set(s, form);
  };
  add('url-encoded', encodeURIComponent(value));
  add('json-escaped', JSON.stringify(value).slice(1, -1));
  add('base64', Buffer.from(value).toString('base64').replace(/=+$/, ''));
  add('base64url', Buffer.from(value).toString('base64url'));
  if (value.length >= 24 && !/^https?:\/\//i.test(value)) {
    const mid = Math.floor((value.length - 16) / 2);
    add('a 16-character slice', value.slice(mid, mid + 16));
  }
  return [...forms].map(([s, form]) => [form, s]);
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function mask(line: string, secrets: string[], needles: string[]): string {
  let out = line;
  for (const s of [...secrets, ...needles].sort((a, b) => b.length - a.length)) out = out.split(s).join('[SECRET]');
  return out;
}

/** A one-line-per-finding description for an assertion message. */
export function describeFindings(findings: SecretFinding[]): string[] {
  return findings.map((f) => `${f.source}: ${f.secret} (${f.form}): ${f.line}`);
}
