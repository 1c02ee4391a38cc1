-- Retries an entry later (runs after lines_common.lua): acknowledges it and adds its payload
-- back among the delayed entries for its due time; an entry of a line keeps its line's turn
-- until then plus the line's lease.
-- KEYS[1]: the stream; KEYS[2]: the delayed entries' sorted set.
-- ARGV[1]: the group; ARGV[2]: the entry id; ARGV[3]: the payload; ARGV[4]: due (ms);
--   ARGV[5]: now (ms); ARGV[6]: 16 hex digits that keep equal payloads apart.
-- Answers 1.
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = {}
if found[1] then f = fields_of(found[1][2]) end
if f.g then
  local token = f.t or ARGV[2]
  local turn = base .. 'line:' .. f.g
  local holder = redis.call('GET', turn)
  if not holder or holder == token then
    local hold = math.max(tonumber(ARGV[4]) - tonumber(ARGV[5]), 0) + tonumber(f.l)
    redis.call('SET', turn, token, 'PX', hold)
  end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6] .. ';' .. f.g .. '|' .. f.l .. '|' .. token .. '|' .. ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6] .. ':' .. ARGV[3])
end
return 1
