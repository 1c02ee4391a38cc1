-- Admits re-claimed entries (runs after lines_common.lua): each entry of a line taken over
-- from a dead consumer takes its line's turn again, or is parked until it comes.
-- KEYS[1]: the stream; KEYS[2]: the parked count.
-- ARGV[1]: the group; ARGV[2…]: the ids of the re-claimed entries.
-- Answers for each id whether it may go (1) or was parked (0).
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  local ok = 1
  if found[1] then
    local f = fields_of(found[1][2])
    if f.g and f.p and not admit(ARGV[1], id, f, KEYS[2]) then ok = 0 end
  end
  out[#out + 1] = ok
end
return out
