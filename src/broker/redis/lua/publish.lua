-- Barrage: publish one room message atomically (offset, history, pub/sub in one step).
-- Every node therefore sees the same order on the channel as in the stream.
--
-- KEYS[1]  room meta hash (e = epoch, s = last offset)
-- KEYS[2]  room history stream (entry id = OFFSET-0, fields t = ts, d = line)
-- ARGV[1]  line head (everything before the offset)
-- ARGV[2]  line tail (everything after the offset)
-- ARGV[3]  ts, ms since the epoch
-- ARGV[4]  history size (0: keep no history)
-- ARGV[5]  history ttl, ms (0: keep no history)
-- ARGV[6]  meta ttl, ms (>= history ttl)
-- ARGV[7]  epoch to use if the room has none (a new or lost room)
-- ARGV[8]  the room's channel (same hash tag as the keys)
-- ARGV[9]  'publish' or 'spublish' (Cluster: sharded pub/sub)
-- Returns { offset, epoch, created (1 when this publish wrote a new room meta, else 0) }.

local epoch = redis.call('HGET', KEYS[1], 'e')
local created = 0
if not epoch then
  created = 1
  epoch = ARGV[7]
  redis.call('HSET', KEYS[1], 'e', epoch)
  -- Anything left in the stream belongs to a lost epoch.
  redis.call('DEL', KEYS[2])
end
local offset = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[6])

-- Integers below 1e14 print exactly, the same digits as the JavaScript side would write.
local line = ARGV[1] .. offset .. ARGV[2]

local size = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
if size > 0 and ttl > 0 then
  -- Exact MAXLEN: the same count bound as the memory broker, so recovery answers the same.
  redis.call('XADD', KEYS[2], 'MAXLEN', size, offset .. '-0', 't', ARGV[3], 'd', line)
  redis.call('PEXPIRE', KEYS[2], ttl)
end

redis.call(ARGV[9], ARGV[8], offset .. ':' .. epoch .. ':' .. line)
return { offset, epoch, created }
