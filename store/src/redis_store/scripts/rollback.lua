-- Rolls the current pointer back to a kept version and records the move, unless the pointer
-- moved since the caller read it.
-- KEYS[1]: the current pointer; KEYS[2]: the pointer history stream; KEYS[3]: the target
--   version's hash.
-- ARGV[1]: the target version; ARGV[2]: the expected current version ('' for none); ARGV[3]:
--   the history entry (JSON).
-- Answers 1 when moved, 0 when the target is not kept, -1 when the pointer had moved.
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[2] then return -1 end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'c', ARGV[3])
return 1
