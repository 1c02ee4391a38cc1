-- Adds the counts of the ledger records older than the counters, once.
-- KEYS[1]: the counts hash; KEYS[2]: the marker that it was done (both under the subscribers'
--   hash tag).
-- ARGV: pairs of a counts field (`QUARTER:n|l|d`) and what to add to it.
-- Answers 1 when it added them, 0 when another process already had.
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[2], '1')
return 1
