-- Decides every rate-limit rule of one request atomically: if every rule admits the request, all
-- of them count it; if any denies it, none counts it.
-- KEYS[i]          the storage key of rule i (all share the identity's {hash tag}: one Cluster slot)
-- ARGV[1 + 4(i-1)] rule i's limit
-- ARGV[2 + 4(i-1)] rule i's window (ms)
-- ARGV[3 + 4(i-1)] rule i's cost (an integer >= 0; 0 is a free request: checked, never counted)
-- ARGV[4 + 4(i-1)] rule i's algorithm: 'l' sliding log | 'g' GCRA (one integer, µs); in capitals
--                  for an optional rule: counted when it admits, never denying the request itself
-- Reply: { admitted (1|0), then per rule: allowed (1|0), remaining, reset ms, retry-after ms }
-- Time is the Redis server's (TIME), so every process shares one clock.
--
-- Sliding log (issue 13 items 3, 4): a sorted set with ONE member per admitted request, whatever its
-- cost: member "<units before>:<cost>", score = time (ms). Member '#' (score -total) holds the units
-- ever admitted to the key, so the units in the window are total - <units before> of the oldest live
-- member: O(log n) per request, whatever the cost. Members are unique because <units before> grows.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out, commits, admitted = {}, {}, 1

-- Units admitted before the member, and after it.
local function before(member)
  return tonumber(string.match(member, '^(%d+)'))
end
local function after(member)
  local b, c = string.match(member, '^(%d+):(%d+)$')
  return tonumber(b) + tonumber(c)
end

for i, key in ipairs(KEYS) do
  local base = 1 + 4 * (i - 1)
  local limit, window, cost = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local allowed, remaining, reset, retry = 0, 0, 0, 0
  local alg = ARGV[base + 3]
  local optional = alg == 'G' or alg == 'L'
  if alg == 'g' or alg == 'G' then
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
      if cost > 0 then commits[#commits + 1] = { 'g', key, new_tat } end
    else
      reset = tat - now
      retry = new_tat - now - window
    end
  else
    -- Scores >= 0 only: '#' (negative) is never expired by time.
    redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
    local n = redis.call('ZCARD', key)
    local total, used = 0, 0
    if n > 0 then
      local head = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
      if head[1] == '#' then
        total = -tonumber(head[2])
        n = n - 1 -- live requests, at ranks 1..n
        if n > 0 then used = total - before(head[3]) end
      else
        -- A log written by an older version (one member per unit, no '#'): start it afresh.
        redis.call('DEL', key)
        n = 0
      end
    end
    local newest = nil
    if n > 0 then newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) end
    if used + cost <= limit then
      allowed = 1
      remaining = limit - used - cost
      if cost > 0 then
        reset = window
        commits[#commits + 1] = { 'l', key, total, cost, window }
      elseif newest then
        reset = newest + window - now
      end
    else
      if cost > limit then
        retry = window
      else
        -- The first live request whose expiry frees enough units: each holds >= 1 unit, so it is
        -- within the first `drop`; binary search by its cumulative count (O(log n) ZRANGE calls).
        local target = total + cost - limit
        local lo, hi = 1, math.min(used + cost - limit, n)
        while lo < hi do
          local mid = math.floor((lo + hi) / 2)
          if after(redis.call('ZRANGE', key, mid, mid)[1]) >= target then hi = mid else lo = mid + 1 end
        end
        retry = tonumber(redis.call('ZRANGE', key, lo, lo, 'WITHSCORES')[2]) + window - now
      end
      if newest then reset = newest + window - now end
    end
  end
  if allowed == 0 and not optional then admitted = 0 end
  out[#out + 1] = allowed
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset)
  out[#out + 1] = math.max(0, math.ceil(retry))
end

if admitted == 0 then
  -- A denied request spent nothing: rules that would have admitted it keep their full remainder.
  for i = 1, #KEYS do
    if out[4 * (i - 1) + 1] == 1 then
      out[4 * (i - 1) + 2] = out[4 * (i - 1) + 2] + tonumber(ARGV[1 + 4 * (i - 1) + 2])
    end
  end
end

if admitted == 1 then
  for _, c in ipairs(commits) do
    if c[1] == 'g' then
      -- %d, not tostring: tostring would switch to a 14-digit exponent form and lose precision.
      redis.call('SET', c[2], string.format('%d', math.floor(c[3] * 1000)), 'PX', math.max(1, math.ceil(c[3] - now)))
    else
      local total, cost = c[3], c[4]
      redis.call('ZADD', c[2], now, string.format('%d:%d', total, cost), -(total + cost), '#')
      redis.call('PEXPIRE', c[2], c[5])
    end
  end
end

table.insert(out, 1, admitted)
return out
