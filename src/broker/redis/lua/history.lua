-- Barrage: a room's position and history, read atomically with the position.
-- All or nothing: with a matching epoch, every message after `since` or none of them.
--
-- A room that never had a message is stored only when asked (ARGV[1] non-empty: this node holds
-- a member, so the answer's epoch must be the one later publishes use), and then with the short
-- empty-room TTL (ARGV[7]), which the node renews while it holds the room: made-up room names
-- read by joiners leave nothing that outlives them.
--
-- KEYS[1]  room meta hash (e = epoch, s = last offset)
-- KEYS[2]  room history stream (entry id = OFFSET-0, fields t = ts, d = line)
-- ARGV[1]  epoch to store if the room has none ('' : store nothing)
-- ARGV[2]  meta ttl of a room that has had messages, ms
-- ARGV[3]  since epoch ('' when no since)
-- ARGV[4]  since offset (ignored when ARGV[3] is '')
-- ARGV[5]  limit: the last N messages when not recovered (0: none)
-- ARGV[6]  oldest ts still held, ms (entries accepted before it count as expired)
-- ARGV[7]  meta ttl of a room without messages, ms
-- ARGV[8]  epoch to answer with when the room has none and none is stored
-- Returns { epoch, offset, recovered (0 or 1), created (0 or 1), line, line, ... } with lines
-- oldest first.

local meta = redis.call('HMGET', KEYS[1], 'e', 's')
local epoch = meta[1]
local offset = tonumber(meta[2]) or 0
local created = 0
if not epoch then
  if ARGV[1] == '' then
    -- Nothing stored and nothing to store: an empty room, a fresh epoch, no history.
    return { ARGV[8], 0, 0, 0 }
  end
  epoch = ARGV[1]
  offset = 0
  created = 1
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
  redis.call('DEL', KEYS[2])
end
if offset == 0 then
  -- Renewed for members only: readers without one must not keep an empty room alive.
  if ARGV[1] ~= '' then
    redis.call('PEXPIRE', KEYS[1], ARGV[7])
  end
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end

local min_ts = tonumber(ARGV[6])
local out = { epoch, offset, 0, created }

if ARGV[3] == epoch then
  local since = tonumber(ARGV[4])
  if since == offset then
    out[3] = 1
    return out
  end
  if since < offset then
    local from = (since + 1) .. '-0'
    local entries = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', offset - since)
    local first = entries[1]
    -- Offsets in the stream are consecutive: if the next one is held and fresh, all are.
    if first and first[1] == from and tonumber(first[2][2]) >= min_ts then
      out[3] = 1
      for i = 1, #entries do
        out[#out + 1] = entries[i][2][4]
      end
      return out
    end
  end
end

local limit = tonumber(ARGV[5])
if limit > 0 then
  local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', limit)
  -- Newest first; keep the run of entries that have not expired.
  local keep = 0
  while keep < #entries and tonumber(entries[keep + 1][2][2]) >= min_ts do
    keep = keep + 1
  end
  for i = keep, 1, -1 do
    out[#out + 1] = entries[i][2][4]
  end
end
return out
