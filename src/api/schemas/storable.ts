/**
 * What PostgreSQL cannot store, found before it gets there.
 *
 * - A NUL character (U+0000): text refuses it ("invalid byte sequence"), jsonb refuses its escape.
 * - A lone surrogate (U+D800..U+DFFF without its partner): jsonb refuses it; text would silently turn it into U+FFFD.
 * - JSON nested deeper than MAX_DEPTH: jsonb gives up with "stack depth limit exceeded" long before a 1 MiB body ends.
 *
 * The API refuses every such value with 400 `validation_failed` naming where it is (see app.ts: one preValidation hook
 * for the body, the path parameters, the query string and the headers of every route), so no route can forget it.
 */

/** Deeper than this is refused; no Herald request comes close (a pipeline request is 4 levels deep). */
export const MAX_DEPTH = 32;
/** How many problems one answer lists at most. */
const MAX_PROBLEMS = 20;

// With the u flag \p{Cs} matches only surrogates that are not part of a pair. Matching NUL is the point here.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Why a string cannot be stored as it is, or null when it can. */
export function textProblem(s: string): string | null {
  if (!UNSTORABLE.test(s)) return null;
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  return 'contains an unpaired UTF-16 surrogate (invalid Unicode), which cannot be stored';
}

export interface Problem {
  path: string;
  message: string;
}

/** A key as it may appear in a path: unstorable characters shown as \uXXXX escapes. */
function showKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.replace(/\u0000|\p{Cs}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Every place in a parsed value (JSON body, params, query, headers) holding something PostgreSQL cannot store.
 * Paths are dot-separated as in validation errors (`targets.0.accountId`), prefixed with `prefix` when given
 * (`params.id`, `querystring.cursor`, `headers.idempotency-key`). Walks iteratively: a hostile nesting depth cannot
 * overflow the stack here.
 */
export function findUnstorable(value: unknown, prefix = ''): Problem[] {
  const problems: Problem[] = [];
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: prefix, depth: 0 }];
  const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));
  while (stack.length && problems.length < MAX_PROBLEMS) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) problems.push({ path, message: problem });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) {
      problems.push({ path, message: `is nested more than ${MAX_DEPTH} levels deep` });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    // Pushed in reverse so the first field is reported first.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i];
      if (typeof key === 'string') {
        const problem = textProblem(key);
        if (problem) problems.push({ path: join(path, showKey(key)), message: `its name ${problem}` });
      }
      stack.push({ v: item, path: join(path, typeof key === 'string' ? showKey(key) : key), depth: depth + 1 });
    }
  }
  return problems;
}
