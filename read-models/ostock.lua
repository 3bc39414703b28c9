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

-- The stored fields of the view at `key` (HMGET: version first, then `fields`) if
-- `version` is newer than the stored one; nil if not; an error reply if it is no number.
local function older_view(key, version, ...)
  local new = tonumber(version)
  if not new then
    return nil, bad_version(version)
  end
  local stored = redis.call('HMGET', key, 'version', ...)
  if stored[1] and tonumber(stored[1]) >= new then
    return nil
  end
  return stored
end

-- 1 if applied, 0 if ignored (or an error reply). `announce`: PUBLISH the change (not
-- while a replay builds a generation nobody reads yet).
local function apply_view(key, version, body, announce)
  local stored, refused = older_view(key, version, 'body')
  if not stored then
    return refused or 0
  end
  redis.call('HSET', key, 'version', version, 'body', keep_created_at(body, stored[2]))
  if announce then
    -- The channel is the key itself: a reader waiting for one view subscribes to its key.
    redis.call('PUBLISH', key, version)
  end
  return 1
end

-- A listed view (a license) is applied as a view; then its entry in the index (a sorted
-- set, all scores 0, so in entry order) is added while it is listed and removed once not.
-- The creation brings the entry ("<created_at, microseconds, zero-padded>:<id>": creation
-- order), kept in the view's hash, field `entry`, for the events after it, which bring ''.
local function apply_listed_view(view_key, index_key, version, body, entry, listed, announce)
  local stored, refused = older_view(view_key, version, 'body', 'entry')
  if not stored then
    return refused or 0
  end
  body = keep_created_at(body, stored[2])
  if entry == '' then
    entry = stored[3]
    redis.call('HSET', view_key, 'version', version, 'body', body)
  else
    redis.call('HSET', view_key, 'version', version, 'body', body, 'entry', entry)
  end
  if announce then
    redis.call('PUBLISH', view_key, version)
  end
  if entry then
    if tostring(listed) == '1' then
      redis.call('ZADD', index_key, 0, entry)
    else
      redis.call('ZREM', index_key, entry)
    end
  end
  return 1
end

-- Score-member pairs added to a sorted set at most this many per ZADD (Lua's unpack has
-- a stack limit).
local ZADD_PAIRS = 500

