"""memory.py N CORPUS_DOCS_DIR: uploads N distinct documents for one fv-worker and prints its RSS as
it goes (see bench/analysis.d/memory)."""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid

n, corpus = int(sys.argv[1]), sys.argv[2]
base = urllib.parse.urlparse(os.environ["FV_BASE_URL"])
ctl = os.environ["FV_STACK_CTL"]
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)


def call(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


st, tok = call("POST", "/api/v1/auth/token", json.dumps({"username": "anabench", "password": os.environ["FV_PW"]}),
               {"Content-Type": "application/json"})
auth = {"Authorization": "Bearer " + tok["token"]}
st, pat = call("POST", "/api/v1/patients", json.dumps({"name": "Bench Analysis Roe", "date_of_birth": "1990-04-12",
                                                       "sex": "female"}), dict(auth, **{"Content-Type": "application/json"}))
pid = pat["id"]
truth = json.load(open(os.path.join(corpus, "..", "truth.json")))
texts = sorted(f for f, t in truth.items() if t["format"] == "text_pdf")
scans = sorted(f for f, t in truth.items() if t["format"] == "png")
blobs = {f: open(os.path.join(corpus, f), "rb").read() for f in texts + scans}


def worker_rss():
    pid = subprocess.run([ctl, "workers"], capture_output=True, text=True).stdout.split()[1]
    status = open("/proc/%s/status" % pid).read()
    get = lambda k: int([l for l in status.splitlines() if l.startswith(k)][0].split()[1]) // 1024
    return pid, get("VmRSS:"), get("VmHWM:")


def upload(i):
    name = scans[i // 50 % len(scans)] if i % 50 == 49 else texts[i % len(texts)]
    data = blobs[name]
    # distinct bytes: a PDF comment after %%EOF, a few bytes after PNG's IEND (within the upload
    # check's trailing allowance)
    data = data + (b"\n%% bench %d %s\n" % (i, uuid.uuid4().hex.encode()))
    b = uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"document_type\"\r\n\r\nlab_report\r\n"
             "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n") % (b, b, name)).encode() + data + \
        ("\r\n--%s--\r\n" % b).encode()
    st, d = call("POST", "/api/v1/patients/%s/documents" % pid, body,
                 dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + b}))
    assert st == 202, (st, d)
    return d["id"]


def analysed_count():
    out = subprocess.run([ctl, "psql", "-tAc",
                          "SELECT count(*) FILTER (WHERE status IN ('analyzed','failed')),"
                          " count(*) FILTER (WHERE status = 'failed') FROM documents WHERE patient_id = '%s'" % pid],
                         capture_output=True, text=True).stdout.strip().split("|")
    return int(out[0]), int(out[1])


def processing_ms():
    out = subprocess.run([ctl, "psql", "-tAc",
                          "SELECT content_type, count(*),"
                          " percentile_disc(0.5) WITHIN GROUP (ORDER BY (analysis->>'processing_ms')::int),"
                          " percentile_disc(0.95) WITHIN GROUP (ORDER BY (analysis->>'processing_ms')::int),"
                          " max((analysis->>'processing_ms')::int)"
                          " FROM documents WHERE patient_id = '%s' AND status = 'analyzed' GROUP BY 1 ORDER BY 1" % pid],
                         capture_output=True, text=True).stdout.strip()
    return [l.split("|") for l in out.splitlines()]


# In batches of 100: upload, wait until all are analysed, read the worker's RSS. The first batch
# warms the worker up (libraries, statements, the first child); growth after it is what counts.
t0 = time.time()
wpid, rss0, hwm0 = worker_rss()
print("worker %s before any document: RSS %d MiB" % (wpid, rss0))
print("%9s %9s %9s %9s" % ("analysed", "rss_mib", "hwm_mib", "elapsed_s"))
points = []
failed = 0
for start in range(0, n, 100):
    for i in range(start, min(n, start + 100)):
        upload(i)
    deadline = time.time() + 600
    while time.time() < deadline:
        done, failed = analysed_count()
        if done >= min(n, start + 100):
            break
        time.sleep(0.2)
    wpid, rss, hwm = worker_rss()
    points.append(rss)
    print("%9d %9d %9d %9.0f" % (done, rss, hwm, time.time() - t0), flush=True)
print("worker %s: RSS after the first 100 documents %d MiB, after %d: %d MiB (growth %+d MiB); failed: %d"
      % (wpid, points[0], n, points[-1], points[-1] - points[0], failed))
print("processing_ms (claim to result, in the worker) by type: type, documents, median, p95, max")
for row in processing_ms():
    print("   " + "  ".join(row))
