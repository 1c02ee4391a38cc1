-- Applies one Conéctate consent change and appends it, with its outcome, to the consent
-- ledger, in one step.
-- KEYS[1]: the subscriber; KEYS[2]: the active subscribers' sorted set; KEYS[3]: the ledger
--   stream; KEYS[4]: the ledger's sequence (all under the subscribers' hash tag).
-- ARGV[1]: the action (subscribe | unsubscribe); ARGV[2]: the user key; ARGV[3]: the
--   subscriber record (JSON); ARGV[4]: the ledger record (JSON; its seq and outcome are given
--   by the entry's id and `outcome` field).
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
return outcome
