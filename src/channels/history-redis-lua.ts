/**
 * The Lua scripts of the Redis channel log. Every script gets KEYS[1], the
 * channel's meta hash {epoch, offset, ttl}, and KEYS[2], its stream of kept
 * messages (entry id `<offset>-0`, fields `frame` and `at`), and ARGV[1], a
 * fresh epoch, and ARGV[2], the state TTL in ms, used when the meta is
 * missing. Each runs atomically, so an offset is assigned, kept and
 * published in one step for the whole cluster.
 */

// The channel's epoch, starting a new one (offset 0, no history) when the meta is missing:
// the channel is new, or its keys expired or were evicted.
const CURRENT_EPOCH_LUA = `
local function current_epoch ()
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if epoch then return epoch end
  -- A stream left from a lost epoch is not part of the new one (and its ids would be ahead).
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'offset', 0, 'ttl', 0)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return ARGV[1]
end
`

/**
 * A batch of publishes, in order. KEYS: each message's meta and stream, in
 * pairs. ARGV[3]: the events channel; ARGV[4]: n, the number of messages;
 * ARGV[5 .. 5+n]: the pub/sub message's pieces around each offset (see
 * envelopePieces); then four per message: the frame up to its offset, size,
 * history TTL ms, now (ms, the application's clock). Returns {epoch, offset}
 * per message. A message is kept when size and TTL are both positive; the
 * meta lives max(TTL, state TTL) after the last publish, the stream its TTL
 * plus a second (entries are judged by their `at`, so Redis's expiry only
 * collects what is already stale). One PUBLISH carries the whole batch.
 */
export const PUBLISH_BATCH_LUA = `
local function epoch_of (meta, stream)
  local epoch = redis.call('HGET', meta, 'epoch')
  if epoch then return epoch end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', ARGV[1], 'offset', 0, 'ttl', 0)
  redis.call('PEXPIRE', meta, tonumber(ARGV[2]))
  return ARGV[1]
end
local n = tonumber(ARGV[4])
local first = 5 + n + 1
local out = { ARGV[5] }
local reply = {}
for i = 1, n do
  local meta, stream = KEYS[2 * i - 1], KEYS[2 * i]
  local base = first + (i - 1) * 4
  local epoch = epoch_of(meta, stream)
  local offset = redis.call('HINCRBY', meta, 'offset', 1)
  local digits = string.format('%d', offset)
  local size = tonumber(ARGV[base + 1])
  local ttl = tonumber(ARGV[base + 2])
  redis.call('HSET', meta, 'ttl', ttl)
  if size > 0 and ttl > 0 then
    redis.call('XADD', stream, 'MAXLEN', size, digits .. '-0', 'frame', ARGV[base] .. digits .. '}', 'at', ARGV[base + 3])
    redis.call('PEXPIRE', stream, ttl + 1000)
  else
    redis.call('DEL', stream)
  end
  redis.call('PEXPIRE', meta, math.max(ttl, tonumber(ARGV[2])))
  out[#out + 1] = digits
  out[#out + 1] = ARGV[5 + i]
  reply[#reply + 1] = epoch
  reply[#reply + 1] = offset
end
redis.call('PUBLISH', ARGV[3], table.concat(out))
return reply`

/** Returns {epoch, offset}, creating the meta when missing so the epoch stays the same for a later recover. */
export const POSITION_LUA = `${CURRENT_EPOCH_LUA}
local epoch = current_epoch()
return {epoch, tonumber(redis.call('HGET', KEYS[1], 'offset'))}`

/**
 * ARGV[3..5]: the client's epoch, its offset, now (ms). Returns {epoch,
 * offset, 1, frames…} when every message after the client's offset is kept
 * and not older than the history TTL, else {epoch, offset, 0}: never a
 * partial replay. The kept entries are consecutive up to the current offset
 * (MAXLEN trims the oldest exactly), so it is enough to check that the one
 * right after the client's offset is there and fresh.
 */
export const RECOVER_LUA = `${CURRENT_EPOCH_LUA}
local epoch = current_epoch()
local meta = redis.call('HMGET', KEYS[1], 'offset', 'ttl')
local offset = tonumber(meta[1])
local ttl = tonumber(meta[2]) or 0
local from = tonumber(ARGV[4])
if epoch ~= ARGV[3] or from > offset then return {epoch, offset, 0} end
if from == offset then return {epoch, offset, 1} end
local next_id = string.format('%d-0', from + 1)
local entries = redis.call('XRANGE', KEYS[2], next_id, '+')
if #entries ~= offset - from or entries[1][1] ~= next_id then return {epoch, offset, 0} end
local reply = {epoch, offset, 1}
for i, entry in ipairs(entries) do
  local fields = entry[2]
  local frame, at
  for j = 1, #fields, 2 do
    if fields[j] == 'frame' then frame = fields[j + 1] elseif fields[j] == 'at' then at = tonumber(fields[j + 1]) end
  end
  if frame == nil or (i == 1 and (at == nil or at + ttl <= tonumber(ARGV[5]))) then return {epoch, offset, 0} end
  reply[i + 3] = frame
end
return reply`
