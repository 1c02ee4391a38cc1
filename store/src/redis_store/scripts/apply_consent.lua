-- Applies one Conéctate consent change and appends it, with its outcome, to the consent
-- ledger and its quarter-hour counts, in one step.
-- KEYS[1]: the subscriber; KEYS[2]: the active subscribers' sorted set; KEYS[3]: the ledger
--   stream; KEYS[4]: the ledger's sequence; KEYS[5]: the counts hash; KEYS[6]: the first seq
--   the counts include (all under the subscribers' hash tag).
-- ARGV[1]: the action (subscribe | unsubscribe); ARGV[2]: the user key; ARGV[3]: the
--   subscriber record (JSON); ARGV[4]: the ledger record (JSON; its seq and outcome are given
--   by the entry's id and `outcome` field); ARGV[5]: the quarter hour of the change;
--   ARGV[6]: 1 when it counts as new or left (not a number change), else 0.
-- Answers the outcome: subscribed, already_subscribed, unsubscribed or not_subscribed.
local exists = redis.call('EXISTS', KEYS[1]) == 1
local outcome
if ARGV[1] == 'subscribe' then
  if exists then outcome = 'already_subscribed' else
    redis.call('SET', KEYS[1], ARGV[3])
    redis.call('ZADD', KEYS[2], 0, ARGV[2])
    outcome = 'subscribed'
  end
else
  if exists then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[2])
    outcome = 'unsubscribed'
  else outcome = 'not_subscribed' end
end
local seq = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], seq .. '-1', 'outcome', outcome, 'rec', ARGV[4])
redis.call('SET', KEYS[6], seq, 'NX')
if outcome == 'subscribed' or outcome == 'unsubscribed' then
  local step = 1
  local field = ':n'
  if outcome == 'unsubscribed' then step = -1; field = ':l' end
  redis.call('HINCRBY', KEYS[5], ARGV[5] .. ':d', step)
  if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[5], ARGV[5] .. field, 1) end
end
return outcome
