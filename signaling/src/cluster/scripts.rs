//! The Lua scripts that change presence in Redis. Each runs atomically, so a room's hash, the
//! room index, the node's membership set and the event announcing the change never disagree,
//! and every event gets its place in one global order (`seq`).
//!
//! Keys are built inside the scripts from the prefix passed as `ARGV[1]`, so these scripts need
//! a single Redis (or a primary with replicas), not Redis Cluster.

use std::sync::LazyLock;

use redis::Script;

/// ARGV: prefix, room, peer id, member JSON, room limit, event JSON, node.
/// Returns {seq, {member JSON…}}; {-1, {}} when the room is full. Joining again only reads.
pub static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P, room, peer = ARGV[1], ARGV[2], ARGV[3]
local key = P .. 'room:' .. room
if redis.call('HEXISTS', key, peer) == 0 then
  if redis.call('HLEN', key) >= tonumber(ARGV[5]) then return {-1, {}} end
  redis.call('HSET', key, peer, ARGV[4])
  redis.call('SADD', P .. 'rooms', room)
  redis.call('SADD', P .. 'node:' .. ARGV[7] .. ':members', room .. '\n' .. peer)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'events', '{"seq":' .. seq .. ',"event":' .. ARGV[6] .. '}')
  return {seq, redis.call('HVALS', key)}
end
return {tonumber(redis.call('GET', P .. 'seq') or '0'), redis.call('HVALS', key)}
"#,
    )
});

/// ARGV: prefix, room, peer id, node, event JSON. Returns the event's seq, 0 if it was not there.
pub static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P, room, peer = ARGV[1], ARGV[2], ARGV[3]
redis.call('SREM', P .. 'node:' .. ARGV[4] .. ':members', room .. '\n' .. peer)
if redis.call('HDEL', P .. 'room:' .. room, peer) == 0 then return 0 end
if redis.call('EXISTS', P .. 'room:' .. room) == 0 then redis.call('SREM', P .. 'rooms', room) end
local seq = redis.call('INCR', P .. 'seq')
redis.call('PUBLISH', P .. 'events', '{"seq":' .. seq .. ',"event":' .. ARGV[5] .. '}')
return seq
"#,
    )
});

/// ARGV: prefix, room. Returns {seq, {member JSON…}} read together.
pub static ROSTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P = ARGV[1]
return {tonumber(redis.call('GET', P .. 'seq') or '0'), redis.call('HVALS', P .. 'room:' .. ARGV[2])}
"#,
    )
});

/// ARGV: prefix, then (room, peer id, member JSON) triples: rewrites the members still there
/// (a profile changed), leaving alone any that left meanwhile.
pub static SET_MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P = ARGV[1]
for i = 2, #ARGV, 3 do
  local key = P .. 'room:' .. ARGV[i]
  if redis.call('HEXISTS', key, ARGV[i + 1]) == 1 then redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2]) end
end
return 0
"#,
    )
});

/// ARGV: prefix. Returns {room, count, room, count, …} for every room with someone in it.
pub static ROOMS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P = ARGV[1]
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  local n = redis.call('HLEN', P .. 'room:' .. room)
  if n > 0 then
    table.insert(out, room)
    table.insert(out, n)
  else
    redis.call('SREM', P .. 'rooms', room)
  end
end
return out
"#,
    )
});

/// ARGV: prefix, node, liveness in ms. Refreshes the node's liveness; returns 1 if it was still
/// alive, 0 if it had expired (or Redis lost it): then the node's peers may have been removed
/// and it must announce them again.
pub static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P, node = ARGV[1], ARGV[2]
local key = P .. 'node:' .. node .. ':alive'
local was = redis.call('EXISTS', key)
redis.call('SET', key, '1', 'PX', ARGV[3])
redis.call('SADD', P .. 'nodes', node)
return was
"#,
    )
});

/// ARGV: prefix. Removes the peers of every node whose liveness expired, announcing each as
/// left. Returns how many nodes were reaped.
pub static REAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local P = ARGV[1]
local reaped = 0
for _, node in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'node:' .. node .. ':alive') == 0 then
    local set = P .. 'node:' .. node .. ':members'
    for _, m in ipairs(redis.call('SMEMBERS', set)) do
      local i = string.find(m, '\n', 1, true)
      -- Only this server writes these entries; a malformed one is skipped rather than allowed
      -- to stop every reaping for good.
      local room, peer = '', ''
      if i then room, peer = string.sub(m, 1, i - 1), string.sub(m, i + 1) end
      local key = P .. 'room:' .. room
      if i and redis.call('HDEL', key, peer) == 1 then
        if redis.call('EXISTS', key) == 0 then redis.call('SREM', P .. 'rooms', room) end
        local seq = redis.call('INCR', P .. 'seq')
        redis.call('PUBLISH', P .. 'events', '{"seq":' .. seq .. ',"event":{"type":"left","room":'
          .. cjson.encode(room) .. ',"peer_id":' .. cjson.encode(peer) .. '}}')
      end
    end
    redis.call('DEL', set)
    redis.call('SREM', P .. 'nodes', node)
    reaped = reaped + 1
  end
end
return reaped
"#,
    )
});
