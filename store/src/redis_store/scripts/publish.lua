-- Publishes a snapshot: writes its version and moves the current pointer to it in one step,
-- unless another publisher moved the pointer since the content was built.
-- KEYS[1]: the current pointer; KEYS[2]: the new version's hash; KEYS[3]: the versions sorted
--   set; KEYS[4]: the pointer history stream (all under the snapshots' hash tag).
-- ARGV[1]: the expected current version ('' for none); ARGV[2]: the new version; ARGV[3]: the
--   history entry (JSON); ARGV[4…]: the hash's field/value pairs (`meta`, then `a:KEY`).
-- Answers {1, new version}, or {0, current version} when the pointer had moved (a conflict).
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {0, cur} end
redis.call('DEL', KEYS[2])
local i = 4
while i <= #ARGV do
  local last = math.min(i + 199, #ARGV)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'c', ARGV[3])
return {1, ARGV[2]}
