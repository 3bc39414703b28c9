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

-- 1 if applied, 0 if ignored (or an error reply). `announce`: the command that publishes
-- the change, PUBLISH or SPUBLISH (false while a replay builds a generation nobody reads).
local function apply_view(key, version, body, announce)
  local stored, refused = older_view(key, version, 'body')
  if not stored then
    return refused or 0
  end
  redis.call('HSET', key, 'version', version, 'body', keep_created_at(body, stored[2]))
  if announce then
    -- The channel is the key itself: a reader waiting for one view subscribes to its key.
    redis.call(announce, key, version)
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
    redis.call(announce, view_key, version)
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
    redis.call(announce, key, top)
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

-- Read models live in generations: <base>:<generation>:<key>. Each shard (a Redis Cluster
-- slot; on one Redis the whole database) has a generations record of its own,
-- <base>:generations:{<tag>} (on a cluster a tag hashing to the slot), naming each model's
-- live generation in the shard (field <model>; 'g0' while unset), the one a replay is
-- building (<model>:building), the one just replaced, still written for a grace period
-- while readers move over (<model>:retiring), and the sources a replay has handed over to
-- the live projector (<model>:handover:<source>). Per generation, model and shard, a hash
-- keeps the offset of the last event applied there from each source (topic:partition).
-- Every function touches the keys of one shard only, all declared (read-models/README.md).
local FIRST_GENERATION = 'g0'

local function offsets_key(base, generation, model, tag)
  return base .. ':' .. generation .. ':offsets:' .. model .. ':{' .. tag .. '}'
end

local function generations(record, model)
  local state = redis.call('HMGET', record, model, model .. ':building', model .. ':retiring')
  return state[1] or FIRST_GENERATION, state[2], state[3]
end

