// Prints the names Node BullMQ gives a queue's own keys (`QueueKeys.getKeys`), as a JSON array:
// `<prefix>:<queue>:<name>` for each. The empty name, the queue's key prefix, is left out.
'use strict';
const { QueueKeys } = require('bullmq');
const { queueTarget, print } = require('./common');

const { queue, prefix } = queueTarget();
print(Object.keys(new QueueKeys(prefix).getKeys(queue)).filter((name) => name !== ''));