-- An event history is a sorted set of entries scored by version: an entry is added only
-- if its version is above the highest one there, so a repeated or older event adds
-- nothing. `w` holds (version, entry) pairs from position `first` on, in version order
-- (a replay merges the entries of an aggregate's events in a batch into one write).
-- Returns the number of entries added (or an error reply).
local function add_history(key, w, first, announce)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local top = last[2] and tonumber(last[2])
  local pairs_added = {}
  for i = first, #w, 2 do
    local new = tonumber(w[i])
    if not new then
      return bad_version(w[i])
    end
    if not top or new > top then
      pairs_added[#pairs_added + 1] = new
      pairs_added[#pairs_added + 1] = w[i + 1]
      top = new
    end
  end
  for i = 1, #pairs_added, 2 * ZADD_PAIRS do
    redis.call('ZADD', key, unpack(pairs_added, i, math.min(i + 2 * ZADD_PAIRS - 1, #pairs_added)))
  end
  if announce and #pairs_added > 0 then
    redis.call('PUBLISH', key, top)
  end
  return #pairs_added / 2
end

-- The writes an event asks for: how many keys and args each takes (`repeated`: its args
-- come in groups of that many, one or more), and what applies it (given its keys, the
-- write, the position of its first arg there, and `announce`).
local WRITES = {
  view = {keys = 1, args = 2, apply = function(keys, w, a, announce)
    return apply_view(keys[1], w[a], w[a + 1], announce)
  end},
  listed = {keys = 2, args = 4, apply = function(keys, w, a, announce)
    return apply_listed_view(keys[1], keys[2], w[a], w[a + 1], w[a + 2], w[a + 3], announce)
  end},
  history = {keys = 1, args = 2, repeated = true, apply = function(keys, w, a, announce)
    return add_history(keys[1], w, a, announce)
  end},
}

-- Whether write `w` has as many keys and args as its kind takes.
local function well_formed(write, w)
  local args = #w - 1 - write.keys
  if write.repeated then
    return args >= write.args and args % write.args == 0
  end
  return args == write.args
end

-- Read models live in generations: <base>:<generation>:<key>. The hash <base>:generations
-- names each model's live generation (field <model>; 'g0' while unset), the one a replay
-- is building (<model>:building) and the one just replaced, still written for a grace
-- period while readers move over (<model>:retiring). Per generation and model, a hash
-- keeps the offset of the last event applied from each source (topic:partition), and a
-- set the sources a replay has handed over to the live projector.
local FIRST_GENERATION = 'g0'

local function offsets_key(base, generation, model)
  return base .. ':' .. generation .. ':offsets:' .. model
end

local function handover_key(base, generation, model)
  return base .. ':' .. generation .. ':handover:' .. model
end

local function generations(base, model)
  local state = redis.call('HMGET', base .. ':generations', model, model .. ':building',
    model .. ':retiring')
  return state[1] or FIRST_GENERATION, state[2], state[3]
end

-- Applies one event's writes (each a list: name, keys within a generation, args) under
-- `prefix`. Returns the number applied, or an error reply.
local function apply_event(prefix, writes, announce)
  local applied = 0
  for _, w in ipairs(writes) do
    local write = WRITES[w[1]]
    if not write then
      return redis.error_reply('ERR unknown write ' .. tostring(w[1]))
    end
    if not well_formed(write, w) then
      local args = write.repeated and ' args, or a multiple' or ' args'
      return redis.error_reply('ERR ' .. w[1] .. ' takes ' .. write.keys .. ' keys and '
        .. write.args .. args)
    end
    local keys = {}
    for i = 1, write.keys do
      keys[i] = prefix .. w[1 + i]
    end
    local result = write.apply(keys, w, 2 + write.keys, announce)
    if type(result) == 'table' then
      return result
    end
    applied = applied + result
  end
  return applied
end

-- The last offset applied from each source, read once per call and written back once.
local Offsets = {}
Offsets.__index = Offsets

local function offsets(key)
  return setmetatable({key = key, cache = {}, changed = {}}, Offsets)
end

function Offsets:get(source)
  local offset = self.cache[source]
  if offset == nil then
    offset = tonumber(redis.call('HGET', self.key, source) or '-1')
    self.cache[source] = offset
  end
  return offset
end

function Offsets:set(source, offset)
  if offset > self:get(source) then
    self.cache[source] = offset
    self.changed[source] = true
  end
end

function Offsets:save()
  for source in pairs(self.changed) do
    redis.call('HSET', self.key, source, self.cache[source])
  end
end

-- The events of a batch, MessagePack-encoded in one argument (packing thousands of
-- arguments costs the client more than the whole call costs Redis): a list of events,
-- each {source, offset, writes}. `each` applies one (or not), returning the number of
-- writes applied or an error reply.
local function each_event(batch, each)
  local ok, events = pcall(cmsgpack.unpack, batch)
  if not ok or type(events) ~= 'table' then
    return redis.error_reply('ERR a batch is a MessagePack list of events')
  end
  local applied = 0
  for _, event in ipairs(events) do
    local source, offset, writes = event[1], tonumber(event[2]), event[3]
    if type(source) ~= 'string' or not offset or type(writes) ~= 'table' then
      return redis.error_reply('ERR an event is source, offset, writes')
    end
    local result = each(source, offset, writes)
    if type(result) == 'table' then
      return result
    end
    applied = applied + result
  end
  return applied
end

-- The live projector of one model: ARGV[1] base, ARGV[2] model, ARGV[3] the batch. Each
-- event goes to the live generation (and to a retiring one), and to a generation being
-- built once its replay has handed the event's source over and only if the replay has
-- not applied it yet: so the built generation gets every event once, in log order.
-- Returns the number of writes applied to the live generation.
local function ostock_project(_, args)
  local base, model = args[1], args[2]
  local live, building, retiring = generations(base, model)
  local live_offsets = offsets(offsets_key(base, live, model))
  local built_offsets = building and offsets(offsets_key(base, building, model))
  local handed = building and handover_key(base, building, model)
  local result = each_event(args[3], function(source, offset, writes)
    local applied = apply_event(base .. ':' .. live .. ':', writes, true)
    if type(applied) == 'table' then
      return applied
    end
    live_offsets:set(source, offset)
    -- The writes were checked by the live generation's: these cannot fail differently.
    if retiring then
      apply_event(base .. ':' .. retiring .. ':', writes, true)
    end
    if building and offset > built_offsets:get(source)
        and redis.call('SISMEMBER', handed, source) == 1 then
      apply_event(base .. ':' .. building .. ':', writes, false)
      built_offsets:set(source, offset)
    end
    return applied
  end)
  live_offsets:save()
  if built_offsets then
    built_offsets:save()
  end
  return result
end

-- A replay building one model: ARGV[1] base, ARGV[2] model, ARGV[3] the generation
-- built, ARGV[4] the batch. An event already there (the live projector applied it after
-- the handover) is skipped. Nothing is announced: nobody reads the generation yet.
-- Returns the number of writes applied.
local function ostock_replay(_, args)
  local base, model, generation = args[1], args[2], args[3]
  local built = offsets(offsets_key(base, generation, model))
  local prefix = base .. ':' .. generation .. ':'
  local result = each_event(args[4], function(source, offset, writes)
    if offset <= built:get(source) then
      return 0
    end
    built:set(source, offset)
    return apply_event(prefix, writes, false)
  end)
  built:save()
  return result
end

local function must_be_building(base, model, generation)
  local _, building = generations(base, model)
  if building ~= generation then
    return redis.error_reply('ERR ' .. model .. ' is not building ' .. generation)
  end
end

-- ARGV[1] base, ARGV[2] the generation to build, then the models: marks them building
-- it, unless one is already building another.
local function ostock_replay_begin(_, args)
  local base, generation = args[1], args[2]
  for i = 3, #args do
    local _, building = generations(base, args[i])
    if building then
      return redis.error_reply('ERR ' .. args[i] .. ' is already building ' .. building)
    end
  end
  for i = 3, #args do
    redis.call('HSET', base .. ':generations', args[i] .. ':building', generation)
  end
  return 1
end

-- ARGV[1] base, ARGV[2] model, ARGV[3] generation built, ARGV[4] source: from now on the
-- live projector applies the source's events to the built generation too. Refused (0)
-- while the replay is behind the live projector there, since the events in between
-- would then be missed.
local function ostock_replay_handover(_, args)
  local base, model, generation, source = args[1], args[2], args[3], args[4]
  local refused = must_be_building(base, model, generation)
  if refused then
    return refused
  end
  local live = generations(base, model)
  local built = offsets(offsets_key(base, generation, model)):get(source)
  if built < offsets(offsets_key(base, live, model)):get(source) then
    return 0
  end
  redis.call('SADD', handover_key(base, generation, model), source)
  return 1
end

-- ARGV[1] base, ARGV[2] generation built, then the models: each one's built generation
-- becomes live at once, the live one retiring. Returns the generations retired.
local function ostock_replay_switch(_, args)
  local base, generation = args[1], args[2]
  local retired = {}
  for i = 3, #args do
    local refused = must_be_building(base, args[i], generation)
    if refused then
      return refused
    end
  end
  for i = 3, #args do
    local model = args[i]
    local live = generations(base, model)
    redis.call('HSET', base .. ':generations', model, generation, model .. ':retiring', live)
    redis.call('HDEL', base .. ':generations', model .. ':building')
    redis.call('DEL', handover_key(base, generation, model))
    retired[#retired + 1] = live
  end
  redis.call('PUBLISH', base .. ':generations', generation)
  return retired
end

-- ARGV[1] base, then the models: stop writing their retiring generations (after a
-- switch) or the ones being built (a replay given up).
local function ostock_replay_end(_, args)
  local base = args[1]
  for i = 2, #args do
    redis.call('HDEL', base .. ':generations', args[i] .. ':retiring', args[i] .. ':building')
  end
  return 1
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

redis.register_function('ostock_project', ostock_project)
redis.register_function('ostock_replay', ostock_replay)
redis.register_function('ostock_replay_begin', ostock_replay_begin)
redis.register_function('ostock_replay_handover', ostock_replay_handover)
redis.register_function('ostock_replay_switch', ostock_replay_switch)
redis.register_function('ostock_replay_end', ostock_replay_end)
redis.register_function('ostock_command_pending', ostock_command_pending)
redis.register_function('ostock_command_decided', ostock_command_decided)
