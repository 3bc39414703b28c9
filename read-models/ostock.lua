#!lua name=ostock

-- O-stock's read-model writes: each one idempotent and atomic (read-models/README.md).
-- A view remembers the version of the last event it applied and ignores an older or
-- repeated one, so a redelivered or replayed event changes nothing.

-- An update event does not carry created_at: its body says null and the stored one is kept.
local CREATED_AT_UNKNOWN = '"created_at":null'

local function keep_created_at(body, stored_body)
  local at = string.find(body, CREATED_AT_UNKNOWN, 1, true)
  if not at or not stored_body then
    return body
  end
  -- Inside a JSON string every quote is escaped, so only the real key matches here.
  local created = string.match(stored_body, '"created_at":("[^"]*")')
  if not created then
    return body
  end
  return string.sub(body, 1, at - 1) .. '"created_at":' .. created
    .. string.sub(body, at + #CREATED_AT_UNKNOWN)
end

local function bad_version(version)
  return redis.error_reply('ERR version must be a number, got ' .. tostring(version))
end

-- 1 if applied, 0 if ignored (or an error reply).
local function apply_view(key, version, body)
  local new = tonumber(version)
  if not new then
    return bad_version(version)
  end
  local stored = redis.call('HMGET', key, 'version', 'body')
  if stored[1] and tonumber(stored[1]) >= new then
    return 0
  end
  body = keep_created_at(body, stored[2])
  redis.call('HSET', key, 'version', version, 'body', body)
  -- The channel is the key itself: a reader waiting for one view subscribes to its key.
  redis.call('PUBLISH', key, version)
  return 1
end

-- A listed view (a license) is applied as a view; then its entry in the index (a sorted
-- set, all scores 0, so in entry order) is added while it is listed and removed once not.
-- The creation brings the entry ("<created_at, microseconds, zero-padded>:<id>": creation
-- order), kept in the view's hash, field `entry`, for the events after it, which bring ''.
local function apply_listed_view(view_key, index_key, version, body, entry, listed)
  local applied = apply_view(view_key, version, body)
  if applied ~= 1 then
    return applied
  end
  if entry == '' then
    entry = redis.call('HGET', view_key, 'entry')
  else
    redis.call('HSET', view_key, 'entry', entry)
  end
  if entry then
    if listed == '1' then
      redis.call('ZADD', index_key, 0, entry)
    else
      redis.call('ZREM', index_key, entry)
    end
  end
  return 1
end

-- An event history is a sorted set of entries scored by version: an entry is added only
-- if its version is above the highest one there, so a repeated or older event adds nothing.
local function add_history(key, version, entry)
  local new = tonumber(version)
  if not new then
    return bad_version(version)
  end
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) >= new then
    return 0
  end
  redis.call('ZADD', key, new, entry)
  redis.call('PUBLISH', key, version)
  return 1
end

-- The writes ostock_apply takes: how many keys and args each has, and what applies it
-- (given KEYS and ARGV with the positions of its first key and first arg).
local WRITES = {
  view = {keys = 1, args = 2, apply = function(keys, k, args, a)
    return apply_view(keys[k], args[a], args[a + 1])
  end},
  listed = {keys = 2, args = 4, apply = function(keys, k, args, a)
    return apply_listed_view(keys[k], keys[k + 1], args[a], args[a + 1], args[a + 2], args[a + 3])
  end},
  history = {keys = 1, args = 2, apply = function(keys, k, args, a)
    return add_history(keys[k], args[a], args[a + 1])
  end},
}

-- KEYS[1] view key, ARGV[1] version, ARGV[2] body: 1 if applied, 0 if ignored.
local function ostock_apply_view(keys, args)
  return apply_view(keys[1], args[1], args[2])
end

-- A batch of writes, applied in order: ARGV holds each write's name then its args, KEYS
-- each write's keys, in the same order. Returns the number applied; two writes of one
-- key in a batch apply one after the other.
local function ostock_apply(keys, args)
  local nkeys, nargs = #keys, #args
  local applied, k, a = 0, 1, 1
  while a <= nargs do
    local write = WRITES[args[a]]
    if not write then
      return redis.error_reply('ERR ostock_apply: unknown write ' .. tostring(args[a]))
    end
    if k + write.keys - 1 > nkeys or a + write.args > nargs then
      return redis.error_reply('ERR ostock_apply: ' .. args[a] .. ' takes '
        .. write.keys .. ' keys and ' .. write.args .. ' args')
    end
    local result = write.apply(keys, k, args, a + 1)
    if type(result) == 'table' then
      return result -- an error reply
    end
    applied = applied + result
    k = k + write.keys
    a = a + 1 + write.args
  end
  if k <= nkeys then
    return redis.error_reply('ERR ostock_apply: more keys than its writes take')
  end
  return applied
end

-- KEYS[1] command key, ARGV[1] body, ARGV[2] expire-at (Unix seconds): marks the command
-- pending unless its status already exists, so pending never overwrites a decision.
local function ostock_command_pending(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return 0
  end
  redis.call('HSET', keys[1], 'state', 'pending', 'body', args[1])
  redis.call('EXPIREAT', keys[1], args[2])
  return 1
end

-- KEYS[1] command key, ARGV[1] state, ARGV[2] body, ARGV[3] expire-at (Unix seconds):
-- a decision is final, so it is always written.
local function ostock_command_decided(keys, args)
  local state = args[1]
  if state ~= 'accepted' and state ~= 'rejected' then
    return redis.error_reply('ERR a decision is accepted or rejected, got ' .. tostring(state))
  end
  redis.call('HSET', keys[1], 'state', state, 'body', args[2])
  redis.call('EXPIREAT', keys[1], args[3])
  redis.call('PUBLISH', keys[1], state)
  return 1
end

redis.register_function('ostock_apply_view', ostock_apply_view)
redis.register_function('ostock_apply', ostock_apply)
redis.register_function('ostock_command_pending', ostock_command_pending)
redis.register_function('ostock_command_decided', ostock_command_decided)
