-- upload.lua: wrk script for bench/documents: POST multipart/form-data uploads of 1 MiB files,
-- every body distinct (so the store's de-duplication never short-cuts one).
-- Environment (wrk's Lua reads it at start):
--   DOCBENCH_TEMPLATE  a file made by documents.d/mkdocs.py with the token PLACEHOLDER below: the
--                      bytes of every upload; the placeholder is replaced by a token of the same
--                      width (so a PDF's xref offsets stay right)
--   DOCBENCH_NAME      file name sent (its extension only matters to the reader of the logs)
--   DOCBENCH_TYPE      Content-Type of the file part (text/plain or application/pdf)
--   DOCBENCH_AUTH      a file with one "Authorization: Bearer ..." line
--   DOCBENCH_LABEL     a short word that makes this run's tokens differ from other runs' (the
--                      token, "<thread>-<n>-<label>-<start time>", must fit in 40 characters)
-- done() prints one line: "DOCBENCH requests=.. duration_us=.. rps=.. p50_us=.. p90_us=.. p99_us=..
-- max_us=.. status202=.. other=.. errors=..".
local WIDTH = 40
local PLACEHOLDER = string.rep("@", WIDTH)

local function slurp(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

local tmpl = slurp(os.getenv("DOCBENCH_TEMPLATE"))
local at = assert(string.find(tmpl, PLACEHOLDER, 1, true), "no placeholder in the template")
local before, after = string.sub(tmpl, 1, at - 1), string.sub(tmpl, at + #PLACEHOLDER)
local auth = string.match(slurp(os.getenv("DOCBENCH_AUTH")), "^Authorization:%s*([^\r\n]+)")
local label = os.getenv("DOCBENCH_LABEL") or "run"
local start = os.time()
local boundary = "fvbench" .. string.rep("0123456789", 3)
local head = "--" .. boundary .. "\r\n" ..
   'Content-Disposition: form-data; name="document_type"\r\n\r\nlab_report\r\n' ..
   "--" .. boundary .. "\r\n" ..
   'Content-Disposition: form-data; name="file"; filename="' .. (os.getenv("DOCBENCH_NAME") or "upload.txt") .. '"\r\n' ..
   "Content-Type: " .. (os.getenv("DOCBENCH_TYPE") or "text/plain") .. "\r\n\r\n" .. before
local tail = after .. "\r\n--" .. boundary .. "--\r\n"
local headers = {
   ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
   ["Authorization"] = auth,
}

local threads = {}
function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

local n = 0
ok, other = 0, 0
function request()
   n = n + 1
   -- distinct within the run (thread, counter) and between runs (label, start time); never cut
   local token = string.format("%d-%d-%s-%d", tid or 0, n, label, start)
   assert(#token <= WIDTH, "token too long: " .. token)
   return wrk.format("POST", wrk.path, headers, head .. token .. string.rep(" ", WIDTH - #token) .. tail)
end

function response(status, hdrs, body)
   if status == 202 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
   local s202, sother = 0, 0
   for _, t in ipairs(threads) do
      s202 = s202 + (t:get("ok") or 0)
      sother = sother + (t:get("other") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "DOCBENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d" ..
      " status202=%d other=%d errors=%d\n",
      summary.requests, summary.duration, s202 / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      s202, sother, e.connect + e.read + e.write + e.timeout))
end
