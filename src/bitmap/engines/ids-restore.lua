-- Stores exact string id pairs (copying a mapping): all or none.
-- KEYS[1] forward hash, KEYS[2] reverse hash, KEYS[3] the counter of ids handed out.
-- ARGV: external id, dense id, external id, dense id, … A pair that contradicts the stored
-- mapping (the external id has another id, or the id another external id) refuses the whole call.
-- The counter moves past the largest id, so later assignments never reuse one.
for i = 1, #ARGV, 2 do
  local had = redis.call('HGET', KEYS[1], ARGV[i])
  local holder = redis.call('HGET', KEYS[2], ARGV[i + 1])
  if (had and had ~= ARGV[i + 1]) or (holder and holder ~= ARGV[i]) then
    return redis.error_reply('ID_CONFLICT ' .. ARGV[i] .. ' -> ' .. ARGV[i + 1] .. ' contradicts the stored mapping')
  end
end
local top = -1
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i])
  local n = tonumber(ARGV[i + 1])
  if n > top then top = n end
end
local next = tonumber(redis.call('GET', KEYS[3]) or '0')
if top + 1 > next then redis.call('SET', KEYS[3], top + 1) end
return #ARGV / 2
