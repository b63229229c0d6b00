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


t0 = time.time()
for i in range(n):
    upload(i)
print("uploaded %d documents in %.1f s" % (n, time.time() - t0))
print("%9s %9s %9s %9s" % ("analysed", "rss_mib", "hwm_mib", "elapsed_s"))
next_mark, first = 100, None
deadline = time.time() + 3600
while time.time() < deadline:
    done, failed = analysed_count()
    if done >= next_mark or done >= n:
        wpid, rss, hwm = worker_rss()
        first = first or rss
        print("%9d %9d %9d %9.0f" % (done, rss, hwm, time.time() - t0), flush=True)
        next_mark += 100
    if done >= n:
        break
    time.sleep(0.5)
wpid, rss, hwm = worker_rss()
print("worker %s: RSS after the first 100: %d MiB, after %d: %d MiB (growth %+d MiB); failed: %d"
      % (wpid, first, n, rss, rss - first, failed))
