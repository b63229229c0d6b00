-- post.lua: POST /api/v1/patients, each body different, no medical_record_number (the server
-- assigns MR- and 8 digits from its sequence). Keeps the headers given with wrk -H.
local threads = 0
function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local n = 0
local first = { "Anna", "Maria", "Sofia", "Leila", "Chiara", "Ingrid", "Amara", "Yuki" }
local last = { "Benchmark", "Loadtest", "Throughput", "Latency" }
function request()
   n = n + 1
   local body = string.format(
      '{"name":"%s %s %d-%d","date_of_birth":"19%02d-%02d-%02d","sex":"female",' ..
      '"phone":"+44 20 7946 %04d","email":"bench%d.%d@example.org","notes":"created by bench/run"}',
      first[(n % #first) + 1], last[((tid or 0) % #last) + 1], tid or 0, n,
      70 + n % 30, 1 + n % 12, 1 + n % 28, n % 10000, tid or 0, n)
   local headers = { ["Content-Type"] = "application/json" }
   for k, v in pairs(wrk.headers) do
      if headers[k] == nil then headers[k] = v end
   end
   return wrk.format("POST", "/api/v1/patients", headers, body)
end
