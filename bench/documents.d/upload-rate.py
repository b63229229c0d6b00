#!/usr/bin/env python3
"""Uploads files to FertiVision as fast as N concurrent clients can, one persistent (keep-alive)
HTTP/1.1 connection per client; a lighter client than one curl process per upload, which on a
small machine takes CPU from the server it measures.

  upload-rate.py URL AUTH_HEADER_FILE CLIENTS LIST_FILE

URL is the upload URL (POST .../patients/{id}/documents, http://127.0.0.1 only); AUTH_HEADER_FILE
holds one "Authorization: Bearer ..." line; LIST_FILE names one file per line. Each file is sent
as multipart/form-data with document_type=lab_report and file=<the file>, like
`curl -F document_type=lab_report -F file=@PATH`. Prints one line per upload, as the curl runs do:
"status seconds_total seconds_to_first_byte path" (status 000: no answer).
"""
import http.client
import os
import queue
import sys
import threading
import time
import urllib.parse
import uuid


def multipart(path):
    with open(path, "rb") as f:
        data = f.read()
    boundary = "----fvbench" + uuid.uuid4().hex
    name = os.path.basename(path)
    ctype = "application/pdf" if name.endswith(".pdf") else "text/plain"
    head = ("--%s\r\nContent-Disposition: form-data; name=\"document_type\"\r\n\r\nlab_report\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: %s\r\n\r\n" % (boundary, boundary, name, ctype)).encode("ascii")
    tail = ("\r\n--%s--\r\n" % boundary).encode("ascii")
    return "multipart/form-data; boundary=" + boundary, head + data + tail


def worker(url, auth, jobs, out, lock):
    u = urllib.parse.urlsplit(url)
    conn = None
    while True:
        try:
            path = jobs.get_nowait()
        except queue.Empty:
            break
        ctype, body = multipart(path)
        status, t_first = "000", 0.0
        t0 = time.monotonic()
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more, anew
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                conn.request("POST", u.path, body=body,
                             headers={"Authorization": auth, "Content-Type": ctype})
                resp = conn.getresponse()
                t_first = time.monotonic() - t0
                resp.read()
                status = "%03d" % resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                break
            except (http.client.HTTPException, OSError):
                if conn is not None:
                    conn.close()
                conn = None
                if attempt == 2:
                    break
        t = time.monotonic() - t0
        with lock:
            out.write("%s %.6f %.6f %s\n" % (status, t, t_first, path))
    if conn is not None:
        conn.close()


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    url, auth_file, clients, list_file = argv[1], argv[2], int(argv[3]), argv[4]
    if not url.startswith("http://127.0.0.1:"):
        sys.stderr.write("refusing to send traffic to %s\n" % url)
        return 2
    with open(auth_file) as f:
        auth = f.readline().split(":", 1)[1].strip()
    jobs = queue.Queue()
    with open(list_file) as f:
        for line in f:
            if line.strip():
                jobs.put(line.strip())
    lock = threading.Lock()
    threads = [threading.Thread(target=worker, args=(url, auth, jobs, sys.stdout, lock))
               for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
