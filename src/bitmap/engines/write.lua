-- Applies a batch of bit writes inside Redis: one EVAL instead of a MULTI of SETBITs (one
-- command for the client to build, send and parse, however many writes the batch holds).
-- KEYS: the keys written, each once. ARGV: per key, in KEYS order: n, then its n writes in the
-- order given, each an offset to set to 1, or -(offset + 1) to clear.
-- Like MULTI/EXEC, every write is attempted; the first error, if any, is the reply.
local at = 1
local failed
for k = 1, #KEYS do
  local key = KEYS[k]
  local n = tonumber(ARGV[at])
  at = at + 1
  for j = at, at + n - 1 do
    local o = tonumber(ARGV[j])
    local r
    if o >= 0 then
      r = redis.pcall('SETBIT', key, o, 1)
    else
      r = redis.pcall('SETBIT', key, -o - 1, 0)
    end
    if type(r) == 'table' and r.err and not failed then failed = r.err end
  end
  at = at + n
end
if failed then return redis.error_reply(failed) end
return #KEYS
