// Adds jobs with Node's Queue. argv[2]: JSON array of {name, data, opts}; an entry with
// `children` is a flow, added with FlowProducer (every node on this queue, children nested the
// same way). Prints the job ids: each entry's, a flow's as its parent then its children, depth
// first.
'use strict';
const { Queue, FlowProducer } = require('bullmq');
const { queueTarget, connect, print } = require('./common');

function flowNode(entry, queueName) {
  const node = { name: entry.name, queueName, data: entry.data || {}, opts: entry.opts || {} };
  if (entry.children) node.children = entry.children.map((child) => flowNode(child, queueName));
  return node;
}

function treeIds(tree, ids) {
  ids.push(tree.job.id);
  for (const child of tree.children || []) treeIds(child, ids);
}

async function main() {
  const { url, queue: name, prefix } = queueTarget();
  const jobs = JSON.parse(process.argv[2]);
  const connection = connect(url);
  const queue = new Queue(name, { connection, prefix });
  const flows = new FlowProducer({ connection, prefix });
  const ids = [];
  for (const job of jobs) {
    if (job.children) {
      treeIds(await flows.add(flowNode(job, name)), ids);
    } else {
      const added = await queue.add(job.name, job.data, job.opts || {});
      ids.push(added.id);
    }
  }
  print(ids);
  await flows.close();
  await queue.close();
  await connection.quit();
}

main().catch((err) => { console.error(err); process.exit(1); });
