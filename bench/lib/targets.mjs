// The targets, as ratios within one run (or absolute bounds), and how to check them.

/**
 * bench, metric, the sockline system, what it is compared with (a system, or a fixed bound),
 * and the bound. `op` '>=' for rates, '<=' for latency, memory, sizes and shares.
 */
export const TARGETS = [
  { bench: 'pipelined', metric: 'rate', system: 'sockline-tcp', against: 'raw-net', op: '>=', bound: 0.8 },
  { bench: 'pipelined', metric: 'rate', system: 'sockline-ws', against: 'raw-ws', op: '>=', bound: 1.3 },
  { bench: 'pipelined', metric: 'rate', system: 'sockline-tcp', against: 'socket.io', op: '>=', bound: 2.5 },
  { bench: 'pipelined', metric: 'rate', system: 'sockline-ws', against: 'socket.io', op: '>=', bound: 2.5 },
  { bench: 'rtt', metric: 'p50', system: 'sockline-tcp', against: 'raw-net', op: '<=', bound: 1.2 },
  { bench: 'rtt', metric: 'p50', system: 'sockline-ws', against: 'raw-ws', op: '<=', bound: 1.2 },
  { bench: 'bulk', metric: 'mbps', system: 'sockline-tcp', against: 'raw-net', op: '>=', bound: 0.9 },
  { bench: 'bulk', metric: 'mbps', system: 'sockline-ws', against: 'raw-ws', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'stream', system: 'sockline-tcp', against: 'raw-net', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'stream', system: 'sockline-ws', against: 'raw-ws', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'msg1', system: 'sockline-tcp', against: 'raw-net', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'msg1', system: 'sockline-ws', against: 'raw-ws', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'msg64', system: 'sockline-tcp', against: 'raw-net', op: '>=', bound: 0.9 },
  { bench: 'transfer', metric: 'msg64', system: 'sockline-ws', against: 'raw-ws', op: '>=', bound: 0.9 },
  { bench: 'idle-memory', metric: 'rssKB', system: 'sockline-tcp', against: 'raw-net', op: '<=', bound: 1.3 },
  { bench: 'idle-memory', metric: 'rssKB', system: 'sockline-ws', against: 'raw-ws', op: '<=', bound: 1.3 },
  { bench: 'bundle', metric: 'gzip', system: 'sockline (ESM, `connect`)', op: '<=', bound: 6144, unit: 'B' },
  {
    bench: 'bundle',
    metric: 'gzip',
    system: 'sockline (ESM, `connectRaw`)',
    op: '<=',
    bound: 3072,
    unit: 'B',
  },
  ...['sockline-tcp', 'sockline-ws', 'sockline-udp'].map((system) => ({
    bench: 'reconnect-storm',
    metric: 'peakShare',
    system,
    op: '<=',
    bound: 0.05,
    percent: true,
  })),
  // A healthy client's longest wait beside each hostile scenario, and the open of a client from
  // another address during a flood (bench/hostile-stall.mjs rows).
  ...['flood', 'flood-open-tcp', 'flood-open-ws', 'prehello', 'budget', 'slow'].map((system) => ({
    bench: 'hostile-stall',
    metric: 'max',
    system,
    op: '<=',
    bound: 1000,
    unit: 'ms',
  })),
];

/** `{ value, met }` for a target given a lookup `valueOf(bench, system, metric)`; value NaN if unmeasured. */
export function check(target, valueOf) {
  const mine = valueOf(target.bench, target.system, target.metric);
  const value =
    target.against === undefined ? mine : mine / valueOf(target.bench, target.against, target.metric);
  if (!Number.isFinite(value)) return { value: NaN, met: undefined };
  return { value, met: target.op === '>=' ? value >= target.bound : value <= target.bound };
}

export function describeBound(target) {
  if (target.percent) return `${target.op === '<=' ? '≤' : '≥'} ${target.bound * 100}%`;
  if (target.unit) return `${target.op === '<=' ? '≤' : '≥'} ${target.bound} ${target.unit}`;
  return `${target.op === '<=' ? '≤' : '≥'} ${target.bound}× ${target.against}`;
}
