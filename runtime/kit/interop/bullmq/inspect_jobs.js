// Prints what Node BullMQ sees of the given job ids: state, returnvalue, attemptsMade, failedReason,
// progress, logs…
'use strict';
const { Queue } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

// The job's fields and its state are two reads, and a worker may move the job between them: a
// job read while running its last attempt and found 'failed' just after would show a final state
// with the attempt count of the run before. The state is read before and after the fields, and
// the pair is kept only when the job did not move in between (a finished job never moves again).
async function snapshot(queue, id) {
  for (;;) {
    const before = await queue.getJobState(id);
    const job = await queue.getJob(id);
    const after = await queue.getJobState(id);
    if (!job) return { job: undefined, state: 'missing' };
    if (before === after) return { job, state: after };
  }
}

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const connection = connect(url);
  // An observer: skipMetasUpdate keeps this Queue from writing its version into the queue's meta.
  const queue = new Queue(name, { connection, prefix, skipMetasUpdate: true });
  const jobs = [];
  for (const id of process.argv.slice(2)) {
    const { job, state } = await snapshot(queue, id);
    if (!job) {
      jobs.push({ id, state: 'missing' });
      continue;
    }
    jobs.push({
      id: job.id,
      name: job.name,
      data: job.data,
      state,
      returnvalue: job.returnvalue === undefined ? null : job.returnvalue,
      attemptsMade: job.attemptsMade,
      attemptsStarted: job.attemptsStarted,
      failedReason: job.failedReason === undefined ? null : job.failedReason,
      stacktrace: job.stacktrace,
      timestamp: job.timestamp,
      processedOn: job.processedOn || null,
      finishedOn: job.finishedOn || null,
      delay: job.delay,
      opts: job.opts,
      priority: job.priority,
      parentKey: job.parentKey || null,
      childrenValues: await job.getChildrenValues(),
      progress: job.progress,
      logs: await queue.getJobLogs(id),
    });
  }
  print({ jobs, counts: await queue.getJobCounts() });
  await queue.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
