-- The functions every line script shares (claim, ack, retry, admit): prefixed to each of them,
-- so the scripts run as one body. See the `lines` module for how a line is kept.
-- KEYS[1] is always the queue's stream; the line keys are named from it (`base`), so they
-- share its hash tag.
-- admit(group, id, fields, parked count key): whether the entry may go now (it takes its
--   line's turn), or it was parked out of the stream.
-- pass(id, fields, parked count key): the entry is done; answers 1 when the turn went to a
--   parked entry added back to the stream, 0 otherwise.
local base = string.sub(KEYS[1], 1, -7)
local function fields_of(list)
  local f = {}
  for j = 1, #list, 2 do f[list[j]] = list[j + 1] end
  return f
end
-- Whether the entry `id` (fields f) may go now: it takes its line's turn when the turn is
-- free, ran out or is its own; otherwise it is parked, out of the stream.
local function admit(group, id, f, count)
  local token = f.t or id
  local turn = base .. 'line:' .. f.g
  local holder = redis.call('GET', turn)
  if holder and holder ~= token then
    redis.call('RPUSH', base .. 'parked:' .. f.g, token .. '|' .. f.l .. '|' .. f.p)
    redis.call('INCR', count)
    redis.call('XACK', KEYS[1], group, id)
    redis.call('XDEL', KEYS[1], id)
    return false
  end
  redis.call('SET', turn, token, 'PX', f.l)
  return true
end
-- The entry `id` (fields f) is done: unless another entry took the turn meanwhile, the turn
-- goes to the line's next parked entry, added to the stream again, or the line is left free.
local function pass(id, f, count)
  local token = f.t or id
  local turn = base .. 'line:' .. f.g
  local holder = redis.call('GET', turn)
  if holder and holder ~= token then return 0 end
  local nxt = redis.call('LPOP', base .. 'parked:' .. f.g)
  if not nxt then
    redis.call('DEL', turn)
    return 0
  end
  redis.call('DECR', count)
  local a = string.find(nxt, '|', 1, true)
  local b = string.find(nxt, '|', a + 1, true)
  local t, l = string.sub(nxt, 1, a - 1), string.sub(nxt, a + 1, b - 1)
  redis.call('XADD', KEYS[1], '*', 'p', string.sub(nxt, b + 1), 'g', f.g, 'l', l, 't', t)
  redis.call('SET', turn, t, 'PX', l)
  return 1
end
