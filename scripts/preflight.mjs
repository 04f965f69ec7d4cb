// `npm test` starts here: the tests run real servers and a real browser, so stop in a second with
// the one line that installs what is missing, instead of a dozen stack traces minutes later.
import { installLine, missing, testDeps } from './system-deps.mjs';

const absent = missing(testDeps);
if (absent.length > 0) {
  const lines = absent.map((d) => `  ${d.pkg.padEnd(16)} ${d.why}`);
  process.stderr.write(
    [
      `ferry: the tests need system packages that are missing here:`,
      ...lines,
      ``,
      `Install every package the tests use (Debian/Ubuntu) with:`,
      `  ${installLine(testDeps)}`,
      `then run npm test again.`,
      ``,
    ].join('\n'),
  );
  process.exit(1);
}
