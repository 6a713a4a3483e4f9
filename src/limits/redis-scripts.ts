/**
 * The Lua scripts of the Redis limiter, as string constants (so `tsc` output needs no asset copy).
 * Each decision is one script call: Redis runs it atomically, so check-then-apply across every
 * limit of a request is all-or-nothing without locks, and every node sees one count.
 *
 * Per limit, three keys sharing one hash tag (so one limit always lives in one slot):
 *   <base>:w  hash  window: field "<unix second>" → tokens admitted in that second; field "h" → the
 *                   newest second seen (a clock that steps back acts at it, as in RollingWindow).
 *                   Buckets older than 60 s are deleted as they are read. TTL: 61 s after the newest
 *                   second's end minus now, i.e. ~61 s after the last write.
 *   <base>:q  hash  quota: "p" period, "s" period start (ms), "u" used. TTL: period end + the
 *                   reservation TTL + 1 h (set when a period starts).
 *   <base>:r  zset  outstanding reservations, member "<rid>:<tokens>:<second>:<quotaStart>" scored by
 *                   their expiry (ms); and markers of expired ones, "x:<member>", scored by the time
 *                   they are dropped (expiry + 24 h), so a late settle can still be charged once.
 *                   TTL: long enough for every live member to be swept and every marker to be kept.
 *
 * Time is Redis's (`TIME`) unless the caller passes a clock reading in ARGV[1] (tests only).
 * Numbers come back as integer replies when integral, else as exact decimal strings (`%.17g`).
 */

