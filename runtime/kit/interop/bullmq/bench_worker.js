// Node side of benches/worker_throughput.rs: a BullMQ Worker with a no-op processor (the shape
// of taskforcesh/bullmq-bench's worker-generic/worker-concurrent) on a pre-filled queue.
// argv[2]: concurrency, argv[3]: jobs to complete before exiting. The Rust harness times it by
// watching the completed set in Redis, the same way it times our worker.
'use strict';
const { Worker } = require('bullmq');
const { queueTarget, connect } = require('./common');

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const concurrency = Number(process.argv[2]);
  const total = Number(process.argv[3]);
  const connection = connect(url);
  const worker = new Worker(name, async () => ({ ok: true }), { connection, prefix, concurrency });
  let completed = 0;
  await new Promise((resolve) => {
    worker.on('completed', () => { completed += 1; if (completed >= total) resolve(); });
  });
  await worker.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
