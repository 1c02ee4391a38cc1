-- Runs a batch of once-operations (QueueStore::enqueue_once) in order, in one step: each adds
-- its entry, leases or releases its unit of work only as its once-mark allows, counting new
-- work in its window (a flood limit) first.
-- KEYS[1]: the queue's stream; then two per operation: its once-mark and its window (the mark
--   again when it has none).
-- ARGV: seven per operation: kind (e: enqueue, E: enqueue under our lease, m and M: the same
--   without a payload, l: lease, r: release), ttl (ms), payload, window limit ('' for none),
--   window ttl (ms), line ('' for none) and its lease (ms): an entry of a line carries them in
--   its fields `g` and `l` (see the `lines` module).
-- Answers per operation: 0 unmarked, 1 leased, 2 done, or -n: the window's nth offer, over its
-- limit.
local function add(a)
  if ARGV[a + 6] == '' then
    redis.call('XADD', KEYS[1], '*', 'p', ARGV[a + 3])
  else
    redis.call('XADD', KEYS[1], '*', 'p', ARGV[a + 3], 'g', ARGV[a + 6], 'l', ARGV[a + 7])
  end
end
local found = {}
for i = 1, (#KEYS - 1) / 2 do
  local mark, window = KEYS[2 * i], KEYS[2 * i + 1]
  local a = 7 * (i - 1)
  local kind, ttl = ARGV[a + 1], ARGV[a + 2]
  if kind == 'e' or kind == 'm' then
    -- Marked done now if it was not marked at all; otherwise left as it was.
    local was = redis.call('SET', mark, 'd', 'PX', ttl, 'NX', 'GET')
    if was == 'l' then found[i] = 1 elseif was then found[i] = 2 else
      found[i] = 0
      if ARGV[a + 4] ~= '' then
        local n = redis.call('INCR', window)
        if n == 1 then redis.call('PEXPIRE', window, ARGV[a + 5]) end
        if n > tonumber(ARGV[a + 4]) then found[i] = -n end
      end
      if found[i] == 0 and kind == 'e' then add(a) end
    end
  else
    local was = redis.call('GET', mark)
    local m = 0
    if was == 'l' then m = 1 elseif was then m = 2 end
    found[i] = m
    if kind == 'r' then
      if m == 1 then redis.call('DEL', mark) end
    elseif kind == 'l' then
      if m == 0 and ARGV[a + 4] ~= '' then
        local n = redis.call('INCR', window)
        if n == 1 then redis.call('PEXPIRE', window, ARGV[a + 5]) end
        if n > tonumber(ARGV[a + 4]) then found[i] = -n end
      end
      if found[i] == 0 then redis.call('SET', mark, 'l', 'PX', ttl) end
    elseif m < 2 then
      if kind == 'E' then add(a) end
      redis.call('SET', mark, 'd', 'PX', ttl)
    end
  end
end
return found