const PRELUDE = `
-- Redis < 5 replicates scripts verbatim, which forbids writes after TIME; effects replication fixes that.
if redis.replicate_commands then redis.replicate_commands() end
local DAY = 86400000
local LATE_KEEP = 86400000
local SWEEP_MAX = 1000

-- Numbers go to redis.call as Lua numbers (Redis writes them exactly, as %.17g) and come back as
-- integer replies when integral; only other values are formatted here.
local function ret(n)
  if n == math.floor(n) and n > -9e15 and n < 9e15 then return n end
  return string.format('%.17g', n)
end
-- For member strings: Lua's own number-to-string is exact for integers below 1e14.
local function mnum(n)
  if n == math.floor(n) and n > -1e14 and n < 1e14 then return n end
  return string.format('%.17g', n)
end
local function arg_num(v) if v == nil or v == '' then return nil end return tonumber(v) end

local function now_ms(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Days since 1970-01-01 of a proleptic Gregorian date (m: 1..12), and back (H. Hinnant's algorithms).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- Same as quota-period.ts: fixed UTC periods, weeks start on Monday.
local function period_start(p, now)
  if p == 'hourly' then return math.floor(now / 3600000) * 3600000 end
  local days = math.floor(now / DAY)
  if p == 'daily' then return days * DAY end
  if p == 'weekly' then return (days - (days + 3) % 7) * DAY end -- 1970-01-01 was a Thursday
  local y, m = civil_from_days(days)
  if p == 'monthly' then return days_from_civil(y, m, 1) * DAY end
  return days_from_civil(y, 1, 1) * DAY
end

local function period_end(p, start)
  if p == 'hourly' then return start + 3600000 end
  if p == 'daily' then return start + DAY end
  if p == 'weekly' then return start + 7 * DAY end
  local y, m = civil_from_days(math.floor(start / DAY))
  if p == 'monthly' then
    if m == 12 then return days_from_civil(y + 1, 1, 1) * DAY end
    return days_from_civil(y, m + 1, 1) * DAY
  end
  return days_from_civil(y + 1, 1, 1) * DAY
end

-- A limit's state, read once per script and written back once (flush).
local function load(wk, qk, rk, now)
  local st = { wk = wk, qk = qk, rk = rk, b = {}, sum = 0, dirty = {}, q_dirty = false, q_new = false, r_want = nil }
  local raw = redis.call('HGETALL', wk)
  local stored_h = nil
  for i = 1, #raw, 2 do
    if raw[i] == 'h' then stored_h = tonumber(raw[i + 1]) end
  end
  local h = math.floor(now / 1000)
  if stored_h ~= nil and stored_h > h then h = stored_h end
  st.h = h
  st.h_dirty = stored_h == nil or h > stored_h
  local stale = {}
  for i = 1, #raw, 2 do
    local f = raw[i]
    if f ~= 'h' then
      local s = tonumber(f)
      if s <= h - 60 then
        stale[#stale + 1] = f
      else
        local v = tonumber(raw[i + 1])
        st.b[s] = v
        st.sum = st.sum + v
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', wk, unpack(stale)) end
  local q = redis.call('HMGET', qk, 'p', 's', 'u')
  if q[1] then
    st.qp = q[1]
    st.qs = tonumber(q[2])
    st.qu = tonumber(q[3]) or 0
  else
    st.qp = nil
    st.qs = nil
    st.qu = 0
  end
  return st
end

local function want_r(st, ms)
  if st.r_want == nil or ms > st.r_want then st.r_want = ms end
end

-- Rolls the quota over when a new period has begun or the period kind changed.
local function quota_used_at(st, p, now)
  local start = period_start(p, now)
  if st.qs ~= start or st.qp ~= p then
    st.qs = start
    st.qp = p
    st.qu = 0
    st.q_dirty = true
    st.q_new = true
  end
  return st.qu
end

local function w_add(st, tokens)
  local s = st.h
  st.b[s] = (st.b[s] or 0) + tokens
  st.sum = st.sum + tokens
  st.dirty[s] = true
end

-- Corrects tokens admitted at "admitted" by delta; if that second left the window, a return is
-- moot and an overrun is charged now.
local function w_adjust(st, admitted, delta)
  local h = st.h
  if admitted > h - 60 and admitted <= h then
    local cur = st.b[admitted] or 0
    local nxt = cur + delta
    if nxt < 0 then nxt = 0 end
    st.sum = st.sum + nxt - cur
    st.b[admitted] = nxt
    st.dirty[admitted] = true
  elseif delta > 0 then
    w_add(st, delta)
  end
end

-- The first second at which "needed" tokens will have left the window (nil: never).
local function w_freed_at(st, needed)
  local freed = 0
  for s = st.h - 59, st.h do
    freed = freed + (st.b[s] or 0)
    if freed >= needed then return s + 60 end
  end
  return nil
end

-- The second at which everything now in the window has left it.
local function w_empty_at(st)
  for s = st.h, st.h - 59, -1 do
    if (st.b[s] or 0) > 0 then return s + 60 end
  end
  return st.h
end

-- A settle (delta = used - reserved) or release (delta = -reserved) of a live reservation.
local function apply(st, admitted, qstart, delta, now, fallback_period)
  if delta == 0 then return end
  w_adjust(st, admitted, delta)
  if qstart == -1 then return end
  local p = st.qp
  if p == nil and fallback_period ~= nil and fallback_period ~= '' then p = fallback_period end
  if p == nil then return end
  quota_used_at(st, p, now)
  if st.qs == qstart then
    local v = st.qu + delta
    if v < 0 then v = 0 end
    st.qu = v
    st.q_dirty = true
  elseif delta > 0 then
    st.qu = st.qu + delta -- an overrun that crossed into a new period
    st.q_dirty = true
  end
end

-- A settle of an expired reservation: the full usage, charged now.
local function charge_now(st, used, now, fallback_period)
  w_add(st, used)
  local p = st.qp
  if p == nil and fallback_period ~= nil and fallback_period ~= '' then p = fallback_period end
  if p == nil then return end
  quota_used_at(st, p, now)
  st.qu = st.qu + used
  st.q_dirty = true
end

local function parse_member(m)
  local tokens, second, qstart = string.match(m, '^[^:]+:([^:]+):([^:]+):([^:]+)$')
  return tonumber(tokens), tonumber(second), tonumber(qstart)
end

-- Releases this limit's expired reservations (turning each into a marker kept for late settles)
-- and drops markers past their keep time. Bounded per call; the rest goes on the next call.
local function sweep(st, now)
  local due = redis.call('ZRANGEBYSCORE', st.rk, '-inf', now, 'LIMIT', 0, SWEEP_MAX)
  if #due == 0 then return end
  local markers = {}
  for _, m in ipairs(due) do
    if string.sub(m, 1, 2) ~= 'x:' then
      local tokens, second, qstart = parse_member(m)
      if tokens ~= nil then apply(st, second, qstart, -tokens, now, nil) end
      markers[#markers + 1] = now + LATE_KEEP
      markers[#markers + 1] = 'x:' .. m
    end
  end
  redis.call('ZREM', st.rk, unpack(due))
  if #markers > 0 then
    redis.call('ZADD', st.rk, unpack(markers))
    want_r(st, LATE_KEEP + 60000)
  end
end

local function flush(st, now, ttl)
  local hset = {}
  local hdel = {}
  for s in pairs(st.dirty) do
    local v = st.b[s] or 0
    if v > 0 then
      hset[#hset + 1] = s
      hset[#hset + 1] = v
    else
      hdel[#hdel + 1] = s
    end
  end
  if #hset > 0 then
    if st.h_dirty then
      hset[#hset + 1] = 'h'
      hset[#hset + 1] = st.h
    end
    redis.call('HSET', st.wk, unpack(hset))
    if st.h_dirty then redis.call('PEXPIRE', st.wk, math.floor((st.h + 61) * 1000 - now)) end
  end
  if #hdel > 0 then redis.call('HDEL', st.wk, unpack(hdel)) end
  if st.q_dirty then
    redis.call('HSET', st.qk, 'p', st.qp, 's', st.qs, 'u', st.qu)
    if st.q_new then redis.call('PEXPIRE', st.qk, math.floor(period_end(st.qp, st.qs) - now + ttl + 3600000)) end
  end
  if st.r_want ~= nil then
    local cur = redis.call('PTTL', st.rk)
    if cur ~= -2 and cur < st.r_want then redis.call('PEXPIRE', st.rk, math.floor(st.r_want)) end
  end
end

-- Loads (once per distinct limit) and sweeps the limits named by KEYS, three keys per limit (a
-- key past the last three is not a limit's: the epoch key of reserve).
local function load_all(now)
  local n = math.floor(#KEYS / 3)
  local states = {}
  local distinct = {}
  local by_key = {}
  for i = 1, n do
    local wk = KEYS[3 * i - 2]
    local st = by_key[wk]
    if st == nil then
      st = load(wk, KEYS[3 * i - 1], KEYS[3 * i], now)
      sweep(st, now)
      by_key[wk] = st
      distinct[#distinct + 1] = st
    end
    states[i] = st
  end
  return n, states, distinct
end
`;