-- The publishing command a caller names: PUBLISH on one Redis, SPUBLISH on a cluster
-- (sharded: the channel is a key, so its message stays on the key's shard).
local PUBLISHERS = {PUBLISH = true, SPUBLISH = true}

local function publisher(name)
  if not PUBLISHERS[name] then
    return nil, redis.error_reply('ERR publish with PUBLISH or SPUBLISH, not ' .. tostring(name))
  end
  return name
end

-- The keys a call declared, as a set: it touches no other.
local function declared(keys)
  local set = {}
  for _, key in ipairs(keys) do
    set[key] = true
  end
  return set
end

-- Applies one event's writes (each a list: name, keys within a generation, args) under
-- `prefix`, each key checked against `allowed`. Returns the number applied, or an error
-- reply.
local function apply_event(prefix, writes, announce, allowed)
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
      if not allowed[keys[i]] then
        return redis.error_reply('ERR key ' .. keys[i] .. ' not declared')
      end
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

local function offsets(key, allowed)
  if not allowed[key] then
    return nil, redis.error_reply('ERR key ' .. key .. ' not declared')
  end
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

-- The events of one shard of a batch (decoded): each {source, offset, writes}. `each`
-- applies one (or not), returning the number of writes applied or an error reply.
local function each_event(events, each)
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

local function named(generation)
  return generation or '-'
end

-- The events of one shard of a batch, for the live projector: the shard's tag, the live,
-- building and retiring generations the caller expects there ('-': none), and its events,
-- MessagePack-decoded. Returns the number of writes applied to the live generation, the
-- status 'STALE <live> <building> <retiring>' if the shard's record names other
-- generations (nothing is written: the caller names those and sends the shard again), or
-- an error reply. Each event goes to the live generation (and to a retiring one), and to
-- a generation being built once its replay has handed the event's source over in this
-- shard, and only if the replay has not applied it yet: so the built generation gets every
-- event once, in log order.
local function project_shard(base, model, publish, allowed, shard)
  local tag, events = shard[1], shard[5]
  local record = base .. ':generations:{' .. tag .. '}'
  if not allowed[record] then
    return redis.error_reply('ERR key ' .. record .. ' not declared')
  end
  local live, building, retiring = generations(record, model)
  if live ~= shard[2] or named(building) ~= shard[3] or named(retiring) ~= shard[4] then
    return {ok = 'STALE ' .. live .. ' ' .. named(building) .. ' ' .. named(retiring)}
  end
  local live_offsets, undeclared = offsets(offsets_key(base, live, model, tag), allowed)
  if not live_offsets then
    return undeclared
  end
  local built_offsets
  if building then
    built_offsets, undeclared = offsets(offsets_key(base, building, model, tag), allowed)
    if not built_offsets then
      return undeclared
    end
  end
  local handed = {}
  local function handed_over(source)
    if handed[source] == nil then
      handed[source] = redis.call('HEXISTS', record, model .. ':handover:' .. source) == 1
    end
    return handed[source]
  end
  local result = each_event(events, function(source, offset, writes)
    local applied = apply_event(base .. ':' .. live .. ':', writes, publish, allowed)
    if type(applied) == 'table' then
      return applied
    end
    live_offsets:set(source, offset)
    if retiring then
      applied = apply_event(base .. ':' .. retiring .. ':', writes, publish, allowed)
      if type(applied) == 'table' then
        return applied
      end
    end
    if building and offset > built_offsets:get(source) and handed_over(source) then
      local built = apply_event(base .. ':' .. building .. ':', writes, false, allowed)
      if type(built) == 'table' then
        return built
      end
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

-- The shards of a batch, MessagePack-encoded in one argument: a list of shards, each a list
-- whose last element is its events. `each` handles one, returning its answer; an error
-- reply ends the call.
local function each_shard(batch, each)
  local ok, shards = pcall(cmsgpack.unpack, batch)
  if not ok or type(shards) ~= 'table' then
    return redis.error_reply('ERR a batch is a MessagePack list of shards')
  end
  local answers = {}
  for i, shard in ipairs(shards) do
    if type(shard) ~= 'table' or type(shard[1]) ~= 'string' or type(shard[#shard]) ~= 'table' then
      return redis.error_reply('ERR a shard is its tag, ..., its events')
    end
    local answer = each(shard)
    if type(answer) == 'table' and answer.err then
      return answer
    end
    answers[i] = answer
  end
  return answers
end

-- The live projector of one model: KEYS every key the batch touches (each shard's
-- generations record, offsets and views, in the generations named); ARGV[1] base, ARGV[2]
-- model, ARGV[3] PUBLISH or SPUBLISH, ARGV[4] the batch: a list of shards, each
-- {tag, live, building, retiring, events} (project_shard). The writer sends one shard a
-- call. Returns each shard's answer: the writes applied to its live generation, or STALE.
local function ostock_project(keys, args)
  local base, model = args[1], args[2]
  local publish, refused = publisher(args[3])
  if not publish then
    return refused
  end
  local allowed = declared(keys)
  return each_shard(args[4], function(shard)
    return project_shard(base, model, publish, allowed, shard)
  end)
end

-- A replay building one model: KEYS every key the batch touches in the generation built
-- (each shard's offsets key among them); ARGV[1] base, ARGV[2] model, ARGV[3] the
-- generation built, ARGV[4] the batch: a list of shards, each {tag, events}. An event
-- already there (the live projector applied it after the handover) is skipped. Nothing
-- is announced: nobody reads the generation yet. Returns each shard's writes applied.
local function ostock_replay(keys, args)
  local base, model, generation = args[1], args[2], args[3]
  local allowed = declared(keys)
  local prefix = base .. ':' .. generation .. ':'
  return each_shard(args[4], function(shard)
    local built, undeclared = offsets(offsets_key(base, generation, model, shard[1]), allowed)
    if not built then
      return undeclared
    end
    local result = each_event(shard[2], function(source, offset, writes)
      if offset <= built:get(source) then
        return 0
      end
      built:set(source, offset)
      return apply_event(prefix, writes, false, allowed)
    end)
    built:save()
    return result
  end)
end

local function must_be_building(record, model, generation)
  local _, building = generations(record, model)
  if building ~= generation then
    return redis.error_reply('ERR ' .. model .. ' is not building ' .. generation)
  end
end

-- Forgets which sources were handed over to `model`'s built generation.
local function forget_handovers(record, model)
  local fields = redis.call('HKEYS', record)
  local handover = model .. ':handover:'
  for _, field in ipairs(fields) do
    if string.sub(field, 1, #handover) == handover then
      redis.call('HDEL', record, field)
    end
  end
end

-- KEYS[1] a generations record (a shard's, or the readers' <base>:generations), ARGV[1] the
-- generation to build, then the models: marks them building it, unless one is already
-- building another.
local function ostock_replay_begin(keys, args)
  local generation = args[1]
  for i = 2, #args do
    local _, building = generations(keys[1], args[i])
    if building and building ~= generation then
      return redis.error_reply('ERR ' .. args[i] .. ' is already building ' .. building)
    end
  end
  for i = 2, #args do
    redis.call('HSET', keys[1], args[i] .. ':building', generation)
  end
  return 1
end

-- KEYS[1] a shard's generations record, KEYS[2] the offsets key of the generation built in
-- the shard, KEYS[3] the live one's; ARGV[1] model, ARGV[2] generation built, then the
-- sources: from now on the live projector applies each source's events in the shard to the
-- built generation too. Refused (0) for a source while the replay is behind the live
-- projector there, since the events in between would then be missed. Returns 1 or 0 for
-- each source.
local function ostock_replay_handover(keys, args)
  local model, generation = args[1], args[2]
  local refused = must_be_building(keys[1], model, generation)
  if refused then
    return refused
  end
  local live = generations(keys[1], model)
  if string.find(keys[3], ':' .. live .. ':offsets:', 1, true) == nil then
    return redis.error_reply('STALE ' .. live)
  end
  local allowed = declared(keys)
  local built, current = offsets(keys[2], allowed), offsets(keys[3], allowed)
  local answers = {}
  for i = 3, #args do
    local source = args[i]
    if built:get(source) < current:get(source) then
      answers[#answers + 1] = 0
    else
      redis.call('HSET', keys[1], model .. ':handover:' .. source, 1)
      answers[#answers + 1] = 1
    end
  end
  return answers
end

-- KEYS[1] a generations record, ARGV[1] generation built, ARGV[2] PUBLISH or SPUBLISH, then
-- the models: each one's built generation becomes live at once, the live one retiring;
-- already done, nothing changes. Returns the generations retired.
local function ostock_replay_switch(keys, args)
  local record, generation = keys[1], args[1]
  local publish, refused = publisher(args[2])
  if not publish then
    return refused
  end
  for i = 3, #args do
    if generations(record, args[i]) ~= generation then
      refused = must_be_building(record, args[i], generation)
      if refused then
        return refused
      end
    end
  end
  local retired = {}
  for i = 3, #args do
    local model = args[i]
    local live, _, retiring = generations(record, model)
    if live == generation then  -- switched already: a call retried
      retired[#retired + 1] = retiring or FIRST_GENERATION
    else
      redis.call('HSET', record, model, generation, model .. ':retiring', live)
      redis.call('HDEL', record, model .. ':building')
      forget_handovers(record, model)
      retired[#retired + 1] = live
    end
  end
  redis.call(publish, record, generation)
  return retired
end

-- KEYS[1] a generations record, then the models: stop writing their retiring generations
-- (after a switch) or the ones being built (a replay given up).
local function ostock_replay_end(keys, args)
  for i = 1, #args do
    redis.call('HDEL', keys[1], args[i] .. ':retiring', args[i] .. ':building')
    forget_handovers(keys[1], args[i])
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

-- KEYS[1] command key, ARGV[1] state, ARGV[2] body, ARGV[3] expire-at (Unix seconds),
-- ARGV[4] PUBLISH or SPUBLISH: a decision is final, so it is always written.
local function ostock_command_decided(keys, args)
  local state = args[1]
  if state ~= 'accepted' and state ~= 'rejected' then
    return redis.error_reply('ERR a decision is accepted or rejected, got ' .. tostring(state))
  end
  local publish, refused = publisher(args[4])
  if not publish then
    return refused
  end
  redis.call('HSET', keys[1], 'state', state, 'body', args[2])
  redis.call('EXPIREAT', keys[1], args[3])
  redis.call(publish, keys[1], state)
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
