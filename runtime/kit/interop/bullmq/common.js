// Shared by the interop scripts: where the queue is, from the same variables our Rust side uses.
'use strict';
const IORedis = require('ioredis');

function queueTarget() {
  const url = process.env.REDIS_URL;
  const queue = process.env.STACKR_QUEUE;
  if (!url || !queue) {
    throw new Error('REDIS_URL and STACKR_QUEUE must be set');
  }
  const prefix = process.env.STACKR_QUEUE_PREFIX || 'bull';
  return { url, queue, prefix };
}

// BullMQ requires maxRetriesPerRequest: null on connections used by blocking commands.
function connect(url) {
  return new IORedis(url, { maxRetriesPerRequest: null });
}

function print(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

module.exports = { queueTarget, connect, print };
