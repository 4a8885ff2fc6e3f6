/** Prints one line per graded test file as soon as it ends, so a run that is stopped keeps what it finished. */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export const RESULT_PREFIX = '@@scale-lab-file ';

export default class LabReporter implements Reporter {
  onTestModuleEnd(module: TestModule): void {
    const file = relative(module.project.config.root, module.moduleId).split('\\').join('/');
    const tests = [...module.children.allTests()].map((test) => {
      const result = test.result();
      const message = result.errors?.map((e) => e.message).join('\n');
      return { name: test.fullName, passed: result.state === 'passed', ...(result.state === 'passed' ? {} : { message: message ?? `test ${result.state}` }) };
    });
    const errors = module.errors().map((e) => e.message);
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ file, tests, ...(errors.length ? { error: errors.join('\n') } : {}) })}\n`);
  }
}
