-- One step of the rate governor: the generic cell rate algorithm of `store::gcra`, in
-- microseconds on the server's clock, so every process shares one bucket and one clock.
-- KEYS[1]: the bucket (its theoretical arrival time of the next permit, µs).
-- ARGV[1]: the interval between permits (µs); ARGV[2]: the burst; ARGV[3]: the operation
--   (take | charge | pause); ARGV[4]: its amount (permits, or µs for pause); ARGV[5]: the
--   window (µs, for charge).
-- Answers {permits granted, µs until one more is free}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local amount = tonumber(ARGV[4])
local limit = now + burst * interval
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local granted, next_in = 0, 0
if ARGV[3] == 'take' then
  granted = math.min(math.max(math.floor((limit - tat) / interval), 0), amount)
  tat = tat + granted * interval
  if granted < amount then next_in = math.max(tat + interval - limit, 0) end
elseif ARGV[3] == 'charge' then
  local window = tonumber(ARGV[5])
  local spent = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now - window) + amount * interval
  tat = math.max(tat, math.min(spent, now + math.max(window, burst * interval)))
else
  tat = math.max(tat, now + amount + (burst - 1) * interval)
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
return {granted, next_in}
