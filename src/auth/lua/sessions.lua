-- Shared prelude of the session scripts (prepended to each at load time; not run alone).
-- KEYS[1]  sessions hash of one subject: field = family id, value =
--          "<refresh jti> <generation> <access exp ms> <session exp ms> <previous refresh jti|-> <rotated at ms> <iat s>"
-- KEYS[2]  index zset of that subject: member = family id, score = session expiry (ms); at most ARGV[4] members
-- KEYS[3]  revocations zset of that subject: score = until (ms), member =
--            "f:<family id>"          every token of the family is revoked
--            "g:<family id>:<gen>"    the family's access tokens with a generation below <gen> are revoked
--          One member per family at most: a rotation replaces the family's "g:" member, never adds one.
-- ARGV[1]  refresh-token lifetime (ms)
-- ARGV[2]  clock tolerance (ms) added to an access token's own exp: a revocation lasts until then
-- ARGV[3]  pub/sub channel. ONE message per script call: the revocations it made, space-separated,
--          each "f:<family id>:<until ms>" or "g:<family id>:<gen>:<until ms>"
--          (parse with `parseRevocations` in src/auth/jwt/revocation-registry.ts)
-- ARGV[4]  maximum live sessions per subject (the oldest is evicted and revoked beyond it)
-- ARGV[5]  rotation grace (ms): a retried rotation of the same refresh token returns the same pair
-- Every key carries the subject's {hash tag}, so every script stays within one Cluster slot. Each
-- script costs O(log n) in the subject's sessions (n <= ARGV[4]), except search, revoke-all and
-- revoke-by-jti, which are O(n). Time is the Redis server's, so every process agrees.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local SESS, IDX, RV = KEYS[1], KEYS[2], KEYS[3]
local REFRESH_TTL, TOLERANCE, CHANNEL = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local MAX_SESSIONS, GRACE = tonumber(ARGV[4]), tonumber(ARGV[5])
local revoked = {}

local function decode(v)
  if not v then return nil end
  local r, g, a, e, p, ra, i = string.match(v, '^(%S+) (%d+) (%d+) (%d+) (%S+) (%d+) (%d+)$')
  if not r then return nil end
  return { rjti = r, gen = tonumber(g), aexp = tonumber(a), exp = tonumber(e), prev = p, rotated = tonumber(ra), iat = tonumber(i) }
end

local function encode(s)
  return string.format('%s %d %d %d %s %d %d', s.rjti, s.gen, s.aexp, s.exp, s.prev, s.rotated, s.iat)
end

local function drop(fid)
  redis.call('HDEL', SESS, fid)
  redis.call('ZREM', IDX, fid)
end

local function put(fid, s)
  redis.call('HSET', SESS, fid, encode(s))
  -- Sessions written in one millisecond share an expiry: each later one scores just above the newest
  -- (1/1024 ms), so the cap evicts exactly the oldest, not whichever family id sorts first.
  local score = s.exp
  local newest = redis.call('ZRANGE', IDX, -1, -1, 'WITHSCORES')
  if newest[1] and newest[1] ~= fid and tonumber(newest[2]) >= score then score = tonumber(newest[2]) + 1 / 1024 end
  redis.call('ZADD', IDX, score, fid)
  -- Both keys live as long as the subject's last session (O(log n) to find).
  local last = redis.call('ZRANGE', IDX, -1, -1, 'WITHSCORES')
  local ttl = math.max(1, math.ceil(tonumber(last[2]) - NOW))
  redis.call('PEXPIRE', SESS, ttl)
  redis.call('PEXPIRE', IDX, ttl)
end

-- Revokes the family's access tokens below generation `gen` ('*': the whole family) until `until_ms`,
-- replacing the family's earlier "g:" member (whose generation is `old_gen`).
local function revoke(fid, gen, old_gen, until_ms)
  redis.call('ZREMRANGEBYSCORE', RV, '-inf', NOW)
  if old_gen > 0 then
    local member = 'g:' .. fid .. ':' .. old_gen
    local score = redis.call('ZSCORE', RV, member)
    if score then
      until_ms = math.max(until_ms, tonumber(score))
      redis.call('ZREM', RV, member)
    end
  end
  -- A token already past its exp (plus tolerance) needs no entry.
  if until_ms <= NOW then return end
  local member = gen == '*' and ('f:' .. fid) or ('g:' .. fid .. ':' .. gen)
  redis.call('ZADD', RV, until_ms, member)
  if redis.call('PTTL', RV) < until_ms - NOW then redis.call('PEXPIRE', RV, until_ms - NOW) end
  revoked[#revoked + 1] = member .. ':' .. string.format('%d', until_ms)
end

local function revoke_family(fid, s)
  drop(fid)
  revoke(fid, '*', s.gen, s.aexp + TOLERANCE)
end

local function get(fid)
  local s = decode(redis.call('HGET', SESS, fid))
  if not s or s.exp <= NOW then
    drop(fid)
    return nil
  end
  return s
end

-- 'ok' with the record when jti is the family's current refresh jti; 'unknown'; or 'reuse' after revoking the family.
local function check(fid, jti)
  local s = get(fid)
  if not s then return 'unknown', nil end
  if s.rjti ~= jti then
    revoke_family(fid, s)
    return 'reuse', nil
  end
  return 'ok', s
end

-- Drops expired sessions, then evicts and revokes the oldest until `room` more fit under the cap.
local function make_room(room)
  for _, fid in ipairs(redis.call('ZRANGEBYSCORE', IDX, '-inf', NOW)) do drop(fid) end
  local over = redis.call('ZCARD', IDX) + room - MAX_SESSIONS
  if over <= 0 then return end
  for _, fid in ipairs(redis.call('ZRANGE', IDX, 0, over - 1)) do
    local s = decode(redis.call('HGET', SESS, fid))
    if s then revoke_family(fid, s) else drop(fid) end
  end
end

-- Live sessions as a list of {fid, record} (n <= MAX_SESSIONS).
local function live()
  local out = {}
  for _, fid in ipairs(redis.call('ZRANGEBYSCORE', IDX, '(' .. NOW, '+inf')) do
    local s = decode(redis.call('HGET', SESS, fid))
    if s then out[#out + 1] = { fid, s } else drop(fid) end
  end
  return out
end

-- { outcome, generation, iat s, revocation... }; the revocations are published as one message.
local function reply(head, gen, iat)
  local out = { head, gen or 0, iat or 0 }
  for i = 1, #revoked do out[#out + 1] = revoked[i] end
  if #revoked > 0 then redis.call('PUBLISH', CHANNEL, table.concat(revoked, ' ')) end
  return out
end
