import { modelCases } from '../helpers/model/suite';

/**
 * Model-based random runs (test/helpers/model): WebDAV (rclone serve), S3 (s3rver), and the GCS and
 * Dropbox emulators. `npm run soak` runs any seed, target and mode for longer.
 */
modelCases([
  { target: 'webdav', mode: 'mirror', seed: 401 },
  { target: 'webdav', mode: 'two-way', seed: 402 },
  { target: 's3', mode: 'backup', seed: 501 },
  { target: 's3', mode: 'two-way', seed: 502 },
  { target: 'gcs', mode: 'mirror', seed: 601 },
  { target: 'dropbox', mode: 'mirror', seed: 701 },
  { target: 'dropbox', mode: 'two-way', seed: 702 },
]);
