-- Runs one bitmapql Program inside Redis: one round trip, atomic, temporary keys removed before it returns.
-- KEYS: the keys the program reads, then one temporary key per register.
-- ARGV: the number of registers, the number of offset lists, the lists (4 bytes an offset,
-- big-endian, ascending), then instructions as tokens; a ref is an index into KEYS.
--   A|O|X dest n ref...   BITOP AND|OR|XOR          D dest from minus   dest = from AND NOT minus
--   C ref   count         Y ref   any               B ref offset        getbit
--   P ref list            the bits at a list's offsets (list: its index in ARGV), one bit each
--   S ref after limit     page of members as {firstByte, bytes}
--   H ref field           counter field value       G ref   counter fields and values (HGETALL)
--   U ref                 sum of a counter's values
-- Nothing here writes at an offset a caller chose: id lists are only read at (see program.ts).
local BITOP = { A = 'AND', O = 'OR', X = 'XOR' }
-- Sources of one BITOP at most (unpack takes about 8,000 values); later ones fold into the destination.
local CHUNK = 1000
local ntemp = tonumber(ARGV[1])
local out = {}

local function offsetAt(list, j)
  local a, b, c, d = string.byte(list, 4 * j - 3, 4 * j)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- The bits of key at a list's offsets, packed 8 a byte; trailing zero bytes are left out.
-- Offsets whose bytes lie within 64 bytes of each other share one GETRANGE (at most 64 KiB), so
-- a dense list costs few reads and a sparse one a byte each; nothing past the key's end is read.
local function bits(key, list)
  local n = #list / 4
  local len = redis.call('STRLEN', key)
  local packed, byte, done = {}, 0, 0
  local chunk, first = '', 0
  for j = 1, n do
    local x = offsetAt(list, j)
    local at = math.floor(x / 8)
    if at >= len then break end -- offsets ascend: the rest lie past the end too
    if at >= first + #chunk then
      local last, k = at, j + 1
      while k <= n do
        local following = math.floor(offsetAt(list, k) / 8)
        if following - last > 64 or following - at >= 65536 then break end
        last, k = following, k + 1
      end
      chunk, first = redis.call('GETRANGE', key, at, last), at
    end
    local v = string.byte(chunk, at - first + 1) or 0
    if math.floor(v / 2 ^ (7 - x % 8)) % 2 == 1 then byte = byte + 2 ^ (7 - (j - 1) % 8) end
    if j % 8 == 0 then
      packed[#packed + 1] = string.char(byte)
      byte = 0
    end
    done = j
  end
  if done % 8 ~= 0 then packed[#packed + 1] = string.char(byte) end
  return table.concat(packed)
end

local function body()
  local i = 3 + tonumber(ARGV[2])
  local n = #ARGV
  while i <= n do
    local op = ARGV[i]
    if BITOP[op] then
      local dest = KEYS[tonumber(ARGV[i + 1])]
      local k = tonumber(ARGV[i + 2])
      local args = {}
      for j = 1, k do
        args[#args + 1] = KEYS[tonumber(ARGV[i + 2 + j])]
        if #args == CHUNK or j == k then
          redis.call('BITOP', BITOP[op], dest, unpack(args))
          args = { dest }
        end
      end
      i = i + 3 + k
    elseif op == 'D' then
      local dest, from = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])]
      redis.call('BITOP', 'AND', dest, from, KEYS[tonumber(ARGV[i + 3])])
      redis.call('BITOP', 'XOR', dest, from, dest)
      i = i + 4
    elseif op == 'P' then
      out[#out + 1] = bits(KEYS[tonumber(ARGV[i + 1])], ARGV[tonumber(ARGV[i + 2])])
      i = i + 3
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
local temps = {}
for t = #KEYS - ntemp + 1, #KEYS do
  temps[#temps + 1] = KEYS[t]
  if #temps == CHUNK or t == #KEYS then
    redis.call('DEL', unpack(temps))
    temps = {}
  end
end
if not ok then
  if type(err) == 'table' and err.err then return redis.error_reply(err.err) end
  return redis.error_reply(tostring(err))
end
return out
