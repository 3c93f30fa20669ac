-- Releases a lock only when the caller still owns it (compare-and-delete).
-- KEYS[1]  the lock key
-- ARGV[1]  the owner token given when the lock was taken
-- Reply:   1 when this call deleted the lock, 0 when it had expired or belongs to another owner
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