/**
 * reserve — KEYS: w, q, r per limit, then optionally the epoch key. ARGV: now ('' = Redis TIME),
 * tokens (informative), reservation TTL (ms), reservation id, then tpm, quota, period ('' = none)
 * and the amount to reserve (tokens, or micro-units for a budget) per limit, then (with the epoch
 * key) the epoch the caller's counts were seeded for.
 * Returns {'E'} when the epoch key does not hold that epoch (Redis lost its data: nothing charged),
 * {'0', index, 't'|'q', retryAfter|'' , periodEnd|''} when refused (nothing charged), or
 * {'1', now, then per limit: member, window used, second the window empties, quota used|'', quota start|''}.
 */
export const RESERVE_SCRIPT = `${PRELUDE}
local limits = math.floor(#KEYS / 3)
if #KEYS > limits * 3 and redis.call('GET', KEYS[#KEYS]) ~= ARGV[4 + 4 * limits + 1] then return { 'E' } end
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[3])
local rid = ARGV[4]
local n, states, distinct = load_all(now)

local function rank(r)
  local x = 0
  if r.retry == nil then x = 2 end
  if r.kind == 'q' then x = x + 1 end
  return x
end
-- Never-fits, then quota, then TPM; between equals, the longest retry.
local function worse(a, b)
  if a == nil then return b end
  if b == nil then return a end
  local ra, rb = rank(a), rank(b)
  if ra ~= rb then
    if ra > rb then return a end
    return b
  end
  if (b.retry or 0) > (a.retry or 0) then return b end
  return a
end

local refusal = nil
for i = 1, n do
  local st = states[i]
  local tpm = arg_num(ARGV[4 + 4 * i - 3])
  local quota = arg_num(ARGV[4 + 4 * i - 2])
  local period = ARGV[4 + 4 * i - 1]
  local tokens = tonumber(ARGV[4 + 4 * i])
  local qref, tref = nil, nil
  if quota ~= nil and period ~= '' then
    local used = quota_used_at(st, period, now)
    local pend = period_end(period, st.qs)
    if tokens > quota then
      qref = { i = i, kind = 'q', retry = nil, pend = pend }
    elseif used + tokens > quota then
      qref = { i = i, kind = 'q', retry = math.max(1, math.ceil((pend - now) / 1000)), pend = pend }
    end
  end
  if tpm ~= nil then
    local used = st.sum
    if tokens > tpm then
      tref = { i = i, kind = 't', retry = nil }
    elseif used + tokens > tpm then
      local freed_at = w_freed_at(st, used + tokens - tpm) or (st.h + 60)
      tref = { i = i, kind = 't', retry = math.max(1, math.ceil((freed_at * 1000 - now) / 1000)) }
    end
  end
  refusal = worse(refusal, worse(qref, tref))
end

if refusal ~= nil then
  for _, st in ipairs(distinct) do flush(st, now, ttl) end
  local retry = ''
  if refusal.retry ~= nil then retry = refusal.retry end
  local pend = ''
  if refusal.pend ~= nil then pend = refusal.pend end
  return { '0', refusal.i, refusal.kind, retry, pend }
end

local out = { '1', ret(now) }
local members = {}
for i = 1, n do
  local st = states[i]
  local tokens = tonumber(ARGV[4 + 4 * i])
  w_add(st, tokens)
  local qstart = -1
  local quota = arg_num(ARGV[4 + 4 * i - 2])
  local period = ARGV[4 + 4 * i - 1]
  local life = ttl + LATE_KEEP
  if quota ~= nil and period ~= '' then
    st.qu = st.qu + tokens
    st.q_dirty = true
    qstart = st.qs
    local qlife = period_end(period, st.qs) - now + ttl + 3600000
    if qlife > life then life = qlife end
  end
  local member = rid .. '.' .. i .. ':' .. mnum(tokens) .. ':' .. mnum(st.h) .. ':' .. mnum(qstart)
  redis.call('ZADD', st.rk, now + ttl, member)
  want_r(st, life + 60000)
  members[i] = member
end
for _, st in ipairs(distinct) do flush(st, now, ttl) end
for i = 1, n do
  local st = states[i]
  local quota = arg_num(ARGV[4 + 4 * i - 2])
  local period = ARGV[4 + 4 * i - 1]
  out[#out + 1] = members[i]
  out[#out + 1] = ret(st.sum)
  out[#out + 1] = w_empty_at(st)
  if quota ~= nil and period ~= '' then
    out[#out + 1] = ret(st.qu)
    out[#out + 1] = st.qs
  else
    out[#out + 1] = ''
    out[#out + 1] = ''
  end
end
return out
`;

