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

local function apply_view(key, version, body)
  local new = tonumber(version)
  if not new then
    return redis.error_reply('ERR version must be a number, got ' .. tostring(version))
  end
  local stored = redis.call('HMGET', key, 'version', 'body')
  if stored[1] and tonumber(stored[1]) >= new then
    return 0
  end
  redis.call('HSET', key, 'version', version, 'body', keep_created_at(body, stored[2]))
  -- The channel is the key itself: a reader waiting for one view subscribes to its key.
  redis.call('PUBLISH', key, version)
  return 1
end

-- KEYS[1] view key, ARGV[1] version, ARGV[2] body: 1 if applied, 0 if ignored.
local function ostock_apply_view(keys, args)
  return apply_view(keys[1], args[1], args[2])
end

-- N view keys and 2N args (version, body per key, in key order), applied in order:
-- the number applied. Two events of one view in a batch apply one after the other.
local function ostock_apply_views(keys, args)
  if #args ~= 2 * #keys then
    return redis.error_reply('ERR ostock_apply_views takes N keys and 2N args')
  end
  local applied = 0
  for i, key in ipairs(keys) do
    local result = apply_view(key, args[2 * i - 1], args[2 * i])
    if type(result) == 'table' then
      return result -- an error reply
    end
    applied = applied + result
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
redis.register_function('ostock_apply_views', ostock_apply_views)
redis.register_function('ostock_command_pending', ostock_command_pending)
redis.register_function('ostock_command_decided', ostock_command_decided)
