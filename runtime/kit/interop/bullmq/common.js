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
// A `redis+unix://<path>[?pass=…]` URL (a Redis reached through its Unix socket, as redis-rs
// reads it) becomes ioredis's `path` and `password` options.
function connect(url) {
  const options = { maxRetriesPerRequest: null };
  if (url.startsWith('redis+unix://')) {
    const socket = new URL(url);
    const password = socket.searchParams.get('pass');
    return new IORedis({ ...options, path: decodeURIComponent(socket.pathname), ...(password ? { password } : {}) });
  }
  return new IORedis(url, options);
}

function print(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

module.exports = { queueTarget, connect, print };
