--[[
  The id counter's fence (issue 13): run once by every send handler that
  connects to a primary, before its first publish there.

  KEYS[1]  id counter                         "messages:id"
  KEYS[2]  the fence mark                     "messages:fence" (string:
           the replication id of the primary that last fenced)
  ARGV[1]  this primary's replication id (INFO replication master_replid)
  ARGV[2]  the jump (CHAT_ID_FENCE)

  Reply:   1 when the counter jumped now, 0 when this primary had fenced
           it already.

  A replica promoted by Sentinel gets a new replication id, and may lack
  the last ids the old primary handed out (replication is asynchronous:
  a message published there may have reached clients and never reached
  the replica). Its first writer moves the counter past anything the old
  primary can have handed out since the replica last heard from it, so
  no id is ever handed out twice. The jump and the mark are one step, so
  any number of writers fence a primary exactly once.
]]
if redis.call('GET', KEYS[2]) == ARGV[1] then
    return 0
end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
