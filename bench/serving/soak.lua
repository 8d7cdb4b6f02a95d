-- soak.lua — the mixed load of bench/serving/soak.sh: per connection, a
-- fixed cycle of 20 calls (10 echo, 4 kv.get, 3 kv.put, 2 list_sessions,
-- 1 upload_session), each followed by a pause of SOAK_DELAY_MS so the total
-- rate is about connections * 1000 / SOAK_DELAY_MS calls per second.
local token = os.getenv("SOAK_TOKEN")
local horse = os.getenv("SOAK_HORSE")
local csv = io.open(os.getenv("SOAK_CSV")):read("*a")
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "10")
local json = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local text = { ["Content-Type"] = "text/csv", ["Authorization"] = "Bearer " .. token }
local cycle = { "echo", "get", "echo", "put", "echo", "get", "list", "echo", "put", "echo",
                "get", "echo", "upload", "echo", "put", "get", "echo", "list", "echo", "echo" }
local n = 0
-- riding refuses the same file twice for a horse (409): every upload
-- changes the last sample's gz to a value unique to this thread and call
local csv_head = csv:match("^(.*),[^,]*\n?$")

-- each wrk thread gets its own number, so uploads never repeat a start time
local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("id", threads)
end

function request()
   n = n + 1
   local k = cycle[(n % #cycle) + 1]
   -- one key per cycle: the cycle's puts and gets meet
   local key = "k" .. (math.floor(n / #cycle) % 50)
   if k == "echo" then
      return wrk.format("POST", "/v1/echo/echo", json, '{"msg":"soak","n":' .. n .. '}')
   elseif k == "get" then
      return wrk.format("POST", "/v1/kv/get", json, '{"key":"' .. key .. '"}')
   elseif k == "put" then
      return wrk.format("POST", "/v1/kv/put", json, '{"key":"' .. key .. '","value":"v' .. n .. '"}')
   elseif k == "list" then
      return wrk.format("POST", "/v1/riding/list_sessions", json, '{"horse_id":' .. horse .. '}')
   else
      -- a new start time and content per upload ("id" is set by setup)
      local u = ((tonumber(os.getenv("SOAK_RUN")) or 0) * 10 + (id or 0)) * 100000000 + n
      local t = 1772359200 + u
      return wrk.format("POST", "/v1/riding/upload_session?horse_id=" .. horse ..
                        "&started_at=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t), text,
                        csv_head .. string.format(",%.12f\n", u * 1e-12))
   end
end

function delay()
   return pause
end
