/** Redis adapter for several sockline server processes. */
export const REDIS_ADAPTER_VERSION = 1;
