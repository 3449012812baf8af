-- Stock locks for ONE warehouse (all KEYS share the hash tag {wh:<id>}, so this runs on Redis Cluster).
-- ARGV[1] = operation.
--   set:      KEYS[1] = stock key; ARGV = op, warehouse_id, sku, on_hand
--             -> {1, previous_on_hand or -1, reserved} or {0, reserved} when on_hand < reserved
--   reserve:  KEYS[1] = reservation key of the order, KEYS[1+i] = stock key of line i; ARGV = op, sku_1, qty_1, ...
--             checks every line first, then applies: -> {1} or {0, i, available, j, available, ...}
--   release / consume: same layout; takes min(qty, held) per line -> {taken_1, taken_2, ...}
local op = ARGV[1]

if op == 'set' then
  local key = KEYS[1]
  local on_hand = tonumber(ARGV[4])
  local current = redis.call('HMGET', key, 'on_hand', 'reserved')
  local reserved = tonumber(current[2]) or 0
  if on_hand < reserved then
    return {0, reserved}
  end
  local previous = tonumber(current[1]) or -1
  redis.call('HSET', key, 'wh', ARGV[2], 'sku', ARGV[3], 'on_hand', on_hand, 'reserved', reserved)
  return {1, previous, reserved}
end

local resv = KEYS[1]
local n = #KEYS - 1

if op == 'reserve' then
  local short = {0}
  for i = 1, n do
    local qty = tonumber(ARGV[2 * i + 1])
    local current = redis.call('HMGET', KEYS[i + 1], 'on_hand', 'reserved')
    local available = (tonumber(current[1]) or 0) - (tonumber(current[2]) or 0)
    if available < qty then
      short[#short + 1] = i
      short[#short + 1] = available
    end
  end
  if #short > 1 then
    return short
  end
  for i = 1, n do
    local sku = ARGV[2 * i]
    local qty = tonumber(ARGV[2 * i + 1])
    redis.call('HINCRBY', KEYS[i + 1], 'reserved', qty)
    redis.call('HINCRBY', resv, sku, qty)
  end
  return {1}
end

if op == 'release' or op == 'consume' then
  local taken = {}
  for i = 1, n do
    local sku = ARGV[2 * i]
    local qty = tonumber(ARGV[2 * i + 1])
    local held = tonumber(redis.call('HGET', resv, sku)) or 0
    local take = math.min(qty, held)
    if take > 0 then
      if take == held then
        redis.call('HDEL', resv, sku)
      else
        redis.call('HINCRBY', resv, sku, -take)
      end
      redis.call('HINCRBY', KEYS[i + 1], 'reserved', -take)
      if op == 'consume' then
        redis.call('HINCRBY', KEYS[i + 1], 'on_hand', -take)
      end
    else
      take = 0
    end
    taken[i] = take
  end
  return taken
end

return redis.error_reply('unknown stock operation ' .. tostring(op))
