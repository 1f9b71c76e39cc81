// Node side of benches/worker_throughput.rs: a BullMQ Worker with a no-op processor (the shape
// of taskforcesh/bullmq-bench's worker-generic/worker-concurrent) on a pre-filled queue.
// argv[2]: concurrency, argv[3]: jobs to complete before exiting, argv[4]: warm-up jobs. The
// Rust harness times it by watching the completed set in Redis, the same way it times our
// worker. Prints {"cpu_us": …}: this process's CPU time between the warm-up and the end.
'use strict';
const { Worker } = require('bullmq');
const { queueTarget, connect } = require('./common');

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const concurrency = Number(process.argv[2]);
  const total = Number(process.argv[3]);
  const warmup = Number(process.argv[4] || '0');
  const connection = connect(url);
  const worker = new Worker(name, async () => ({ ok: true }), { connection, prefix, concurrency });
  let completed = 0;
  let cpuAtWarmup = process.cpuUsage();
  let cpuUsed = null;
  await new Promise((resolve) => {
    worker.on('completed', () => {
      completed += 1;
      if (completed === warmup) cpuAtWarmup = process.cpuUsage();
      if (completed >= total && cpuUsed === null) {
        cpuUsed = process.cpuUsage(cpuAtWarmup);
        resolve();
      }
    });
  });
  process.stdout.write(JSON.stringify({ cpu_us: cpuUsed.user + cpuUsed.system }) + '\n');
  await worker.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
