// The generated client's pipeline type is the state type Herald keeps (as the API presents it): the fixture compiles
// with no error, and the same fixture stops compiling when the state gains a field the OpenAPI document lacks.
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURE = path.join(__dirname, 'fixtures/client-types-are-the-stored-types.ts');

let previous: ts.Program | undefined;

/**
 * The TypeScript errors of the fixture (and what it imports), with the repository's compiler options. The second
 * compilation reuses the files the first one parsed.
 */
function errorsOf(extraFiles: Record<string, string> = {}): string[] {
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const host = ts.createCompilerHost({ ...options, noEmit: true });
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (name) => extraFiles[name] ?? readFile(name);
  host.fileExists = (name) => name in extraFiles || fileExists(name);
  const program = ts.createProgram({ rootNames: [FIXTURE, ...Object.keys(extraFiles)], options: { ...options, noEmit: true }, host, oldProgram: previous });
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? path.relative(ROOT, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

it('a GET /v1/pipelines/{id} answer from the generated client is the presented PipelineState, field for field', () => {
  expect(errorsOf()).toEqual([]);
});

// Optional on purpose: an optional field slips through mutual assignability, so this proves the stricter check.
it('the check fails when PipelineState gains a field the document does not describe, even an optional one', () => {
  const augment = path.join(__dirname, 'fixtures/state-with-an-undocumented-field.ts');
  const errors = errorsOf({
    [augment]: "export {};\ndeclare module '../../../../src/domain/types' {\n  interface PipelineState {\n    undocumented?: string;\n  }\n}\n",
  });
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((e) => e.startsWith(path.relative(ROOT, FIXTURE)))).toBe(true);
});
