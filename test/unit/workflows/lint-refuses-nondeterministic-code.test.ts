// Workflow code is replayed, so it must be deterministic: lint refuses what would break that.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
jest.setTimeout(120_000);

// ESLint runs as its own process: it loads its config with a dynamic import that Jest's sandbox does not allow.
function eslint(args: string[], input?: string): { filePath: string; messages: { ruleId: string; message: string; severity: number; line: number }[] }[] {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', ...args], { cwd: ROOT, input, encoding: 'utf8' });
  if (!res.stdout) throw new Error(`eslint produced no report: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

async function lint(code: string) {
  const [result] = eslint(['--stdin', '--stdin-filename', 'src/workflows/content-pipeline.ts'], code);
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

it('refuses Node builtins, provider or database code, process.env, timers and Math.random in workflow files', async () => {
  const messages = await lint(
    [
      "import { readFileSync } from 'node:fs';",
      "import { createPool } from '../../db/pool';",
      "import { createActivities } from '../../activities';",
      'export async function bad(): Promise<number> {',
      '  setTimeout(() => undefined, 10);',
      '  void readFileSync; void createPool; void createActivities;',
      '  return Number(process.env.X) + Math.random();',
      '}',
    ].join('\n'),
  );
  const text = messages.join('\n');
  expect(text).toMatch(/No Node builtins/);
  expect(text).toMatch(/Workflows import only domain code/);
  expect(text).toMatch(/Import activity types only/);
  expect(text).toMatch(/process/);
  expect(text).toMatch(/setTimeout|sleep\(\)/);
  expect(text).toMatch(/uuid4|Math\.random/);
});

it('passes the real workflow files', async () => {
  const results = eslint(['src/workflows']);
  const problems = results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId} ${m.message}`));
  expect(problems).toEqual([]);
});
