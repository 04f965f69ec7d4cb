// Imported first by each entry point, before anything uses libuv's thread pool (it is sized once, on
// first use). A batch of small files is made durable with its fdatasyncs all in flight at once
// (providers/local/groupCommit.ts), so the file system folds them into few journal commits: the default
// 4 threads would let only 4 wait at a time (measured here: 4 in flight ~4,700 files/s, 64 ~7,500).
// The threads mostly wait on the disk, so more than cores is right. An explicit setting is kept.
process.env.UV_THREADPOOL_SIZE ??= '64';
