/** Redis adapter for several sockline server processes (docs/scaling.md). */
export { redisAdapter, redisAdapterDefaults } from './redis-adapter.js';
export type { RedisAdapterOptions } from './redis-adapter.js';
export type { Adapter, AdapterMetrics, AdapterState } from '../adapter.js';
