-- Counter increments applied at most once per idempotency key, recorded in the same script.
-- KEYS[1]: the key's record (holds the batch digest, expires after the TTL); KEYS[2..]: the
-- counter hashes. ARGV: digest, TTL in seconds, then per increment: hash index (into KEYS, from
-- 2), field, amount.
-- Reply: 0 applied now, 1 applied before (nothing done), error IDEMPOTENCY_CONFLICT when the
-- key was applied with another digest.
local held = redis.call('GET', KEYS[1])
if held then
  if held == ARGV[1] then return 1 end
  return redis.error_reply('IDEMPOTENCY_CONFLICT')
end
for i = 3, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 0
