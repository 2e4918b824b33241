import { after } from 'node:test';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { startRedis } from '../support/redis-server.js';
import {
  brokerContract,
  CONTRACT_HISTORY_SIZE,
  CONTRACT_HISTORY_TTL_MS,
  CONTRACT_PRESENCE_TTL_MS,
} from './broker-contract.js';

const redis = await startRedis();
after(() => redis.stop());

let run = 0;
brokerContract('redis (2 nodes, standalone)', async () => {
  // A fresh prefix per case: nothing is shared with earlier cases on the same server.
  const prefix = `contract${++run}`;
  const brokers = ['n1', 'n2'].map((nodeId) =>
    createRedisBroker({
      url: redis.url,
      prefix,
      nodeId,
      historySize: CONTRACT_HISTORY_SIZE,
      historyTtlMs: CONTRACT_HISTORY_TTL_MS,
      presenceTtlMs: CONTRACT_PRESENCE_TTL_MS,
    }),
  );
  return { brokers, cleanup: async () => {} };
});
