-- Writes a Conéctate content record if its revision is still the one the caller read
-- (compare-and-set), raising the revision by one.
-- KEYS[1]: the contents hash (field = id, value = `revision|record`).
-- ARGV[1]: the content id; ARGV[2]: the expected revision (0 for a new content); ARGV[3]: the
--   record.
-- Answers the new revision, or -1 when the stored revision was another.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rev = 0
if cur then rev = tonumber(string.match(cur, '^(%d+)|')) end
if rev ~= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], (rev + 1) .. '|' .. ARGV[3])
return rev + 1
