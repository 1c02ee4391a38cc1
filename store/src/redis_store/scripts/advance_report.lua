-- Moves delivery-report items of one content forward: an item takes a new state only if its
-- rank is higher than the one it has, and the per-state counts follow in the same step.
-- KEYS[1]: the content's items hash (item → `rank|label`); KEYS[2]: its counts hash (label →
--   items), under the content's hash tag.
-- ARGV[1]: how long the items are kept (ms); ARGV[2…]: item, rank, label for each update.
-- Answers for each update whether it moved the item (1) or not (0).
local out = {}
for i = 2, #ARGV, 3 do
  local item, rank, label = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local cur = redis.call('HGET', KEYS[1], item)
  local moved = 1
  if cur then
    local sep = string.find(cur, '|', 1, true)
    if tonumber(string.sub(cur, 1, sep - 1)) >= rank then
      moved = 0
    else
      local previous = string.sub(cur, sep + 1)
      if redis.call('HINCRBY', KEYS[2], previous, -1) <= 0 then redis.call('HDEL', KEYS[2], previous) end
    end
  end
  if moved == 1 then
    redis.call('HSET', KEYS[1], item, rank .. '|' .. label)
    redis.call('HINCRBY', KEYS[2], label, 1)
  end
  out[#out + 1] = moved
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
