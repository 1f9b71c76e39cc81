// Prints what Node BullMQ sees of the given job ids: state, returnvalue, attemptsMade, failedReason,
// progress, logs…
'use strict';
const { Queue } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const connection = connect(url);
  // An observer: skipMetasUpdate keeps this Queue from writing its version into the queue's meta.
  const queue = new Queue(name, { connection, prefix, skipMetasUpdate: true });
  const jobs = [];
  for (const id of process.argv.slice(2)) {
    const job = await queue.getJob(id);
    if (!job) {
      jobs.push({ id, state: 'missing' });
      continue;
    }
    jobs.push({
      id: job.id,
      name: job.name,
      data: job.data,
      state: await job.getState(),
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
