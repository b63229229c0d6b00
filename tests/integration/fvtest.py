"""fvtest.py: shared helpers for the FertiVision integration tests (Python 3 standard library only).

Environment (set by scripts/test):
  FV_BASE_URL   base URL of the web server in front of fv-app, e.g. http://127.0.0.1:18080
  FV_STACK_CTL  executable controlling the throwaway stack:
                  $FV_STACK_CTL restart-postgres|stop-postgres|start-postgres|restart-redis|restart-app
                  $FV_STACK_CTL psql -c "SQL"   (psql -At output, test database, superuser)

What is here:
  Client / Response  an HTTP client that never follows redirects, with a 10 s timeout per request and
                     default headers kept in one place (credentials go there once authentication exists:
                     see Client.default_headers and Client.login()).
  Page               a small HTML reader (forms, controls, links, elements with class "field-error").
  FVTestCase         unittest.TestCase with the assertions the suites share (error envelope, content types,
                     request id, patient object shape) and patient helpers.
  uniq(), psql(), stack_ctl(), wait_until()
"""

import datetime
import html.parser
import http.client
import json
import os
import re
import secrets
import subprocess
import time
import unittest
import urllib.parse

TIMEOUT = 10.0  # seconds per HTTP request: an unreachable or stuck server fails the test, never hangs it

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
AUTO_MRN_RE = re.compile(r"^MR-\d{8}$")
ETAG_RE = re.compile(r'^(W/)?"[^"]*"$')

# Every field of the contract's patient object.
PATIENT_FIELDS = (
    "id", "medical_record_number", "name", "date_of_birth", "age", "sex", "phone", "email",
    "partner_id", "notes", "document_count", "fertility_score", "created_at", "updated_at",
)


class ConfigError(Exception):
    """The environment the runner must provide is missing or wrong."""


def base_url():
    url = os.environ.get("FV_BASE_URL", "").strip()
    if not url:
        raise ConfigError("FV_BASE_URL is not set (e.g. FV_BASE_URL=http://127.0.0.1:18080); "
                          "start the stack with scripts/test or set it by hand")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("FV_BASE_URL must be an http:// or https:// URL, got %r" % url)
    return url


# ---------------------------------------------------------------------------------------------- names

def uniq(prefix="t"):
    """A name fragment unique to this call: prefix + 12 lower-case hex digits. Used as the search key
    (`q`) that isolates one test's patients from everybody else's."""
    return "%s%s" % (prefix, secrets.token_hex(6))


def uniq_mrn():
    """A client-supplied medical record number unique to this call (upper case, valid form)."""
    return "T-" + secrets.token_hex(6).upper()


# ------------------------------------------------------------------------------------------ dates/times

def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def parse_ts(s):
    """Parses an RFC 3339 UTC timestamp ending in Z into an aware datetime (fraction kept to µs)."""
    if not isinstance(s, str) or not TS_RE.match(s):
        raise AssertionError("not an RFC 3339 UTC timestamp with Z: %r" % (s,))
    main, _, frac = s[:-1].partition(".")
    dt = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    if frac:
        dt = dt.replace(microsecond=int((frac + "000000")[:6]))
    return dt


def age_on(dob, today):
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def safe_dob(years=35):
    """A date of birth `years` (and about half a year) ago, whose birthday is months away from today,
    so the expected age cannot depend on time zones or on a test running across midnight."""
    today = utc_today()
    d = today - datetime.timedelta(days=182)
    try:
        d = d.replace(year=d.year - years)
    except ValueError:  # 29 February
        d = d.replace(year=d.year - years, day=28)
    return d


# --------------------------------------------------------------------------------------------- stack

def _ctl():
    ctl = os.environ.get("FV_STACK_CTL", "").strip()
    if not ctl:
        raise ConfigError("FV_STACK_CTL is not set; the runner must point it at the stack control script")
    return ctl


