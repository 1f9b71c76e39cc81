// A Node BullMQ Worker for interop tests. argv[2]: mode, argv[3]: how many jobs to finish
// (completed, or failed for good) before exiting, 0 to run until killed. Prints one line per
// finished job.
//   echo      returns { by: 'node', name, data }
//   by-name   jobs named "always-fails" throw Error('failure on attempt <n>') every time, jobs
//             named "fails-once" throw on their first attempt only, jobs named "fatal" throw
//             UnrecoverableError('fatal failure'); jobs named "reports" first record progress
//             and log lines from their data ({progress: [...], logs: [...]}); jobs named "slow"
//             first wait data.ms milliseconds; all others, and the ones that did not throw,
//             return like echo
// argv[4] (optional): the worker's concurrency, 4 by default.
'use strict';
const { Worker, UnrecoverableError } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const mode = process.argv[2];
  const expected = Number(process.argv[3] || '1');
  const concurrency = Number(process.argv[4] || '4');
  const connection = connect(url);
  const processor = async (job) => {
    if (mode === 'by-name') {
      if (job.name === 'always-fails' || (job.name === 'fails-once' && job.attemptsMade === 0)) {
        throw new Error(`failure on attempt ${job.attemptsMade + 1}`);
      }
      if (job.name === 'fatal') {
        throw new UnrecoverableError('fatal failure');
      }
      if (job.name === 'reports') {
        for (const progress of job.data.progress || []) await job.updateProgress(progress);
        for (const line of job.data.logs || []) await job.log(line);
      }
      if (job.name === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, job.data.ms));
      }
    }
    return { by: 'node', name: job.name, data: job.data };
  };
  const worker = new Worker(name, processor, { connection, prefix, concurrency });
  let finished = 0;
  await new Promise((resolve) => {
    const done = () => { finished += 1; if (expected > 0 && finished >= expected) resolve(); };
    worker.on('completed', (job) => { print({ event: 'completed', id: job.id }); done(); });
    worker.on('failed', (job, err) => {
      if (!job) return;
      if (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts || 1)) {
        print({ event: 'failed', id: job.id });
        done();
      }
    });
  });
  await worker.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
