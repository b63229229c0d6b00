-- ids.lua: GET <prefix><id>, rotating over the ids in a file (one per line).
-- wrk -s ids.lua URL -- IDS_FILE PREFIX
local threads = 0
function setup(thread)
   thread:set("offset", threads * 4999)
   threads = threads + 1
end

local ids, n, i, prefix = {}, 0, 0, "/api/v1/patients/"
function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         n = n + 1
         ids[n] = line
      end
   end
   if args[2] then prefix = args[2] end
   i = (offset or 0) % n
end

function request()
   i = i + 1
   return wrk.format("GET", prefix .. ids[(i % n) + 1])
end
