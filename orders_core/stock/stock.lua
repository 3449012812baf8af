-- Stock locks for ONE warehouse (all KEYS share the hash tag {wh:<id>}, so this runs on Redis Cluster).
-- ARGV[1] = operation.
--   set:      KEYS[1] = stock key; ARGV = op, warehouse_id, sku, on_hand
--             -> {1, previous_on_hand or -1, reserved} or {0, reserved} when on_hand < reserved
--   put:      KEYS[1] = stock key; ARGV = op, warehouse_id, sku, on_hand: the committed count, written
--             as is (after commit; may leave available < 0 until in-flight holds fail) -> {previous or -1}
--   fix_on_hand: KEYS[1] = stock key; ARGV = op, warehouse_id, sku, expected ('' = no count), target
--             compare-and-set of on_hand (the reconciler) -> 1 done, 0 changed meanwhile
-- The other operations take KEYS[1] = reservation key of the order, KEYS[2] = its lease key,
-- KEYS[2+i] = stock key of line i; ARGV = op, lease token, lease ms, then per line i the values below.
--   reserve:  sku_i, qty_i; checks every line first, then applies and leases the hold:
--             -> {1} or {0, i, available, j, available, ...}
--   release / consume: sku_i, qty_i; takes min(qty, held) per line -> {taken_1, taken_2, ...}
--   fix_hold: sku_i, expected_i, target_i; compare-and-set of the order's hold (the reconciler):
--             -> {-1} leased (in flight), {-2} changed meanwhile, else {units moved}
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

if op == 'put' then
  local key = KEYS[1]
  local current = redis.call('HMGET', key, 'on_hand', 'reserved')
  redis.call('HSET', key, 'wh', ARGV[2], 'sku', ARGV[3], 'on_hand', tonumber(ARGV[4]),
    'reserved', tonumber(current[2]) or 0)
  return {tonumber(current[1]) or -1}
end

if op == 'fix_on_hand' then
  local key = KEYS[1]
  local current = redis.call('HMGET', key, 'on_hand', 'reserved')
  local expected = ARGV[4]
  if (expected == '' and current[1]) or (expected ~= '' and tonumber(current[1]) ~= tonumber(expected)) then
    return 0
  end
  redis.call('HSET', key, 'wh', ARGV[2], 'sku', ARGV[3], 'on_hand', tonumber(ARGV[5]),
    'reserved', tonumber(current[2]) or 0)
  return 1
end

local resv = KEYS[1]
local lease = KEYS[2]
local n = #KEYS - 2

if op == 'reserve' then
  local short = {0}
  for i = 1, n do
    local qty = tonumber(ARGV[2 * i + 3])
    local current = redis.call('HMGET', KEYS[i + 2], 'on_hand', 'reserved')
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
    local sku = ARGV[2 * i + 2]
    local qty = tonumber(ARGV[2 * i + 3])
    redis.call('HINCRBY', KEYS[i + 2], 'reserved', qty)
    redis.call('HINCRBY', resv, sku, qty)
  end
  local lease_ms = tonumber(ARGV[3])
  if lease_ms > 0 then
    -- The hold is in flight until its unit of work commits (then the token is deleted): the reconciler
    -- leaves a leased hold alone, and frees it once the lease expired without a durable row behind it.
    redis.call('HSET', lease, ARGV[2], 1)
    if redis.call('PTTL', lease) < lease_ms then
      redis.call('PEXPIRE', lease, lease_ms)
    end
  end
  return {1}
end

if op == 'release' or op == 'consume' then
  local taken = {}
  for i = 1, n do
    local sku = ARGV[2 * i + 2]
    local qty = tonumber(ARGV[2 * i + 3])
    local held = tonumber(redis.call('HGET', resv, sku)) or 0
    local take = math.min(qty, held)
    if take > 0 then
      if take == held then
        redis.call('HDEL', resv, sku)
      else
        redis.call('HINCRBY', resv, sku, -take)
      end
      redis.call('HINCRBY', KEYS[i + 2], 'reserved', -take)
      if op == 'consume' then
        redis.call('HINCRBY', KEYS[i + 2], 'on_hand', -take)
      end
    else
      take = 0
    end
    taken[i] = take
  end
  return taken
end

if op == 'fix_hold' then
  if redis.call('EXISTS', lease) == 1 then
    return {-1}
  end
  for i = 1, n do
    local held = tonumber(redis.call('HGET', resv, ARGV[3 * i + 1])) or 0
    if held ~= tonumber(ARGV[3 * i + 2]) then
      return {-2}
    end
  end
  local moved = 0
  for i = 1, n do
    local sku = ARGV[3 * i + 1]
    local held = tonumber(ARGV[3 * i + 2])
    local target = tonumber(ARGV[3 * i + 3])
    if target ~= held then
      if target == 0 then
        redis.call('HDEL', resv, sku)
      else
        redis.call('HSET', resv, sku, target)
      end
      redis.call('HINCRBY', KEYS[i + 2], 'reserved', target - held)
      moved = moved + math.abs(target - held)
    end
  end
  return {moved}
end

return redis.error_reply('unknown stock operation ' .. tostring(op))
