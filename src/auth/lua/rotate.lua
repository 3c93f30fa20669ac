-- Rotates a refresh token: if it is its family's current one, the family moves to the next generation
-- and the new refresh jti (derived from the presented one by the caller); access tokens of earlier
-- generations are revoked. The same presented token again within the grace, before the new refresh
-- token was used, is a retry: the same generation and iat are answered, so the caller re-signs the same
-- pair. Any other stale token is reuse and revokes the family.
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua); ARGV[6] family id; ARGV[7] presented refresh jti; ARGV[8] new refresh jti;
-- ARGV[9] new access exp (ms); ARGV[10] new iat (s)
-- Reply: { 'ok' | 'unknown' | 'reuse', new generation, iat of the new pair, revocations ... }
local fid, jti, next_rjti = ARGV[6], ARGV[7], ARGV[8]
local s = get(fid)
if not s then return reply('unknown') end
if s.rjti == next_rjti and s.prev == jti and NOW - s.rotated < GRACE then return reply('ok', s.gen, s.iat) end
if s.rjti ~= jti then
  revoke_family(fid, s)
  return reply('reuse')
end
revoke(fid, s.gen + 1, s.gen, s.aexp + TOLERANCE)
local gen = s.gen + 1
put(fid, { rjti = next_rjti, gen = gen, aexp = tonumber(ARGV[9]), exp = NOW + REFRESH_TTL, prev = jti, rotated = NOW, iat = tonumber(ARGV[10]) })
return reply('ok', gen, ARGV[10])
