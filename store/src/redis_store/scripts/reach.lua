-- The messaging limit: forgets users reached before the window, then admits each user already
-- in it or while fewer than the limit are, on the server's clock.
-- KEYS[1]: the reached users' sorted set (scored by when last reached, ms).
-- ARGV[1]: the window (ms); ARGV[2]: the limit (unique users per window); ARGV[3…]: the users.
-- Answers {admitted flags (1 or 0 per user), ms until a place frees (-1 when none was
--   refused), users in the window}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
local n = redis.call('ZCARD', KEYS[1])
local out, refused = {}, false
for i = 3, #ARGV do
  local ok = 0
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    ok = 1
  elseif n < limit then
    ok = 1
    n = n + 1
  end
  if ok == 1 then redis.call('ZADD', KEYS[1], now, ARGV[i]) else refused = true end
  out[#out + 1] = ok
end
local next_in = -1
if refused then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  next_in = math.max(tonumber(oldest[2] or now) + window - now, 1)
end
if n > 0 then redis.call('PEXPIRE', KEYS[1], window + 60000) end
return {out, next_in, n}
