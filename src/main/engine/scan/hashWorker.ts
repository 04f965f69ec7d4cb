import { parentPort } from 'node:worker_threads';
import { hashFile, newBuffers, type HashRequest, type HashResult } from './hashFile';

/** Worker thread entry: hashes batches of files and answers with one message per batch. */
const bufs = newBuffers();
const port = parentPort;
if (!port) throw new Error('hashWorker must run as a worker thread');

port.on('message', (batch: HashRequest[]) => {
  void (async () => {
    const results: HashResult[] = [];
    for (const req of batch) results.push(await hashFile(req, bufs));
    port.postMessage(results);
  })();
});