/**
 * settle / release — KEYS: w, q, r per limit. ARGV: now, reservation TTL (ms), mode ('s' settle,
 * 'r' release), used tokens (informative), then member, quota period ('' = none) and the amount
 * used (tokens, or micro-units for a budget) per limit.
 * A live reservation is corrected (settle) or returned (release) and forgotten; an expired one is
 * charged its full usage by a settle (once) and left alone by a release; anything else is a no-op.
 * Returns the number of limits it changed.
 */
export const SETTLE_SCRIPT = `${PRELUDE}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
local mode = ARGV[3]
local n, states, distinct = load_all(now)
local changed = 0
for i = 1, n do
  local st = states[i]
  local member = ARGV[4 + 3 * i - 2]
  local period = ARGV[4 + 3 * i - 1]
  local used = tonumber(ARGV[4 + 3 * i])
  if redis.call('ZSCORE', st.rk, member) then
    redis.call('ZREM', st.rk, member)
    local tokens, second, qstart = parse_member(member)
    if mode == 's' then
      apply(st, second, qstart, used - tokens, now, period)
    else
      apply(st, second, qstart, -tokens, now, period)
    end
    changed = changed + 1
  elseif mode == 's' and redis.call('ZSCORE', st.rk, 'x:' .. member) then
    redis.call('ZREM', st.rk, 'x:' .. member)
    charge_now(st, used, now, period)
    changed = changed + 1
  end
end
for _, st in ipairs(distinct) do flush(st, now, ttl) end
return changed
`;

/**
 * seed — KEYS: w, q, r of one limit. ARGV: now, reservation TTL (ms), quota period ('' = none),
 * quota used in the current period ('' = unknown), then pairs of (second, tokens) for the window.
 * Raises each counter to at least the given value, never lowers one: seeding twice, or from two
 * nodes at once, or over counts that survived, counts nothing twice — Redis only ever holds
 * admissions the ledger will also hold, plus reservations in flight. Returns 1.
 */
export const SEED_SCRIPT = `${PRELUDE}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
local period = ARGV[3]
local qused = arg_num(ARGV[4])
local _, states = load_all(now)
local st = states[1]
for j = 5, #ARGV - 1, 2 do
  local s = tonumber(ARGV[j])
  local t = tonumber(ARGV[j + 1])
  local cur = st.b[s] or 0
  if s > st.h - 60 and s <= st.h and t > cur then
    st.b[s] = t
    st.sum = st.sum + t - cur
    st.dirty[s] = true
  end
end
if period ~= '' and qused ~= nil and qused > quota_used_at(st, period, now) then
  st.qu = qused
  st.q_dirty = true
end
flush(st, now, ttl)
return 1
`;

/**
 * peek — KEYS: w, q, r of one limit. ARGV: now, reservation TTL (ms), quota period ('' = no quota).
 * Returns {now, window used, second the window empties, quota used|'', quota start|''}.
 */
export const PEEK_SCRIPT = `${PRELUDE}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
local period = ARGV[3]
local _, states, distinct = load_all(now)
local st = states[1]
local qused, qstart = '', ''
if period ~= '' then
  qused = ret(quota_used_at(st, period, now))
  qstart = st.qs
end
for _, s in ipairs(distinct) do flush(s, now, ttl) end
return { ret(now), ret(st.sum), w_empty_at(st), qused, qstart }
`;
