-- report.lua: appended to every bench scenario script. Prints one machine-readable line that
-- bench/run parses (latencies in microseconds; non2xx = responses outside 2xx/3xx).
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f" ..
      " non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      e.status, e.connect, e.read, e.write, e.timeout))
end
