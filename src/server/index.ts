/** Barrage's library API: `import { createServer } from 'barrage'`. */
export type { ApiRequestInfo } from '../api/index.js';
export { MemoryBroker } from '../broker/memory/broker.js';
export type { Broker, BrokerHandler, BrokerHealth, PushTarget } from '../broker/types.js';
export { BrokerUnavailableError } from '../broker/types.js';
export { resolveConfig, type ServerConfig } from '../config/index.js';
export { BarrageError } from '../errors.js';
export type { Logger } from '../log.js';
export type {
  ConnectionInfo,
  Decision,
  NodeHooks,
  NodeStats,
  PublishContext,
  PublishDecision,
} from '../node/index.js';
export { ReplyError } from '../node/index.js';
export { CLOSE, ERROR_CODES, type ErrorCode } from '../protocol/index.js';
export { type Identity, TokenRefused } from '../session/index.js';
export {
  type BarrageServer,
  type CreateServerOptions,
  createServer,
  type ServerHooks,
} from './create-server.js';
export { createLogger, effectiveLogFormat, type LoggerOptions } from './logger.js';
export { packageVersion } from './paths.js';
export { migrateStore } from './pick-store.js';
