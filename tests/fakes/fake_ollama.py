#!/usr/bin/env python3
"""fake_ollama.py: a FAKE Ollama server for tests. It is not Ollama and runs no model.

It speaks the part of Ollama's HTTP API that fv-worker uses: POST /api/generate with a JSON body
{"model", "prompt", "format": "json", "stream": false, "options": {...}}, answered with one JSON
object {"model", "created_at", "response": "<the model's output as a string>", "done": true, ...}.
Errors are HTTP statuses with {"error": "..."}, as Ollama sends them.

What it answers is chosen per request by the model name (or for the whole run by --behaviour):
  good            a valid answer: key_findings and summary using only numbers of the test's document
  good-messy      valid, with extra keys, surrounding spaces and a line break in the summary
  limits          exactly at the limits: 12 findings of 300 bytes (UTF-8) and a 2000-byte summary
  slow            sleeps --slow seconds (default 30), then answers as good
  http500         500 {"error": ...}          http404   404 {"error": "model ... not found"}
  error200        200 {"error": ...}          notdone   "done": false
  badbody         200 with a body that is not JSON
  noresponse      200 JSON without "response"
  notjson         "response" is prose, not JSON
  huge            a body of 1 MiB announced by Content-Length
  huge-stream     a body of 1 MiB without Content-Length (ends when the connection closes)
  close           reads the request and closes the connection without answering
  badshape-NAME   "response" is valid JSON of the wrong shape; NAME is a key of BADSHAPES below
Any other model name answers 404 as Ollama does for a model that is not pulled.

Every request is appended to --record FILE as one JSON line: {"method", "path", "content_type",
"body" (the parsed JSON body, or null), "raw_len"}. The server binds 127.0.0.1 on --port (default 0:
any free port) and prints the port on stdout, alone on a line, once it is ready.

Python 3 standard library only.
"""

import argparse
import datetime
import http.server
import json
import socketserver
import sys
import threading
import time

GOOD = {
    "key_findings": [
        "Low ovarian reserve: AMH 1.2 ng/mL (8.6 pmol/L as printed), below the reference of 7.1 pmol/L.",
        "FSH 7.4 IU/L on cycle day 3 is in the normal range.",
        "E2 was reported without a flag.",
    ],
    "summary": "The day 3 panel shows a low AMH of 1.2 ng/mL with a normal FSH of 7.4 IU/L, "
               "consistent with diminished ovarian reserve.",
}

MESSY = {
    "key_findings": ["  AMH is low.  ", "FSH is normal."],
    "summary": "  First line.\nSecond line.\tTabbed.  ",
    "confidence": "very",
    "notes": ["ignored"],
}

LIMITS = {
    "key_findings": ["\u00e9" * 150] * 12,  # 300 bytes each in UTF-8
    "summary": "s" * 1998 + "\u00e9",  # 2000 bytes
}

BADSHAPES = {
    "array": ["AMH is low"],
    "string": "AMH is low",
    "nofindings": {"summary": "AMH is low."},
    "findings-string": {"key_findings": "AMH is low", "summary": "AMH is low."},
    "findings-object": {"key_findings": {"a": "AMH is low"}, "summary": "AMH is low."},
    "zero": {"key_findings": [], "summary": "AMH is low."},
    "thirteen": {"key_findings": ["Finding."] * 13, "summary": "AMH is low."},
    "empty-finding": {"key_findings": ["AMH is low.", ""], "summary": "AMH is low."},
    "blank-finding": {"key_findings": ["   "], "summary": "AMH is low."},
    "long-finding": {"key_findings": ["\u00e9" * 150 + "a"], "summary": "AMH is low."},
    "number-finding": {"key_findings": [5], "summary": "AMH is low."},
    "null-finding": {"key_findings": [None], "summary": "AMH is low."},
    "ctrl-finding": {"key_findings": ["AMH\u0007 is low."], "summary": "AMH is low."},
    "newline-finding": {"key_findings": ["AMH\nis low."], "summary": "AMH is low."},
    "c1-finding": {"key_findings": ["AMH\u0085is low."], "summary": "AMH is low."},
    "nul-finding": {"key_findings": ["AMH\u0000is low."], "summary": "AMH is low."},
    "nosummary": {"key_findings": ["AMH is low."]},
    "empty-summary": {"key_findings": ["AMH is low."], "summary": ""},
    "long-summary": {"key_findings": ["AMH is low."], "summary": "s" * 2001},
    "number-summary": {"key_findings": ["AMH is low."], "summary": 5},
    "ctrl-summary": {"key_findings": ["AMH is low."], "summary": "AMH\u001b[31m is low."},
    "invented-finding": {"key_findings": ["AMH is 4.7 ng/mL."], "summary": "AMH is low."},
    "invented-summary": {"key_findings": ["AMH is low."], "summary": "Expect 35 follicles."},
}

