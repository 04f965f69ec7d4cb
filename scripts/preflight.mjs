// `npm test` starts here: the tests run real servers and a real browser, so stop in a second with
// the lines that install what is missing, instead of a dozen stack traces minutes later.
import { fileURLToPath } from 'node:url';
import { FETCHED_SERVERS_SCRIPT, installLine, missing, serversFetched, testDeps } from './system-deps.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const absent = missing(testDeps);
const fetched = serversFetched(root);
if (absent.length > 0 || !fetched) {
  const lines = absent.map((d) => `  ${d.pkg.padEnd(16)} ${d.why}`);
  if (!fetched)
    lines.push(`  ${'vsftpd, ProFTPD'.padEnd(16)} FTP tests (unpacked from their .debs: they conflict with pure-ftpd)`);
  process.stderr.write(
    [
      `ferry: the tests need system packages that are missing here:`,
      ...lines,
      ``,
      `Install every package the tests use (Debian/Ubuntu) with:`,
      `  ${installLine(testDeps)}`,
      `  sudo ${FETCHED_SERVERS_SCRIPT}`,
      `then run npm test again.`,
      ``,
    ].join('\n'),
  );
  process.exit(1);
}
