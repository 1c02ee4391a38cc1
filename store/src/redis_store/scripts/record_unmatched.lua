-- Records a batch of «Sin entender» phrases: adds each phrase's times and citizen marks (8 hex
-- digits each, at most the max per phrase), evicts the phrase unseen longest beyond the max of
-- phrases, and forgets the phrases last seen before the cutoff.
-- KEYS[1]: the phrases (sorted set by last seen, ms); KEYS[2]: first seen (hash); KEYS[3]: the
--   marks (hash), all under one hash tag.
-- ARGV[1]: the cutoff (ms); ARGV[2]: the max of phrases; ARGV[3]: the max of marks per phrase;
--   ARGV[4]: how long the keys live (ms); ARGV[5…]: phrase, first seen, last seen and its
--   marks for each phrase.
-- Answers 0.
local cutoff, maxp, maxc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 5, #ARGV, 4 do
  local phrase, first, last, marks = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local known = redis.call('ZSCORE', KEYS[1], phrase)
  if not known then
    while redis.call('ZCARD', KEYS[1]) >= maxp do
      local oldest = redis.call('ZPOPMIN', KEYS[1])
      if #oldest == 0 then break end
      redis.call('HDEL', KEYS[2], oldest[1])
      redis.call('HDEL', KEYS[3], oldest[1])
    end
  end
  if not known or tonumber(last) > tonumber(known) then redis.call('ZADD', KEYS[1], last, phrase) end
  local f = redis.call('HGET', KEYS[2], phrase)
  if not f or tonumber(first) < tonumber(f) then redis.call('HSET', KEYS[2], phrase, first) end
  local have = redis.call('HGET', KEYS[3], phrase) or ''
  local n = #have / 8
  for j = 1, #marks, 8 do
    if n >= maxc then break end
    local m = string.sub(marks, j, j + 7)
    local found, from = false, 1
    while true do
      local s = string.find(have, m, from, true)
      if not s then break end
      if (s - 1) % 8 == 0 then found = true break end
      from = s + 1
    end
    if not found then
      have = have .. m
      n = n + 1
    end
  end
  redis.call('HSET', KEYS[3], phrase, have)
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
for _, p in ipairs(gone) do
  redis.call('HDEL', KEYS[2], p)
  redis.call('HDEL', KEYS[3], p)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ARGV[4]) end
return 0
