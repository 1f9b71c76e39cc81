// Adds jobs with Node's Queue. argv[2]: JSON array of {name, data, opts}. Prints the job ids.
'use strict';
const { Queue } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const jobs = JSON.parse(process.argv[2]);
  const connection = connect(url);
  const queue = new Queue(name, { connection, prefix });
  const ids = [];
  for (const job of jobs) {
    const added = await queue.add(job.name, job.data, job.opts || {});
    ids.push(added.id);
  }
  print(ids);
  await queue.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