# Answers whose "response" string is not the JSON serialisation of a Python value.
RAW_RESPONSES = {
    "badshape-trailing": '{"key_findings": ["AMH is low."], "summary": "AMH is low."} and more',
    "badshape-two-objects": '{"key_findings": ["a"], "summary": "b"}{"key_findings": ["a"], "summary": "b"}',
    "badshape-single-quotes": "{'key_findings': ['AMH is low.'], 'summary': 'AMH is low.'}",
    "badshape-trailing-comma": '{"key_findings": ["AMH is low.",], "summary": "AMH is low."}',
    "notjson": "I think the AMH is low and the FSH is normal.",
}

BIG = 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "fake-ollama/1"

    def log_message(self, fmt, *args):  # quiet: the test's output is TAP
        pass

    def record(self, raw):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        entry = {"method": self.command, "path": self.path,
                 "content_type": self.headers.get("Content-Type"), "body": body, "raw_len": len(raw)}
        if self.server.record_path:
            with self.server.lock, open(self.server.record_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        return body

    def send(self, status, payload, length=True):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer(self, model, response):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"model": model, "created_at": now, "response": response, "done": True,
                "done_reason": "stop", "context": [1, 2, 3], "total_duration": 1000,
                "load_duration": 10, "prompt_eval_count": 5, "eval_count": 7}

    def do_GET(self):
        self.record(b"")
        self.send(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        body = self.record(raw)
        if self.path != "/api/generate":
            self.send(404, {"error": "not found"})
            return
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            self.send(400, {"error": "invalid request"})
            return
        model = body["model"]
        what = self.server.behaviour or model
        if what == "good":
            self.send(200, self.answer(model, json.dumps(GOOD)))
        elif what == "good-messy":
            self.send(200, self.answer(model, " \n" + json.dumps(MESSY, indent=2) + "\n\n "))
        elif what == "limits":
            self.send(200, self.answer(model, json.dumps(LIMITS, ensure_ascii=False)))
        elif what == "slow":
            time.sleep(self.server.slow)
            self.send(200, self.answer(model, json.dumps(GOOD)))
        elif what == "http500":
            self.send(500, {"error": "llama runner process has terminated"})
        elif what == "http404":
            self.send(404, {"error": "model '%s' not found, try pulling it first" % model})
        elif what == "error200":
            self.send(200, {"error": "something went wrong"})
        elif what == "notdone":
            a = self.answer(model, json.dumps(GOOD))
            a["done"] = False
            self.send(200, a)
        elif what == "badbody":
            self.send(200, b"<html><body>Bad gateway</body></html>")
        elif what == "noresponse":
            a = self.answer(model, "")
            del a["response"]
            self.send(200, a)
        elif what in RAW_RESPONSES:
            self.send(200, self.answer(model, RAW_RESPONSES[what]))
        elif what == "badshape-badutf8":
            # Bytes that are not UTF-8 inside the response string: real servers can send them.
            a = json.dumps(self.answer(model, json.dumps({"key_findings": ["AMH XX low."],
                                                          "summary": "AMH is low."})))
            self.send(200, a.encode("utf-8").replace(b"XX", b"\xff\xfe"))
        elif what.startswith("badshape-") and what[len("badshape-"):] in BADSHAPES:
            self.send(200, self.answer(model, json.dumps(BADSHAPES[what[len("badshape-"):]])))
        elif what == "huge":
            self.send(200, self.answer(model, "x" * BIG))
        elif what == "huge-stream":
            self.close_connection = True
            self.send(200, self.answer(model, "x" * BIG), length=False)
        elif what == "close":
            self.close_connection = True  # no answer at all: the connection just closes
        else:
            self.send(404, {"error": "model '%s' not found, try pulling it first" % model})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True  # a sleeping "slow" answer must not keep the process alive

    def handle_error(self, request, client_address):
        # A client that gives up (a timeout, an answer too large for it) is what the tests do.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="A FAKE Ollama /api/generate server for tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", default=None, help="append every request to this file (JSON lines)")
    ap.add_argument("--behaviour", default=None, help="answer every request this way, whatever the model")
    ap.add_argument("--slow", type=float, default=30.0, help="seconds a 'slow' answer sleeps")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.record_path = args.record
    srv.behaviour = args.behaviour
    srv.slow = args.slow
    srv.lock = threading.Lock()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
