// Workflow code is replayed, so it must be deterministic: lint refuses what would break that.
// The project's own ESLint config, without type information (the determinism and layering rules need none; `npm run
// lint` runs the type-aware rules over the whole tree), so this stays a matter of seconds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

type Message = { ruleId: string | null; message: string; severity: number; line: number };
type Report = { filePath: string; messages: Message[] };

const BAD_WORKFLOW = [
  "import { readFileSync } from 'node:fs';",
  "import { createPool } from '../../db/pool';",
  "import { createActivities } from '../../activities';",
  'export async function bad(): Promise<number> {',
  '  setTimeout(() => undefined, 10);',
  '  void readFileSync; void createPool; void createActivities;',
  '  return Number(process.env.X) + Math.random();',
  '}',
].join('\n');

// ESLint runs as its own process (it loads its config with a dynamic import that Jest's sandbox does not allow): one
// process, one ESLint instance, for both the refused snippet and the real workflow files.
const LINT_SCRIPT = `
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
// Every rule that needs type information is off here; the rest of the project's config applies as written.
const typed = Object.entries(tseslint.plugin.rules).filter(([, rule]) => rule.meta?.docs?.requiresTypeChecking);
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: Object.fromEntries(typed.map(([name]) => ['@typescript-eslint/' + name, 'off'])),
  },
});
const snippet = await eslint.lintText(process.env.BAD_WORKFLOW, { filePath: 'src/workflows/content-pipeline.ts' });
const real = await eslint.lintFiles(['src/workflows']);
process.stdout.write(JSON.stringify({ snippet, real }));
`;

let reports: { snippet: Report[]; real: Report[] };

beforeAll(() => {
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', LINT_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, BAD_WORKFLOW },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!res.stdout) throw new Error(`eslint produced no report: ${res.stderr}`);
  reports = JSON.parse(res.stdout);
}, 120_000);

it('refuses Node builtins, provider or database code, process.env, timers and Math.random in workflow files', () => {
  const text = reports.snippet[0].messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n');
  expect(text).toMatch(/No Node builtins/);
  expect(text).toMatch(/Workflows import only domain code/);
  expect(text).toMatch(/Import activity types only/);
  expect(text).toMatch(/process/);
  expect(text).toMatch(/setTimeout|sleep\(\)/);
  expect(text).toMatch(/uuid4|Math\.random/);
});

it('passes the real workflow files', () => {
  expect(reports.real.length).toBeGreaterThan(0);
  const problems = reports.real.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId} ${m.message}`));
  expect(problems).toEqual([]);
});
