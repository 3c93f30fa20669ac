-- Ends a session: the presented token's own (ARGV[8] empty), or the subject's session whose current
-- refresh jti is ARGV[8] (O(n), n <= the cap). The presented token must be current (a stale one is reuse).
-- KEYS[1..3] (see sessions.lua)
-- ARGV[1..5] (see sessions.lua); ARGV[6] family id; ARGV[7] presented refresh jti; ARGV[8] target refresh jti or ''
-- Reply: { 'ok' | 'unknown' | 'reuse', 0, 0, revocations ... }
local outcome, s = check(ARGV[6], ARGV[7])
if outcome ~= 'ok' then return reply(outcome) end
if ARGV[8] == '' then
  revoke_family(ARGV[6], s)
  return reply('ok')
end
for _, session in ipairs(live()) do
  if session[2].rjti == ARGV[8] then
    revoke_family(session[1], session[2])
    return reply('ok')
  end
end
return reply('unknown')
