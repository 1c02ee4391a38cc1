-- Claims entries of a queue (runs after lines_common.lua): moves due delayed entries into the
-- stream, reads new entries for the consumer, and hands out those that may go (an entry of a
-- line only with its line's turn; the others are parked).
-- KEYS[1]: the stream; KEYS[2]: the delayed entries' sorted set; KEYS[3]: the parked count.
-- ARGV[1]: the group; ARGV[2]: the consumer; ARGV[3]: how many to read; ARGV[4]: now (ms).
-- Answers `id, payload, id, payload…` for the entries handed out.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4], 'LIMIT', 0, 256)
for _, m in ipairs(due) do
  if string.sub(m, 17, 17) == ':' then
    redis.call('XADD', KEYS[1], '*', 'p', string.sub(m, 18))
  else
    local a = string.find(m, '|', 18, true)
    local b = string.find(m, '|', a + 1, true)
    local c = string.find(m, '|', b + 1, true)
    redis.call('XADD', KEYS[1], '*', 'p', string.sub(m, c + 1), 'g', string.sub(m, 18, a - 1),
      'l', string.sub(m, a + 1, b - 1), 't', string.sub(m, b + 1, c - 1))
  end
  redis.call('ZREM', KEYS[2], m)
end
local out = {}
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if read then
  for _, e in ipairs(read[1][2]) do
    local f = fields_of(e[2])
    if f.p and (not f.g or admit(ARGV[1], e[1], f, KEYS[3])) then
      out[#out + 1] = e[1]
      out[#out + 1] = f.p
    end
  end
end
return out
