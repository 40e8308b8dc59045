-- soak.lua: wrk script for bench/soak.py: checks every response's status and body.
--
-- wrk -s soak.lua URL -- BODY_FILE: each response must be a 200 whose body is
-- exactly BODY_FILE's bytes. At the end one line per run, summed over threads:
--   soak: responses N bad_status N bad_body N
-- (wrk itself counts socket errors and timeouts; its "requests" are the
-- responses it read, which must equal N here.)

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"), "soak.lua: cannot open the expected body " .. tostring(args[1]))
   expected = f:read("*a")
   f:close()
   responses, bad_status, bad_body = 0, 0, 0
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 then
      bad_status = bad_status + 1
   elseif body ~= expected then
      bad_body = bad_body + 1
   end
end

function done(summary, latency, requests)
   local n, s, b = 0, 0, 0
   for _, t in ipairs(threads) do
      n = n + t:get("responses")
      s = s + t:get("bad_status")
      b = b + t:get("bad_body")
   end
   io.write(string.format("soak: responses %d bad_status %d bad_body %d\n", n, s, b))
end
