-- Adds a job scheduler's next iteration, stored and queued as Node BullMQ's worker stores and
-- queues it when it fetches the current iteration: only while the current iteration is the
-- scheduler's latest (the scheduler may have been removed or upserted again, or its next
-- iteration added already, by this worker or another one). Every change happens here, in one
-- script, so an iteration is added once and the scheduler moves on with it.
--
-- KEYS: 1 the queue's scheduler set (`repeat`), 2 delayed, 3 wait, 4 meta, 5 prioritized,
--       6 marker, 7 id, 8 events, 9 pc (the priority counter), 10 active
-- ARGV: 1 the scheduler's id, 2 the current iteration's job id, 3 now (ms),
--       4 the next iteration's time for a cron scheduler, "" for an `every` one (its time is
--       counted here, from the scheduler's own),
--       5 the next iteration's options (JSON; its `jobId` and `delay` are set here)
-- Returns the next iteration's job id, or false when it adds nothing.
local call = redis.call
local schedulers, id, now = KEYS[1], ARGV[1], tonumber(ARGV[3])

local latest = call("ZSCORE", schedulers, id)
if not latest then
  return false
end
latest = tonumber(latest)
-- Node compares the ids as text, with the score read as a number.
if ARGV[2] ~= "repeat:" .. id .. ":" .. latest then
  return false
end

local scheduler = schedulers .. ":" .. id
local fields = call("HMGET", scheduler, "name", "data", "every", "offset")
local name, data = fields[1], fields[2] or "{}"
if not name then
  return false
end
local options = cjson.decode(ARGV[5])
local repeat_options = type(options["repeat"]) == "table" and options["repeat"] or {}

-- An `every` scheduler's next time: one `every` after the latest, or, when that is already
-- past, the first slot after now (slots are `every` apart, shifted by the scheduler's offset).
local next_time = tonumber(ARGV[4])
local every = tonumber(fields[3]) or tonumber(repeat_options["every"])
if every then
  next_time = latest + every
  if next_time < now then
    local offset = tonumber(fields[4] or repeat_options["offset"] or 0) or 0
    local slot = math.floor(now / every) * every + offset
    if slot <= now then
      slot = slot + every
    end
    next_time = slot
  end
  next_time = math.floor(next_time)
end
if not next_time then
  return false
end

local meta, events = KEYS[4], KEYS[8]
local max_events = call("HGET", meta, "opts.maxLenEvents")
if not max_events then
  max_events = 10000
  call("HSET", meta, "opts.maxLenEvents", max_events)
end

local next_id = "repeat:" .. id .. ":" .. next_time
local next_key = scheduler .. ":" .. next_time
if call("EXISTS", next_key) == 1 then
  call("XADD", events, "MAXLEN", "~", max_events, "*", "event", "duplicated", "jobId", next_id)
  return false
end

call("ZADD", schedulers, next_time, id)
call("HINCRBY", scheduler, "ic", 1)
call("INCR", KEYS[7])

local delay = math.max(next_time - now, 0)
options["delay"] = delay
options["jobId"] = next_id
local priority = tonumber(options["priority"]) or 0
local job = { "name", name, "data", data, "opts", cjson.encode(options), "timestamp", ARGV[3],
  "delay", delay, "priority", priority, "rjk", id }
if type(options["de"]) == "table" and options["de"]["id"] then
  table.insert(job, "deid")
  table.insert(job, options["de"]["id"])
end
call("HSET", next_key, unpack(job))
call("XADD", events, "*", "event", "added", "jobId", next_id, "name", name)

if delay > 0 then
  -- Delayed jobs are ordered by time, then by arrival: the score is the time × 4096 plus a
  -- count of the jobs already due at that same millisecond (at most 4095).
  local due = now + delay
  local lowest, highest = due * 0x1000, (due + 1) * 0x1000 - 1
  local same_ms = call("ZREVRANGEBYSCORE", KEYS[2], highest, lowest, "WITHSCORES", "LIMIT", 0, 1)
  local score = lowest
  if same_ms[2] then
    score = math.min(tonumber(same_ms[2]) + 1, highest)
  end
  call("ZADD", KEYS[2], score, next_id)
  call("XADD", events, "MAXLEN", "~", max_events, "*", "event", "delayed", "jobId", next_id,
    "delay", due)
  local first = call("ZRANGE", KEYS[2], 0, 0, "WITHSCORES")
  if first[2] then
    call("ZADD", KEYS[6], tonumber(first[2]) / 0x1000, "1")
  end
else
  local state = call("HMGET", meta, "paused", "concurrency")
  local held = state[1] or (state[2] and call("LLEN", KEYS[10]) >= tonumber(state[2]))
  if priority > 0 then
    local count = call("INCR", KEYS[9])
    call("ZADD", KEYS[5], priority * 0x100000000 + count % 0x100000000, next_id)
  else
    call(options["lifo"] and "RPUSH" or "LPUSH", KEYS[3], next_id)
  end
  if not held then
    call("ZADD", KEYS[6], 0, "0")
  end
  call("XADD", events, "MAXLEN", "~", max_events, "*", "event", "waiting", "jobId", next_id)
end
return next_id
