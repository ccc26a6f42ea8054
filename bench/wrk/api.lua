-- wrk script for bench/run and bench/soak, adapted from the team's shared
-- wrk-post-json.lua tool (same METHOD / BODY / TOKEN knobs).
--
-- Env (all optional):
--   METHOD        request method (default GET, or POST with a BODY)
--   BODY          request body, sent as application/json
--   TOKEN         bearer token for every request
--   TOKENS_FILE   one token a line; each request takes the next one, so that
--                 writes land on different rows as they would in production
--   ID_LO, ID_HI  "{id}" in URL_PATH becomes a random id in [ID_LO, ID_HI]
--   URL_PATH      path template (default: the path of wrk's URL)
--   MODE          register: POST a new, unique account each request (RUN_ID
--                           keeps runs against one database apart)
--                 login:    log in as seeded user<n>@bench.example, n random in
--                           [USER_LO, USER_HI], password PASSWORD
--                 mix:      bench/soak's mixed workload (below)
--                 refresh:  POST /auth/refresh, each time with a live refresh
--                           token: REFRESH_FILE holds one a line (sessions of
--                           their own); thread n of THREADS (default 1) takes
--                           lines n, n + THREADS... Rotation uses a token up,
--                           so each 200's refresh_token replaces the token
--                           its request presented (below)
-- Requests that need no per-request work are left to wrk's static request
-- path (no request() defined), which costs the load generator least: it
-- shares the machine's two cores with the server under test.

local env = os.getenv
local method   = env("METHOD")
local body     = env("BODY")
local mode     = env("MODE") or ""
local password = env("PASSWORD") or "benchpassword123"
local id_lo    = tonumber(env("ID_LO") or "1")
local id_hi    = tonumber(env("ID_HI") or "1")
local user_lo  = tonumber(env("USER_LO") or "1")
local user_hi  = tonumber(env("USER_HI") or "1")
local run_id   = env("RUN_ID") or tostring(os.time())
local template = env("URL_PATH")
local nthreads = tonumber(env("THREADS") or "1")

local tokens = {}
if env("TOKENS_FILE") then
  for line in io.lines(env("TOKENS_FILE")) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
end

wrk.method = method or (body and "POST") or "GET"
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
if env("TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. env("TOKEN")
end

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0

-- MODE=refresh: this thread's live refresh tokens, first in first out.
-- wrk tells a script neither which connection asks for a request nor
-- which one a response came on; but a connection sends its next request
-- only after its response (no pipelining), so a queue per thread is as
-- good as a token per connection: each request takes the oldest live
-- token, each 200 gives back its successor, and a token is never in two
-- requests at once while the thread holds at least as many as it has
-- connections (bench/run logs in twice as many sessions as connections).
-- A token whose answer never came (a timeout, the end of the run) is lost
-- with its request, and so is one of the first thread's: wrk calls its
-- request() once to check it before the run (script_verify_request) and
-- never sends that request. An empty queue sends a token that cannot be
-- live, so a shortage shows as 401s, not as a quiet change of workload.
local live, first, last = {}, 1, 0

local function refresh_load()
  local n = 0
  for line in io.lines(env("REFRESH_FILE")) do
    if #line > 0 then
      if n % nthreads == id - 1 then
        last = last + 1
        live[last] = line
      end
      n = n + 1
    end
  end
end

function init(args)
  math.randomseed(os.time() * 100 + id)
  counter = id * 7919  -- threads start at different tokens
  template = template or wrk.path
  if mode == "refresh" then refresh_load() end
end

local function next_token()
  counter = counter + 1
  return tokens[counter % #tokens + 1]
end

local function path()
  return (template:gsub("{id}", function() return tostring(math.random(id_lo, id_hi)) end))
end

-- wrk.format() takes the headers it is given instead of wrk.headers (which
-- hold -H's, such as bench/run's X-Request-ID)
local function headers(extra)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function auth_headers(extra)
  local h = headers(extra)
  if #tokens > 0 then h["Authorization"] = "Bearer " .. next_token() end
  return h
end

local function register()
  counter = counter + 1
  local email = string.format("r%s-%d-%d@bench.example", run_id, id, counter)
  return wrk.format("POST", "/auth/register", headers({ ["Content-Type"] = "application/json" }),
    string.format('{"email":"%s","name":"Bench Registered","password":"%s"}', email, password))
end

local function login()
  local n = math.random(user_lo, user_hi)
  return wrk.format("POST", "/auth/login",
    headers({ ["Content-Type"] = "application/x-www-form-urlencoded" }),
    string.format("username=user%d%%40bench.example&password=%s", n, password))
end

-- The soak mix, in per mille: mostly reads, a steady share of profile
-- writes, and a trickle of the Argon2id routes (each costs ~15 ms of CPU).
local mix = {
  { 2,   register },
  { 5,   login },
  { 350, function() return wrk.format("GET", "/users/me", auth_headers()) end },
  { 200, function() return wrk.format("GET", "/profile/me", auth_headers()) end },
  { 200, function()
      return wrk.format("GET", "/profile/" .. math.random(id_lo, id_hi), auth_headers())
    end },
  { 193, function()
      return wrk.format("PUT", "/profile/me", auth_headers({ ["Content-Type"] = "application/json" }),
        string.format('{"bio":"soak %d","location":"Lisbon"}', math.random(1, 1000000)))
    end },
  { 50,  function()
      local theme = ({ "light", "dark", "system" })[math.random(1, 3)]
      return wrk.format("PUT", "/profile/me/preferences",
        auth_headers({ ["Content-Type"] = "application/json" }),
        string.format('{"theme":"%s"}', theme))
    end },
}

local function refresh()
  local token = string.rep("-", 43)
  if first <= last then
    token = live[first]
    live[first] = nil
    first = first + 1
  end
  return wrk.format("POST", "/auth/refresh", headers({ ["Content-Type"] = "application/json" }),
    '{"refresh_token":"' .. token .. '"}')
end

if mode == "register" then
  request = register
elseif mode == "refresh" then
  request = refresh
  response = function(status, hdrs, resp)
    if status == 200 then
      local token = resp:match('"refresh_token":%s*"([%w_%-]+)"')
      if token then
        last = last + 1
        live[last] = token
      end
    end
  end
elseif mode == "login" then
  request = login
elseif mode == "mix" then
  request = function()
    local r = math.random(1, 1000)
    for _, entry in ipairs(mix) do
      r = r - entry[1]
      if r <= 0 then return entry[2]() end
    end
  end
elseif #tokens > 0 or (template and template:find("{id}", 1, true)) then
  request = function()
    return wrk.format(nil, path(), auth_headers())
  end
end

-- PACE_MS: each connection waits this long before its next request, so the
-- probe runs at a set rate below saturation
local pace = tonumber(env("PACE_MS") or "")
if pace then
  function delay() return pace end
end
