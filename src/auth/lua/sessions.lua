-- Shared prelude of the session scripts (prepended to each at load time; not run alone).
-- KEYS[1]  sessions hash of one subject: field = family id, value = "<refresh jti> <access jti> <expiry ms>"
-- KEYS[2]  revocations zset of that subject: member = "j:<access jti>" | "f:<family id>", score = until (ms)
-- ARGV[1]  refresh-token lifetime (ms)
-- ARGV[2]  access-token lifetime (ms)
-- ARGV[3]  pub/sub channel revocations are announced on ("<kind>:<id>:<until ms>")
-- Both keys carry the subject's {hash tag}, so every script stays within one Cluster slot.
-- Time is the Redis server's, so every process agrees.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local SESS, RV = KEYS[1], KEYS[2]
local REFRESH_TTL, ACCESS_TTL, CHANNEL = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local revoked = {}

local function get(fid)
  local v = redis.call('HGET', SESS, fid)
  if not v then return nil end
  local r, a, e = string.match(v, '^(%S+) (%S+) (%d+)$')
  if not r or tonumber(e) <= NOW then
    redis.call('HDEL', SESS, fid)
    return nil
  end
  return { rjti = r, ajti = a }
end

local function put(fid, rjti, ajti)
  redis.call('HSET', SESS, fid, rjti .. ' ' .. ajti .. ' ' .. (NOW + REFRESH_TTL))
  -- The record just written is the one that expires last.
  redis.call('PEXPIRE', SESS, REFRESH_TTL)
end

local function revoke(kind, id)
  local until_ms = NOW + ACCESS_TTL
  redis.call('ZREMRANGEBYSCORE', RV, '-inf', NOW)
  redis.call('ZADD', RV, until_ms, kind .. ':' .. id)
  redis.call('PEXPIRE', RV, ACCESS_TTL)
  redis.call('PUBLISH', CHANNEL, kind .. ':' .. id .. ':' .. until_ms)
  revoked[#revoked + 1] = kind
  revoked[#revoked + 1] = id
  revoked[#revoked + 1] = until_ms
end

local function revoke_family(fid)
  redis.call('HDEL', SESS, fid)
  revoke('f', fid)
end

-- 'ok' with the record when (fid, jti) is current; 'unknown'; or 'reuse' after revoking the family.
local function check(fid, jti)
  local record = get(fid)
  if not record then return 'unknown', nil end
  if record.rjti ~= jti then
    revoke_family(fid)
    return 'reuse', nil
  end
  return 'ok', record
end

-- Live sessions as a list of {fid, rjti}; expired fields are dropped on the way.
local function live()
  local all = redis.call('HGETALL', SESS)
  local out = {}
  for i = 1, #all, 2 do
    local fid, v = all[i], all[i + 1]
    local r, _, e = string.match(v, '^(%S+) (%S+) (%d+)$')
    if r and tonumber(e) > NOW then
      out[#out + 1] = { fid, r }
    else
      redis.call('HDEL', SESS, fid)
    end
  end
  return out
end

local function reply(head)
  local out = { head }
  for i = 1, #revoked do out[#out + 1] = revoked[i] end
  return out
end
