-- Acknowledges entries (runs after lines_common.lua): acknowledges and deletes each one and
-- passes its line's turn on to the line's next parked entry.
-- KEYS[1]: the stream; KEYS[2]: the parked count.
-- ARGV[1]: the group; ARGV[2…]: the entry ids.
-- Answers how many parked entries came back to the stream.
local passed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  redis.call('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
  if found[1] then
    local f = fields_of(found[1][2])
    if f.g then passed = passed + pass(id, f, KEYS[2]) end
  end
end
return passed
