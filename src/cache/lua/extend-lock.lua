-- Extends a lock only when the caller still owns it (compare-and-pexpire).
-- KEYS[1]  the lock key
-- ARGV[1]  the owner token given when the lock was taken
-- ARGV[2]  the new remaining lifetime, in milliseconds
-- Reply:   1 when the lock is still this owner's and now lives ARGV[2] ms, 0 when it was lost
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
