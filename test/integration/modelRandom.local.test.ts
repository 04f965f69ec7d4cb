import { modelCases } from '../helpers/model/suite';

/**
 * Model-based random runs (test/helpers/model): a local folder, OpenSSH's sftp and pure-ftpd over
 * TLS. `npm run soak` runs any seed, target and mode for longer.
 */
modelCases([
  { target: 'local', mode: 'mirror', seed: 101 },
  { target: 'local', mode: 'backup', seed: 102 },
  { target: 'local', mode: 'move', seed: 103 },
  { target: 'local', mode: 'two-way', seed: 104, clashes: true },
  { target: 'sftp', mode: 'mirror', seed: 201 },
  { target: 'sftp', mode: 'two-way', seed: 202 },
  { target: 'ftp', mode: 'mirror', seed: 301 },
  { target: 'ftp', mode: 'move', seed: 302 },
]);
