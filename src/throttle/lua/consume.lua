-- Decides every rate-limit rule of one request atomically: if every rule admits the request, all
-- of them count it; if any denies it, none counts it.
-- KEYS[i]          the storage key of rule i (all share the identity's {hash tag}: one Cluster slot)
-- ARGV[1]          a request id unique to this call (makes sliding-log members unique)
-- ARGV[2 + 4(i-1)] rule i's limit
-- ARGV[3 + 4(i-1)] rule i's window (ms)
-- ARGV[4 + 4(i-1)] rule i's cost
-- ARGV[5 + 4(i-1)] rule i's algorithm: 'l' sliding log (zset of request members) | 'g' GCRA (one integer, µs)
-- Reply: { admitted (1|0), then per rule: allowed (1|0), remaining, reset ms, retry-after ms }
-- Time is the Redis server's (TIME), so every process shares one clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out, commits, admitted = {}, {}, 1

for i, key in ipairs(KEYS) do
  local base = 2 + 4 * (i - 1)
  local limit, window, cost = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local allowed, remaining, reset, retry = 0, 0, 0, 0
  if ARGV[base + 3] == 'g' then
    local interval = window / limit
    -- Stored as integer microseconds: Redis keeps integers unboxed (smaller than a decimal string).
    local stored = redis.call('GET', key)
    local tat = stored and tonumber(stored) / 1000 or now
    if tat < now then tat = now end
    local new_tat = tat + cost * interval
    if new_tat - now <= window then
      allowed = 1
      remaining = math.floor((window - (new_tat - now)) / interval + 1e-9)
      reset = new_tat - now
      commits[#commits + 1] = { 'g', key, new_tat }
    else
      reset = tat - now
      retry = new_tat - now - window
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count + cost <= limit then
      allowed = 1
      remaining = limit - count - cost
      if cost > 0 then
        reset = window
      elseif count > 0 then
        reset = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + window - now
      end
      commits[#commits + 1] = { 'l', key, cost, window }
    else
      if cost > limit then
        retry = window
      else
        local oldest = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
        retry = tonumber(oldest[2]) + window - now
      end
      if count > 0 then reset = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + window - now end
    end
  end
  if allowed == 0 then admitted = 0 end
  out[#out + 1] = allowed
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset)
  out[#out + 1] = math.max(0, math.ceil(retry))
end

if admitted == 0 then
  -- A denied request spent nothing: rules that would have admitted it keep their full remainder.
  for i = 1, #KEYS do
    if out[4 * (i - 1) + 1] == 1 then
      out[4 * (i - 1) + 2] = out[4 * (i - 1) + 2] + tonumber(ARGV[2 + 4 * (i - 1) + 2])
    end
  end
end

if admitted == 1 then
  for n, c in ipairs(commits) do
    if c[1] == 'g' then
      -- %d, not tostring: tostring would switch to a 14-digit exponent form and lose precision.
      redis.call('SET', c[2], string.format('%d', math.floor(c[3] * 1000)), 'PX', math.max(1, math.ceil(c[3] - now)))
    else
      local members = {}
      for k = 1, c[3] do
        members[#members + 1] = now
        members[#members + 1] = ARGV[1] .. ':' .. n .. ':' .. k
      end
      redis.call('ZADD', c[2], unpack(members))
      redis.call('PEXPIRE', c[2], c[4])
    end
  end
end

table.insert(out, 1, admitted)
return out
