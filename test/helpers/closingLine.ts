import type { Reporter, TestModule } from 'vitest/node';

/** Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") after vitest's own summary. */
export default class ClosingLine implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules)
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    for (const m of testModules) if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
