// Job schedulers (repeatable jobs) for interop tests, with Node's Queue. argv[2]: command.
//   upsert '<json>' [queue...]  Queue.upsertJobScheduler(id, repeat, template) for each entry of
//                               the JSON array [{id, repeat, template: {name, data, opts}}], on
//                               each queue named (STACKR_QUEUE by default), one queue after the
//                               other in one process so that both get the same clock; prints
//                               {<queue>: [first job id, ...]}
//   get <id...>                 Queue.getJobScheduler(id) for each (null when there is none);
//                               prints {schedulers: {<id>: ...}, count: getJobSchedulersCount()}
//   remove '<json ids>' [queue...]  Queue.removeJobScheduler(id) for each id of the JSON array,
//                               on each queue named (STACKR_QUEUE by default), in one process;
//                               prints {<queue>: [removed, ...]}
//   jobs                        every job of the queue, whatever its state: {jobs: [{id, name,
//                               data, state, opts, attemptsMade, attemptsStarted, timestamp,
//                               processedOn, finishedOn, returnvalue, failedReason, stacktrace,
//                               delay, repeatJobKey, logs}], counts}, jobs sorted by id
'use strict';
const { Queue } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

const STATES = ['completed', 'failed', 'delayed', 'wait', 'active', 'prioritized', 'paused',
  'waiting-children'];

async function withQueue(name, prefix, connection, fn) {
  const queue = new Queue(name, { connection, prefix });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const command = process.argv[2];
  const args = process.argv.slice(3);
  const connection = connect(url);
  // For each entry of the JSON list args[0], on each queue named after it (STACKR_QUEUE by
  // default), one queue after the other: {<queue>: [result, ...]}.
  const onEachQueue = async (forEntry) => {
    const entries = JSON.parse(args[0]);
    const queues = args.length > 1 ? args.slice(1) : [name];
    const out = {};
    for (const queueName of queues) {
      out[queueName] = await withQueue(queueName, prefix, connection, async (queue) => {
        const results = [];
        for (const entry of entries) results.push(await forEntry(queue, entry));
        return results;
      });
    }
    return out;
  };
  if (command === 'upsert') {
    print(await onEachQueue(async (queue, e) => {
      const job = await queue.upsertJobScheduler(e.id, e.repeat, e.template);
      return job ? job.id : null;
    }));
  } else if (command === 'get') {
    print(await withQueue(name, prefix, connection, async (queue) => {
      const schedulers = {};
      for (const id of args) schedulers[id] = (await queue.getJobScheduler(id)) || null;
      return { schedulers, count: await queue.getJobSchedulersCount() };
    }));
  } else if (command === 'remove') {
    print(await onEachQueue((queue, id) => queue.removeJobScheduler(id)));
  } else if (command === 'jobs') {
    print(await withQueue(name, prefix, connection, async (queue) => {
      const jobs = [];
      for (const state of STATES) {
        for (const job of await queue.getJobs([state], 0, -1, true)) {
          if (!job) continue;
          jobs.push({
            id: job.id,
            name: job.name,
            data: job.data,
            state: state === 'wait' ? 'waiting' : state,
            opts: job.opts,
            attemptsMade: job.attemptsMade,
            attemptsStarted: job.attemptsStarted,
            timestamp: job.timestamp,
            processedOn: job.processedOn || null,
            finishedOn: job.finishedOn || null,
            returnvalue: job.returnvalue === undefined ? null : job.returnvalue,
            failedReason: job.failedReason === undefined ? null : job.failedReason,
            stacktrace: job.stacktrace,
            delay: job.delay,
            repeatJobKey: job.repeatJobKey || null,
            logs: await queue.getJobLogs(job.id),
          });
        }
      }
      jobs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { jobs, counts: await queue.getJobCounts() };
    }));
  } else {
    throw new Error(`unknown command ${command}`);
  }
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