def stack_ctl(*args, timeout=120):
    """Runs $FV_STACK_CTL with args; raises AssertionError with its output when it fails."""
    p = subprocess.run([_ctl()] + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("%s %s exited %d: %s %s" % (_ctl(), " ".join(args), p.returncode,
                                                         p.stdout.strip(), p.stderr.strip()))
    return p.stdout


def psql(sql, timeout=60):
    """Runs one SQL command on the test database as superuser; returns psql -At output, stripped.
    Raises AssertionError when psql fails."""
    return stack_ctl("psql", "-c", sql, timeout=timeout).strip()


def psql_ok(sql="SELECT 1"):
    """True when the statement runs (used to poll for PostgreSQL coming up)."""
    try:
        return psql(sql, timeout=15) != ""
    except (AssertionError, subprocess.TimeoutExpired):
        return False


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def wait_until(pred, timeout=20.0, interval=0.25):
    """Polls pred() until it returns a truthy value or timeout seconds passed; returns the last value.
    A bounded wait for a restart, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except Exception:  # noqa: BLE001 - polling: a failing probe just means "not yet"
            v = None
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, method, url, status, reason, headers, body, sent_headers=None):
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()/get_all()
        self.body = body
        self.sent_headers = sent_headers or {}
        self._json = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise AssertionError("%s: body is not JSON (%s): %r" % (self.describe(), e, self.body[:300]))
        return self._json

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    def location_path(self):
        """Path (and query) of the Location header, whether the server sent it absolute or relative."""
        loc = self.headers.get("Location")
        if loc is None:
            return None
        parts = urllib.parse.urlsplit(loc)
        return parts.path + ("?" + parts.query if parts.query else "")

    def describe(self):
        return "%s %s -> %d" % (self.method, self.url, self.status)

    def __repr__(self):
        return "<%s %r>" % (self.describe(), self.body[:400])


def qs(params):
    """Query string from a dict or list of pairs, percent-encoding everything outside RFC 3986's
    unreserved set (so '%' '_' '\\' in values arrive literally)."""
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class Client:
    """HTTP client for one user session. Never follows redirects. One connection per request
    (Connection: close), so a broken response cannot poison the next request.

    Authentication: when it exists, login() will fill default_headers (Authorization: Bearer ...)
    and/or cookies here; every request goes through request(), so nothing else needs to change."""

    def __init__(self, base=None, headers=None):
        self.base = base or base_url()
        parts = urllib.parse.urlsplit(self.base)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.default_headers = {"User-Agent": "fv-integration-tests"}
        if headers:
            self.default_headers.update(headers)
        self.cookies = {}

    def login(self):
        """Placeholder for the authentication issue: obtain credentials and put them in
        default_headers / cookies. Without authentication there is nothing to do."""
        return self

    def _conn(self, timeout):
        if self.scheme == "https":
            import ssl
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, json_body=None, form=None,
                content_type=None, timeout=TIMEOUT):
        """Sends one request. path is relative to the base URL ("/api/v1/patients?q=x").
        json_body: serialised as UTF-8 JSON (Content-Type application/json); form: urlencoded;
        body: raw bytes/str sent as given. content_type overrides the Content-Type header.
        headers: extra headers; a value of None removes a default header."""
        hdrs = dict(self.default_headers)
        if self.cookies:
            hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        ctype = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            ctype = "application/json"
        elif form is not None:
            body = qs(form).encode("ascii")
            ctype = "application/x-www-form-urlencoded"
        if isinstance(body, str):
            body = body.encode("utf-8")
        if content_type is not None:
            ctype = content_type
        if ctype is not None:
            hdrs["Content-Type"] = ctype
        for k, v in (headers or {}).items():
            # case-insensitive override
            for existing in [h for h in hdrs if h.lower() == k.lower()]:
                del hdrs[existing]
            if v is not None:
                hdrs[k] = v
        hdrs["Connection"] = "close"
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        elif method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = "0"

        url = self.prefix + path
        conn = self._conn(timeout)
        try:
            try:
                conn.putrequest(method, url, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                conn.endheaders()
                if body:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (e.g. 413) and close before reading the whole body:
                # read that answer below instead of failing on the write.
                pass
            try:
                r = conn.getresponse()
                data = r.read()
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected,
                    TimeoutError, OSError) as e:
                raise AssertionError("%s %s: no HTTP response from %s (%s: %s)"
                                     % (method, path, self.base, type(e).__name__, e)) from None
        except OSError as e:  # refused, unreachable, timed out while connecting
            raise AssertionError("%s %s: cannot reach %s (%s: %s)"
                                 % (method, path, self.base, type(e).__name__, e)) from None
        finally:
            conn.close()
        for c in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = c.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Response(method, path, r.status, r.reason, r.headers, data, hdrs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # --- HTML forms, as a browser submits them -------------------------------------------------
    def submit_form(self, page_path, action_path, values, drop=()):
        """GETs page_path, finds the form whose action resolves to action_path, and submits it as a
        browser would: every successful control with its current value (hidden inputs such as a
        future CSRF token included), overridden by values; names in drop are left out.
        Returns (page_response, post_response)."""
        page_resp = self.get(page_path, headers={"Accept": "text/html"})
        if page_resp.status != 200:
            raise AssertionError("GET %s for its form -> %d: %r" % (page_path, page_resp.status, page_resp.body[:300]))
        page = Page(page_resp.text, page_path)
        form = page.form(action_path)
        if form is None:
            raise AssertionError("no form with action %s on %s; forms: %s"
                                 % (action_path, page_path, [f["action_path"] for f in page.forms]))
        data = form_values(form)
        data = [(k, v) for k, v in data if k not in values and k not in drop]
        data += list(values.items())
        method = (form["method"] or "get").upper()
        if method != "POST":
            raise AssertionError("form %s on %s has method %r, expected post" % (action_path, page_path, form["method"]))
        return page_resp, self.post(form["action_path"], form=data, headers={"Accept": "text/html"})


# ---------------------------------------------------------------------------------------------- HTML

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    """Reads an HTML page: forms with their controls, links with their text, elements with class
    "field-error" (text), and the whole visible text. Attribute values and text are unescaped, so
    comparing them with what was submitted checks that escaping round-trips. `events` lists controls
    and field errors in document order (for "the error is next to the field")."""

    def __init__(self, text, url="/"):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms = []
        self.links = []  # dicts: href, path, text
        self.field_errors = []  # dicts: text, index (position in events)
        self.controls = []  # every control, in or out of a form
        self.events = []  # ("control", control) / ("error", text) in document order
        self.text_parts = []
        self.title = ""
        self._form = None
        self._select = None
        self._caps = []  # open captures: dicts tag, kind, obj, parts, nest
        self.feed(text)
        self.close()
        for c in list(self._caps):
            self._finish(c)
        self._caps = []
        self.text = " ".join(" ".join(self.text_parts).split())

    def _resolve(self, href):
        p = urllib.parse.urlsplit(urllib.parse.urljoin(self.url, href or ""))
        return p.path + ("?" + p.query if p.query else "")

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        for c in self._caps:
            if c["tag"] == tag:
                c["nest"] += 1
        classes = a.get("class", "").split()
        if tag == "form":
            action = a.get("action")
            target = self._resolve(action) if action else self._resolve(self.url)
            self._form = {"method": (a.get("method") or "get").lower(), "action": action,
                          "action_path": target.split("?")[0], "controls": [], "attrs": a}
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button"):
            ctl = {"tag": tag, "name": a.get("name"), "type": a.get("type", "text" if tag == "input" else tag).lower(),
                   "value": a.get("value", ""), "checked": "checked" in a, "attrs": a, "options": []}
            if tag == "textarea":
                ctl["value"] = ""
            self.controls.append(ctl)
            if self._form is not None:
                self._form["controls"].append(ctl)
            self.events.append(("control", ctl))
            if tag == "select":
                self._select = ctl
            if tag == "textarea":
                self._caps.append({"tag": tag, "kind": "textarea", "obj": ctl, "parts": [], "nest": 0})
        elif tag == "option":
            for c in [c for c in self._caps if c["kind"] == "option"]:
                self._finish(c)
                self._caps.remove(c)
            opt = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            if self._select is not None:
                self._select["options"].append(opt)
            self._caps.append({"tag": tag, "kind": "option", "obj": opt, "parts": [], "nest": 0})
        if tag == "a":
            link = {"href": a.get("href"), "path": self._resolve(a.get("href")) if a.get("href") is not None else None,
                    "text": "", "attrs": a}
            self.links.append(link)
            self._caps.append({"tag": tag, "kind": "a", "obj": link, "parts": [], "nest": 0})
        if tag == "title":
            self._caps.append({"tag": tag, "kind": "title", "obj": None, "parts": [], "nest": 0})
        if "field-error" in classes and tag not in _VOID:
            fe = {"text": "", "attrs": a}
            self.field_errors.append(fe)
            self.events.append(("error", fe))
            self._caps.append({"tag": tag, "kind": "error", "obj": fe, "parts": [], "nest": 0})
        elif "field-error" in classes:
            fe = {"text": "", "attrs": a}
            self.field_errors.append(fe)
            self.events.append(("error", fe))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "select":
            for c in [c for c in self._caps if c["kind"] == "option"]:
                self._finish(c)
                self._caps.remove(c)
            self._select = None
        for c in list(self._caps):
            if c["tag"] != tag:
                continue
            if c["nest"] > 0:
                c["nest"] -= 1
            else:
                self._finish(c)
                self._caps.remove(c)

    def _finish(self, c):
        text = "".join(c["parts"])
        if c["kind"] == "textarea":
            # a browser drops one newline right after <textarea>
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            c["obj"]["value"] = text
        elif c["kind"] == "option":
            c["obj"]["text"] = " ".join(text.split())
            if c["obj"]["value"] is None:
                c["obj"]["value"] = c["obj"]["text"]
        elif c["kind"] == "title":
            self.title = " ".join(text.split())
        else:
            c["obj"]["text"] = " ".join(text.split())

    def handle_data(self, data):
        for c in self._caps:
            c["parts"].append(data)
        self.text_parts.append(data)

    # --- queries ---------------------------------------------------------------------------------
    def form(self, action_path, method=None):
        for f in self.forms:
            if f["action_path"] == action_path and (method is None or f["method"] == method):
                return f
        return None

    def control(self, name, form=None):
        for c in (form["controls"] if form else self.controls):
            if c["name"] == name:
                return c
        return None

    def links_to(self, path):
        return [l for l in self.links if l["path"] is not None and l["path"].split("?")[0] == path]

    def link_with_text(self, word):
        word = word.lower()
        return [l for l in self.links if word in l["text"].lower()]

    def nonempty_errors(self):
        return [e for e in self.field_errors if e["text"].strip()]

    def error_near(self, name):
        """The text of a non-empty field-error element placed next to control `name`: between the
        control before it and the control after it, in document order. None when there is none."""
        idx = [i for i, (kind, obj) in enumerate(self.events) if kind == "control" and obj["name"] == name]
        if not idx:
            return None
        i = idx[0]
        ctl_positions = [j for j, (kind, _) in enumerate(self.events) if kind == "control"]
        before = [j for j in ctl_positions if j < i]
        after = [j for j in ctl_positions if j > i]
        lo = before[-1] if before else -1
        hi = after[0] if after else len(self.events)
        for j in range(lo + 1, hi):
            kind, obj = self.events[j]
            if kind == "error" and obj["text"].strip():
                return obj["text"]
        return None


def control_value(ctl):
    """Current value of a control as a browser would submit it (None when it would not be sent)."""
    if ctl["tag"] == "select":
        sel = [o for o in ctl["options"] if o["selected"]]
        if sel:
            return sel[0]["value"]
        return ctl["options"][0]["value"] if ctl["options"] else None
    if ctl["type"] in ("checkbox", "radio"):
        return (ctl["value"] or "on") if ctl["checked"] else None
    if ctl["type"] in ("submit", "button", "reset", "image", "file") or ctl["tag"] == "button":
        return None
    return ctl["value"]


def form_values(form):
    out = []
    for c in form["controls"]:
        if not c["name"] or "disabled" in c["attrs"]:
            continue
        v = control_value(c)
        if v is not None:
            out.append((c["name"], v))
    return out


# ------------------------------------------------------------------------------------------ TestCase

def media_type(ct):
    """'Application/JSON ; Charset=UTF-8' -> 'application/json; charset=utf-8' (normalised)."""
    parts = [p.strip().lower() for p in (ct or "").split(";") if p.strip()]
    return "; ".join(parts)


def cache_tokens(resp):
    return [t.strip().lower() for t in (resp.header("Cache-Control") or "").split(",") if t.strip()]


API = "/api/v1"


class FVTestCase(unittest.TestCase):
    maxDiff = 4000
    longMessage = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = Client().login()

    # --- requests ---------------------------------------------------------------------------------
    @property
    def c(self):
        return self.client

    def valid_patient(self, token=None, **over):
        """A valid create body whose name carries token (so `q=token` finds exactly this test's data)."""
        token = token or uniq()
        body = {"name": "Test %s Roe" % token, "date_of_birth": safe_dob().isoformat(), "sex": "female"}
        body.update(over)
        return body

    def create_patient(self, token=None, **over):
        body = self.valid_patient(token, **over)
        r = self.c.post(API + "/patients", json_body=body)
        self.assertEqual(r.status, 201, "create %r failed: %r" % (body, r))
        p = r.json()
        self.assertIn("id", p, r)
        return p

    def get_patient(self, pid, **kw):
        return self.c.get("%s/patients/%s" % (API, pid), **kw)

    def list_patients(self, **params):
        return self.c.get(API + "/patients" + ("?" + qs(params) if params else ""))

    def walk(self, limit=100, **params):
        """All items of the list for params (following next_cursor), bounded to 200 pages."""
        items, cursor, pages = [], None, 0
        while True:
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            r = self.list_patients(**p)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            items.extend(body["items"])
            cursor = body["next_cursor"]
            pages += 1
            if cursor is None:
                return items
            self.assertLess(pages, 200, "pagination does not end")

    def api_ids_for(self, token):
        return [p["id"] for p in self.walk(q=token)]

    def db_count_like(self, token):
        """Rows in the patients table whose name contains token, archived ones included (psql)."""
        assert re.match(r"^[A-Za-z0-9]+$", token), token
        return int(psql("SELECT count(*) FROM patients WHERE name LIKE '%%%s%%'" % token))

    def assertNoPatientWith(self, token, msg=None):
        """No patient was written for token: neither visible through the API nor present in the DB."""
        ids = self.api_ids_for(token)
        self.assertEqual(ids, [], msg or "a rejected request left a patient behind")
        self.assertEqual(self.db_count_like(token), 0, msg or "a rejected request left a row in patients")

    # --- assertions -------------------------------------------------------------------------------
    def assertStatus(self, resp, status, msg=None):
        self.assertEqual(resp.status, status, "%s%r" % (msg + ": " if msg else "", resp))

    def assertRequestId(self, resp):
        rid = resp.header("X-Request-Id")
        self.assertTrue(rid, "%s: no X-Request-Id header" % resp.describe())
        return rid

    def assertJSONType(self, resp):
        self.assertEqual(media_type(resp.content_type), "application/json; charset=utf-8",
                         "%s: Content-Type %r" % (resp.describe(), resp.content_type))

    def assertHTMLType(self, resp):
        self.assertEqual(media_type(resp.content_type), "text/html; charset=utf-8",
                         "%s: Content-Type %r" % (resp.describe(), resp.content_type))

    def assertNoStore(self, resp):
        self.assertIn("no-store", cache_tokens(resp),
                      "%s: Cache-Control %r" % (resp.describe(), resp.header("Cache-Control")))

    def assertError(self, resp, status, code, fields=(), exact_fields=False):
        """The contract's error envelope with this status and code; `fields` must each be named in
        error.fields with a non-empty message."""
        self.assertEqual(resp.status, status, resp)
        self.assertJSONType(resp)
        self.assertRequestId(resp)
        body = resp.json()
        self.assertIsInstance(body, dict, resp)
        self.assertIn("error", body, resp)
        err = body["error"]
        self.assertIsInstance(err, dict, resp)
        self.assertEqual(err.get("code"), code, resp)
        self.assertIsInstance(err.get("message"), str, resp)
        self.assertTrue(err["message"].strip(), "empty error message: %r" % resp)
        if fields:
            self.assertIsInstance(err.get("fields"), dict, "no error.fields object: %r" % resp)
            for f in fields:
                self.assertIn(f, err["fields"], "error.fields does not name %r: %r" % (f, resp))
                self.assertIsInstance(err["fields"][f], str, resp)
                self.assertTrue(err["fields"][f].strip(), "empty message for field %r: %r" % (f, resp))
            if exact_fields:
                self.assertEqual(set(err["fields"]), set(fields), resp)
        return err

    def assertPatientShape(self, p, with_documents=False):
        for f in PATIENT_FIELDS:
            self.assertIn(f, p, "patient object lacks %r: %r" % (f, p))
        self.assertRegex(p["id"], UUID_RE)
        self.assertIsInstance(p["medical_record_number"], str)
        self.assertIsInstance(p["name"], str)
        self.assertRegex(p["date_of_birth"], r"^\d{4}-\d{2}-\d{2}$")
        self.assertIsInstance(p["age"], int)
        self.assertNotIsInstance(p["age"], bool)
        self.assertIn(p["sex"], ("female", "male", "other"))
        self.assertIsInstance(p["document_count"], int)
        self.assertTrue(p["fertility_score"] is None or isinstance(p["fertility_score"], (int, float)))
        self.assertIsInstance(p["notes"], str)
        for f in ("phone", "email", "partner_id"):
            self.assertTrue(p[f] is None or isinstance(p[f], str), "%s: %r" % (f, p[f]))
        created = parse_ts(p["created_at"])
        updated = parse_ts(p["updated_at"])
        self.assertGreaterEqual(updated, created)
        if with_documents:
            self.assertIn("documents", p)
            self.assertIsInstance(p["documents"], list)

    def assertFieldErrors(self, page, fields):
        """Exactly one non-empty .field-error per bad field, each placed next to that field's control."""
        shown = [e["text"] for e in page.nonempty_errors()]
        self.assertEqual(len(shown), len(fields), "expected errors for %s, page shows %s" % (list(fields), shown))
        for f in fields:
            self.assertTrue(page.error_near(f), "no .field-error next to %s; errors shown: %s" % (f, shown))

    def page(self, resp):
        return Page(resp.text, resp.url)
