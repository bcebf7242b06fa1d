import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the Redis adapter. Each runs atomically in Redis, which is what makes
 * the session record safe against a process dying between two writes.
 */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * A client message that arrived with seq ARGV[1]: recorded as the session's inbound seq
 * and, for a PUBLISH (ARGV[2] == 'p'), appended to the bus in the same step (returns its
 * stream id; 1 for a DATA message); a seq at or below the recorded one is a retransmission
 * and changes nothing (returns 0). A missing record is not created.
 * KEYS: session hash, bus stream. ARGV: seq, mode, stream max length, ttl ms, header, payload.
 */
export const INBOUND = script(`
local seq = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'in') or '0')
if seq <= cur then return 0 end
-- A record that is gone (Redis lost it, the session was reset) is not made again from one
-- field: a resume would take it for the session. The publish still goes to the bus.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'in', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
if ARGV[2] == 'p' then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'h', ARGV[5], 'd', ARGV[6])
end
return 1
`);

/**
 * Brings a session record up to date: fields, frames written to the client (appended to
 * the list), the client's ack (frames up to it leave the list), the list bound and the TTL.
 * Refused (0) when another process owns the record now. ARGV[3] is the ack, '' for none,
 * or 'r' to replace the whole list.
 * KEYS: session hash, frame list. ARGV: owner, ttl ms, ack, max list length, field count,
 * fields (name, value)..., frames...
 */
export const SYNC = script(`
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
local nf = tonumber(ARGV[5])
local i = 6
if nf > 0 then
  local f = {}
  for j = 1, nf * 2 do f[j] = ARGV[i]; i = i + 1 end
  redis.call('HSET', KEYS[1], unpack(f))
end
if ARGV[3] == 'r' then redis.call('DEL', KEYS[2]) end
if i <= #ARGV then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, #ARGV))
end
if ARGV[3] ~= '' and ARGV[3] ~= 'r' then
  local ack = tonumber(ARGV[3])
  while true do
    local head = redis.call('LINDEX', KEYS[2], 0)
    if not head then break end
    local s = tonumber(string.match(head, '^(%d+)'))
    if (not s) or s > ack then break end
    redis.call('LPOP', KEYS[2])
  end
end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/**
 * Takes a session over for this process (owner := ARGV[1]) and returns its record and
 * unacknowledged frames, or nil when there is no such session.
 * KEYS: session hash, frame list. ARGV: owner.
 */
export const CLAIM = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return { redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1) }
`);

/**
 * Deletes a session record that ended, unless another process owns it now.
 * KEYS: session hash, frame list. ARGV: owner.
 */
export const END = script(`
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`);

/** Every script, loaded with SCRIPT LOAD when the adapter connects. */
export const SCRIPTS: readonly Script[] = [INBOUND, SYNC, CLAIM, END];

/** Most frames sent to SYNC in one call (Lua's unpack has a stack limit near 8000). */
export const MAX_FRAMES_PER_CALL = 512;
