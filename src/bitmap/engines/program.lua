-- Runs one bitmapql Program inside Redis: one round trip, atomic, temporary keys removed before it returns.
-- KEYS: the keys the program reads, then one temporary key per register.
-- ARGV: instructions as tokens; a ref is an index into KEYS.
--   A|O|X dest n ref...   BITOP AND|OR|XOR          D dest from minus   dest = from AND NOT minus
--   I dest n id...        dest = {ids}              C ref   count       Y ref   any
--   B ref offset          getbit                    S ref after limit   page of members as {firstByte, bytes}
--   H ref field           counter field value       G ref   counter fields and values (HGETALL)
--   U ref                 sum of a counter's values
local BITOP = { A = 'AND', O = 'OR', X = 'XOR' }
local ntemp = tonumber(ARGV[1])
local out = {}

local function body()
  local i = 2
  local n = #ARGV
  while i <= n do
    local op = ARGV[i]
    if BITOP[op] then
      local k = tonumber(ARGV[i + 2])
      local args = {}
      for j = 1, k do args[j] = KEYS[tonumber(ARGV[i + 2 + j])] end
      redis.call('BITOP', BITOP[op], KEYS[tonumber(ARGV[i + 1])], unpack(args))
      i = i + 3 + k
    elseif op == 'D' then
      local dest, from = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])]
      redis.call('BITOP', 'AND', dest, from, KEYS[tonumber(ARGV[i + 3])])
      redis.call('BITOP', 'XOR', dest, from, dest)
      i = i + 4
    elseif op == 'I' then
      local dest = KEYS[tonumber(ARGV[i + 1])]
      local k = tonumber(ARGV[i + 2])
      redis.call('DEL', dest)
      for j = 1, k do redis.call('SETBIT', dest, ARGV[i + 2 + j], 1) end
      i = i + 3 + k
    elseif op == 'C' then
      out[#out + 1] = redis.call('BITCOUNT', KEYS[tonumber(ARGV[i + 1])])
      i = i + 2
    elseif op == 'Y' then
      out[#out + 1] = redis.call('BITPOS', KEYS[tonumber(ARGV[i + 1])], 1) >= 0 and 1 or 0
      i = i + 2
    elseif op == 'B' then
      out[#out + 1] = redis.call('GETBIT', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2])
      i = i + 3
    elseif op == 'S' then
      -- Return the smallest byte range after `after` that holds more than `limit` members (or the rest).
      local key = KEYS[tonumber(ARGV[i + 1])]
      local from = tonumber(ARGV[i + 2]) + 1
      local limit = tonumber(ARGV[i + 3])
      local bits = redis.call('STRLEN', key) * 8
      local first = math.floor(from / 8)
      local last = first - 1
      if from < bits then
        local seen, pos, chunk = 0, from, 65536
        while pos < bits and seen <= limit do
          local stop = math.min(pos + chunk, bits) - 1
          seen = seen + redis.call('BITCOUNT', key, pos, stop, 'BIT')
          pos = stop + 1
          if chunk < 8388608 then chunk = chunk * 2 end
        end
        last = math.floor((pos - 1) / 8)
      end
      out[#out + 1] = { first, last >= first and redis.call('GETRANGE', key, first, last) or '' }
      i = i + 4
    elseif op == 'H' then
      out[#out + 1] = tonumber(redis.call('HGET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]) or 0)
      i = i + 3
    elseif op == 'G' then
      out[#out + 1] = redis.call('HGETALL', KEYS[tonumber(ARGV[i + 1])])
      i = i + 2
    elseif op == 'U' then
      local sum = 0
      for _, v in ipairs(redis.call('HVALS', KEYS[tonumber(ARGV[i + 1])])) do sum = sum + tonumber(v) end
      out[#out + 1] = sum
      i = i + 2
    else
      error('unknown instruction ' .. tostring(op))
    end
  end
end

local ok, err = pcall(body)
if ntemp > 0 then
  local temps = {}
  for t = #KEYS - ntemp + 1, #KEYS do temps[#temps + 1] = KEYS[t] end
  redis.call('DEL', unpack(temps))
end
if not ok then
  if type(err) == 'table' and err.err then return redis.error_reply(err.err) end
  return redis.error_reply(tostring(err))
end
return out
