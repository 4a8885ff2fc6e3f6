/**
 * What both Node hosts of the runner share (the CLI's child process, grade-child.ts, and the
 * program mounted in WebContainer, run-tests.ts): SQLite's WebAssembly from bytes on disk, and
 * stray errors of the reader's code shown with the output instead of ending the process.
 */
import type { LabBundle } from '../bundle.ts';
import type { FileOutcome, OutputLine } from '../results.ts';
import { reportStrayError, runGraded } from '../runner/index.ts';
import { sharedSqlEngine, type KitSql } from '../runner/shared-sql-engine.ts';

/** A configureKit for runGraded: the kits of a run share one SQLite, instantiated from one compiled module. */
export function sqlWasmFromBytes(wasm: Uint8Array, locateFile: (file: string) => string): (kit: KitSql) => void {
  let compiled: Promise<WebAssembly.Module> | undefined;
  return sharedSqlEngine(() => {
    // sql.js passes this object to Emscripten as its Module; it adds onAbort, which rejects initSqlJs.
    const options: Record<string, unknown> = {
      locateFile,
      instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
        compiled ??= WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
        compiled
          .then((module) => WebAssembly.instantiate(module, imports))
          .then(done, (err: unknown) => (options.onAbort as ((reason: string) => void) | undefined)?.(err instanceof Error ? err.message : String(err)));
        return {};
      },
    };
    return options;
  });
}

/** A promise the reader's code left rejected, or an exception thrown from a timer: shown, and the run goes on (Node would end the process). */
export function keepRunningOnStrayErrors(): void {
  process.on('unhandledRejection', (reason) => reportStrayError('Unhandled rejection', reason));
  process.on('uncaughtException', (err) => reportStrayError('Uncaught error', err));
}

/** A bundle's graded tests run in this process, for hosts that trust the code (our solution, starter, fixtures). */
export function runBundleInProcess(input: {
  bundle: LabBundle;
  kitCode: string;
  wasm: Uint8Array;
  wasmDir: string;
  files: Record<string, string>;
  testFiles: string[];
  onOutput?: (line: OutputLine) => void;
}): Promise<FileOutcome[]> {
  return runGraded({
    kitCode: input.kitCode,
    tests: input.bundle.tests,
    files: input.files,
    editable: input.bundle.lab.editable,
    testFiles: input.testFiles,
    configureKit: sqlWasmFromBytes(input.wasm, (file) => `${input.wasmDir}/${file}`),
    onOutput: (lines) => lines.forEach((line) => input.onOutput?.(line)),
  });
}
