-- String ids: the dense id of each external id, assigning the next free one when asked.
-- KEYS[1] forward hash (external id → dense id), KEYS[2] reverse hash (dense id → external id),
-- KEYS[3] the counter of ids handed out. ARGV[1] '1' to assign unknown ids, '0' to look up
-- only; ARGV[2..] the external ids. Reply: one id per external id, -1 for an unknown one.
-- One script is atomic, so concurrent callers never hand out one id twice.
local assign = ARGV[1] == '1'
local out = {}
for i = 2, #ARGV do
  local id = redis.call('HGET', KEYS[1], ARGV[i])
  if id then
    out[i - 1] = tonumber(id)
  elseif assign then
    local n = redis.call('INCR', KEYS[3]) - 1
    if n > 4294967295 then return redis.error_reply('ID_SPACE_FULL every dense id below 2^32 is taken') end
    redis.call('HSET', KEYS[1], ARGV[i], n)
    redis.call('HSET', KEYS[2], n, ARGV[i])
    out[i - 1] = n
  else
    out[i - 1] = -1
  end
end
return out
