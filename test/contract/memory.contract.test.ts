import { MemoryBroker } from '../../src/broker/memory/broker.js';
import {
  brokerContract,
  CONTRACT_HISTORY_SIZE,
  CONTRACT_HISTORY_TTL_MS,
} from './broker-contract.js';

brokerContract('memory', async () => ({
  brokers: [
    new MemoryBroker({ historySize: CONTRACT_HISTORY_SIZE, historyTtlMs: CONTRACT_HISTORY_TTL_MS }),
  ],
  cleanup: async () => {},
}));
