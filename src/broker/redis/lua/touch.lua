-- Barrage: renews the short life of a room meta that has never had a message, while a node holds
-- the room (see history.lua). A room with messages keeps the TTL its publishes set.
--
-- KEYS[1]  room meta hash (e = epoch, s = last offset)
-- ARGV[1]  meta ttl of a room without messages, ms
-- Returns 1 when renewed, 0 when the meta is gone or the room has had a message.

if redis.call('HGET', KEYS[1], 's') == '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return 1
end
return 0
