//! The lines of the Redis store's queues ([`Line`](crate::Line)), in the scripts that claim,
//! acknowledge, retry and re-claim entries.
//!
//! An entry of a line carries its line in its stream fields: `g` (the line), `l` (its lease in
//! ms) and, once it has come back from a retry or a parking, `t`, its token (the stream id it
//! was first added under; until then the token is its own id). Beside the stream, in the
//! queue's hash slot (the scripts name them from the stream's key): `line:LINE` holds the
//! token that has the turn, expiring with the lease, and `parked:LINE` lists the entries
//! waiting for it as `token|lease|payload`; `parked` counts them for the queue's depth. A
//! delayed entry of a line is kept as `16 hex digits;line|lease|token|payload` (a plain one as
//! `16 hex digits:payload`).
//!
//! The claim reads the stream inside its script (`XREADGROUP` without `BLOCK`), so the entry
//! added first takes a line's turn first whichever worker claims it: taking the turn in a
//! second step would let a later entry, claimed by a quicker worker, overtake it.

/// The functions every line script shares. KEYS[1] is the queue's stream.
const COMMON: &str = r"
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
";

/// KEYS: stream, delayed, parked count. ARGV: group, consumer, count, now (ms). Moves due
/// delayed entries into the stream, reads new entries and answers those that may go, as
/// `id, payload, id, payload…`.
const CLAIM: &str = r"
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
";

/// KEYS: stream, parked count. ARGV: group, then ids. Acknowledges and deletes each entry and
/// passes its line's turn on; answers how many parked entries came back to the stream.
const ACK: &str = r"
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
";

/// KEYS: stream, delayed. ARGV: group, id, payload, due (ms), now (ms), 16 hex digits.
/// Acknowledges the entry and adds `payload` back for its due time, holding its line's turn.
const RETRY: &str = r"
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = {}
if found[1] then f = fields_of(found[1][2]) end
if f.g then
  local token = f.t or ARGV[2]
  local turn = base .. 'line:' .. f.g
  local holder = redis.call('GET', turn)
  if not holder or holder == token then
    local hold = math.max(tonumber(ARGV[4]) - tonumber(ARGV[5]), 0) + tonumber(f.l)
    redis.call('SET', turn, token, 'PX', hold)
  end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6] .. ';' .. f.g .. '|' .. f.l .. '|' .. token .. '|' .. ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6] .. ':' .. ARGV[3])
end
return 1
";

/// KEYS: stream, parked count. ARGV: group, then ids of re-claimed entries. Answers for each
/// whether it may go (1) or was parked (0).
const ADMIT: &str = r"
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
";

/// The line scripts, each with the shared functions.
pub(super) struct LineScripts {
    pub claim: redis::Script,
    pub ack: redis::Script,
    pub retry: redis::Script,
    pub admit: redis::Script,
}

impl LineScripts {
    pub(super) fn new() -> LineScripts {
        let with_common = |body: &str| redis::Script::new(&format!("{COMMON}{body}"));
        LineScripts {
            claim: with_common(CLAIM),
            ack: with_common(ACK),
            retry: with_common(RETRY),
            admit: with_common(ADMIT),
        }
    }
}
