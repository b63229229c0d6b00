"""fvtest.py: shared helpers for the FertiVision integration tests (Python 3 standard library only).

Environment (set by scripts/test):
  FV_BASE_URL   base URL of the web server in front of fv-app, e.g. http://127.0.0.1:18080
  FV_STACK_CTL  executable controlling the throwaway stack:
                  $FV_STACK_CTL restart-postgres|stop-postgres|start-postgres|restart-redis|restart-app
                  $FV_STACK_CTL psql -c "SQL"   (psql -At output, test database, superuser)
                  $FV_STACK_CTL admin ARGS      (fv-admin with the stack's configuration)
                  $FV_STACK_CTL redis-cli ARGS, $FV_STACK_CTL env

What is here:
  Client / Response  an HTTP client that never follows redirects, with a 10 s timeout per request, a small
                     cookie jar (Path, deletion) and the credentials of one user: Client().login(role)
                     gives it the run's shared user of that role (default clinician): a bearer token sent
                     on /api/v1/ requests, a browser session (fv_session cookie) sent on pages, and the
                     session's CSRF token added to page POSTs that lack it (csrf=False to opt out).
  Users              test users are created once per run through `$FV_STACK_CTL admin user add NAME
                     --role ROLE --password-stdin` with names unique to the run (shared_user(role),
                     create_user(role) for a user a test may log out, disable or lock out).
  Page               a small HTML reader (forms, controls, links, elements with class "field-error").
  FVTestCase         unittest.TestCase with the assertions the suites share (error envelope, content types,
                     request id, patient object shape) and patient helpers.
  uniq(), psql(), stack_ctl(), redis_cli(), clear_throttle(), wait_until(), stack_env(), app_config()
  Analysis (fv-worker): wait_for_analysis(), workers_paused(), wait_analysis_idle(), workers(),
                     worker_holding(), child_pids(), pid_alive(), metrics(), analysis_audit_rows(),
                     worker_log(), doc_row(); samples: scan_pdf() (slow, image-only), pdf_pages(),
                     png_blank(); shared_temp() (a file the stack user can read, for `ctl worker
                     --analyze`). $FV_STACK_CTL start-worker [N] | stop-worker [SLOT] | workers |
                     kill-worker SLOT [SIGNAL] | worker ARGS control the stack's workers.
"""

import datetime
import email.utils
import hashlib
import html.parser
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "files"))
import samples  # noqa: E402

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


def stack_ctl_run(*args, timeout=120, input=None):
    """Runs $FV_STACK_CTL with args (input: text for its stdin); returns the CompletedProcess
    (returncode, stdout, stderr) whatever the exit status."""
    kw = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([_ctl()] + list(args), capture_output=True, text=True, timeout=timeout, **kw)


def stack_ctl(*args, timeout=120, input=None):
    """Runs $FV_STACK_CTL with args; raises AssertionError with its output when it fails."""
    p = stack_ctl_run(*args, timeout=timeout, input=input)
    if p.returncode != 0:
        raise AssertionError("%s %s exited %d: %s %s" % (_ctl(), " ".join(args), p.returncode,
                                                         p.stdout.strip(), p.stderr.strip()))
    return p.stdout


def redis_cli(*args, timeout=30):
    """redis-cli on the stack's socket; returns its output, stripped."""
    return stack_ctl("redis-cli", *args, timeout=timeout).strip()


def throttle_keys():
    return [k for k in redis_cli("--scan", "--pattern", "fv:throttle:*").split() if k]


def clear_throttle():
    """Deletes every login-throttling counter (fv:throttle:*): all tests come from 127.0.0.1, so a test
    that makes failed logins must not leave the address (or a shared user) near its limit."""
    keys = throttle_keys()
    if keys:
        redis_cli("DEL", *keys)


_env_cache = {}


def stack_env():
    """`$FV_STACK_CTL env` as a dict (FV_APP_LOG, FV_LOG_DIR, FV_CONFIG, ...); cached."""
    if "env" not in _env_cache:
        env = {}
        for line in stack_ctl("env").splitlines():
            k, sep, v = line.partition("=")
            if sep:
                env[k.strip()] = v.strip()
        _env_cache["env"] = env
    return _env_cache["env"]


def app_config():
    """The stack's fertivision.conf (key = value) as a dict; {} when it cannot be read; cached."""
    if "conf" not in _env_cache:
        conf = {}
        try:
            with open(stack_env().get("FV_CONFIG", ""), encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line or line.startswith("#") or "=" not in line:
                        continue
                    k, _, v = line.partition("=")
                    conf[k.strip()] = v.strip()
        except (OSError, AssertionError):
            pass
        _env_cache["conf"] = conf
    return _env_cache["conf"]


def config_seconds(key, default):
    """A duration setting of the stack's configuration in seconds (the documented default when unset)."""
    v = app_config().get(key)
    try:
        return int(v) if v is not None else default
    except ValueError:
        return default


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

    def set_cookies(self):
        """The Set-Cookie headers, parsed: {name: (value, {attribute: value or True})}."""
        out = {}
        for c in self.headers.get_all("Set-Cookie") or []:
            name, value, attrs = parse_set_cookie(c)
            out[name] = (value, attrs)
        return out

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


def parse_set_cookie(header):
    """'name=value; Path=/; HttpOnly' -> (name, value, {attribute lower-case: value or True})."""
    parts = header.split(";")
    name, _, value = parts[0].partition("=")
    attrs = {}
    for a in parts[1:]:
        k, sep, v = a.strip().partition("=")
        if k:
            attrs[k.strip().lower()] = v.strip() if sep else True
    return name.strip(), value.strip(), attrs


def _cookie_deleted(value, attrs):
    if "max-age" in attrs:
        try:
            return int(attrs["max-age"]) <= 0
        except (TypeError, ValueError):
            return False
    if "expires" in attrs and isinstance(attrs["expires"], str):
        try:
            exp = email.utils.parsedate_to_datetime(attrs["expires"])
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=datetime.timezone.utc)
            return exp <= datetime.datetime.now(datetime.timezone.utc)
        except (TypeError, ValueError, IndexError):
            return False
    return False


def _path_matches(req_path, cookie_path):
    """RFC 6265 5.1.4 path-match."""
    req_path = req_path.split("?", 1)[0] or "/"
    if req_path == cookie_path:
        return True
    if req_path.startswith(cookie_path):
        return cookie_path.endswith("/") or req_path[len(cookie_path)] == "/"
    return False


SESSION_COOKIE = "fv_session"
LOGIN_CSRF_COOKIE = "fv_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_INPUT_RE = re.compile(r"<input\b[^>]*\bname=[\"']?csrf_token[\"']?[^>]*>", re.I)
_CSRF_META_RE = re.compile(r"<meta\b[^>]*\bname=[\"']?csrf[-_]token[\"']?[^>]*>", re.I)
_VALUE_RE = re.compile(r"\b(?:value|content)=(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


def find_csrf_token(html_text):
    """The session's CSRF token as a page carries it (hidden input csrf_token, or a csrf-token meta tag)."""
    import html as _html
    for rx in (_CSRF_INPUT_RE, _CSRF_META_RE):
        for m in rx.finditer(html_text or ""):
            v = _VALUE_RE.search(m.group(0))
            if v:
                val = _html.unescape(next(g for g in v.groups() if g is not None))
                if val:
                    return val
    return None


def is_api_path(path):
    return path == API or path.startswith(API + "/") or path.startswith(API + "?")


class Client:
    """HTTP client for one user. Never follows redirects. One connection per request
    (Connection: close), so a broken response cannot poison the next request.

    Credentials (login(), login_as()):
      bearer   an API token, sent as `Authorization: Bearer ...` on /api/v1/ requests. When a client has
               one, its cookies are not sent to /api/v1/ (the API is then exercised with the token alone).
      cookies  a small cookie jar (Path and deletion honoured); fv_session is sent on page requests, and on
               /api/v1/ requests too when the client has no bearer token (cookie-authenticated API calls).
      csrf     the session's CSRF token. With auto_csrf (default), a state-changing request authenticated
               by the session gets it when it lacks it: page POSTs as the form field csrf_token (except
               /login, whose token is the separate double-submit one), cookie-authenticated /api/v1/
               requests as the X-CSRF-Token header. Pass csrf=False to a request to send none, or
               csrf="value" to send that value. submit_form() never adds one: it posts what the form has.
    """

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
        self.cookies = {}  # name -> value
        self.cookie_paths = {}  # name -> Path attribute ("/" when absent or set by hand)
        self.bearer = None
        self.csrf = None
        self.auto_csrf = True
        self.user = None

    # --- credentials -----------------------------------------------------------------------------
    def login(self, role="clinician"):
        """Gives this client the credentials of the run's shared user of `role` ("admin", "clinician",
        "viewer"; None: stay anonymous): one API token and one browser session per role and run, shared
        by every client (so no test may log them out, revoke them or disable their user: use
        create_user() and login_as() for that)."""
        if role is None:
            return self
        cred = shared_credentials(role)
        self.user = cred["user"]
        self.bearer = cred["token"]
        self.set_cookie(SESSION_COOKIE, cred["session"])
        self.csrf = cred["csrf"]
        return self

    def login_as(self, user, session=True, token=True):
        """Fresh credentials for `user` (a User): a new API token and/or a new browser session (with its
        CSRF token). Raises AssertionError when a login fails."""
        self.user = user
        if token:
            self.bearer = request_token(user.name, user.password, base=self.base)
        if session:
            _, r = self.session_login(user.name, user.password)
            if r.status != 303 or not self.cookies.get(SESSION_COOKIE):
                raise AssertionError("browser login of %s failed: %r (Set-Cookie %r)"
                                     % (user.name, r, r.headers.get_all("Set-Cookie")))
            self.fetch_csrf()
        return self

    def set_cookie(self, name, value, path="/"):
        self.cookies[name] = value
        self.cookie_paths[name] = path

    def drop_cookie(self, name):
        self.cookies.pop(name, None)
        self.cookie_paths.pop(name, None)

    @property
    def session(self):
        return self.cookies.get(SESSION_COOKIE)

    def session_login(self, username, password, next=None, override=None, drop=()):
        """The browser's login: GET /login[?next=...] (the form with its hidden csrf_token and next, and
        the fv_login_csrf cookie), then POST /login with the form's fields, username and password
        (override: more fields to set; drop: fields to leave out). Returns (get_response, post_response);
        asserts nothing about the POST."""
        path = "/login" + ("?" + qs({"next": next}) if next is not None else "")
        g = self.get(path, headers={"Accept": "text/html"})
        if g.status != 200:
            raise AssertionError("GET %s -> %d: %r" % (path, g.status, g.body[:300]))
        page = Page(g.text, path)
        form = page.form("/login", method="post")
        if form is None:
            raise AssertionError("no <form method=post action=/login> on %s: %s" % (path, page.forms))
        values = dict(username=username, password=password)
        values.update(override or {})
        data = [(k, v) for k, v in form_values(form) if k not in values and k not in drop]
        data += [(k, v) for k, v in values.items() if k not in drop]
        return g, self.post("/login", form=data, headers={"Accept": "text/html"}, csrf=False)

    def fetch_csrf(self):
        """Reads the session's CSRF token from a page (every page with a logout form carries it)."""
        for path in ("/patients", "/patients/new", "/admin/users"):
            r = self.get(path, headers={"Accept": "text/html"})
            tok = find_csrf_token(r.text) if r.status == 200 else None
            if tok:
                self.csrf = tok
                return tok
        return None

    # --- requests --------------------------------------------------------------------------------
    def _conn(self, timeout):
        if self.scheme == "https":
            import ssl
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _cookie_header(self, path):
        api_with_token = is_api_path(path) and self.bearer
        pairs = [(k, v) for k, v in self.cookies.items()
                 if not api_with_token and _path_matches(path, self.cookie_paths.get(k, "/"))]
        return "; ".join("%s=%s" % kv for kv in pairs)

    def request(self, method, path, body=None, headers=None, json_body=None, form=None,
                content_type=None, timeout=TIMEOUT, csrf=None):
        """Sends one request. path is relative to the base URL ("/api/v1/patients?q=x").
        json_body: serialised as UTF-8 JSON (Content-Type application/json); form: urlencoded (dict or
        list of pairs); body: raw bytes/str sent as given. content_type overrides the Content-Type header.
        headers: extra headers; a value of None removes a default header (Cookie and Authorization too).
        csrf: None adds the session's CSRF token where needed (see the class), False never, a string
        sends that value instead."""
        hdrs = dict(self.default_headers)
        api = is_api_path(path)
        cookie = self._cookie_header(path)
        if cookie:
            hdrs["Cookie"] = cookie
        if api and self.bearer:
            hdrs["Authorization"] = "Bearer " + self.bearer
        unsafe = method not in ("GET", "HEAD", "OPTIONS")
        tok = None
        if csrf is not False and unsafe and self.session and "Cookie" in hdrs:
            tok = csrf if isinstance(csrf, str) else (self.csrf if self.auto_csrf else None)
        explicit = {k.lower() for k in (headers or {})}
        ctype = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            ctype = "application/json"
        elif form is not None:
            pairs = list(form.items()) if isinstance(form, dict) else list(form)
            if tok and not api and path.split("?")[0] != "/login" and CSRF_FIELD not in [k for k, _ in pairs]:
                pairs.append((CSRF_FIELD, tok))
            body = qs(pairs).encode("ascii")
            ctype = "application/x-www-form-urlencoded"
        if isinstance(body, str):
            body = body.encode("utf-8")
        if content_type is not None:
            ctype = content_type
        if (tok and not api and body is not None and form is None and json_body is None
                and (ctype or "").startswith("application/x-www-form-urlencoded")
                and b"csrf_token=" not in body and path.split("?")[0] != "/login"):
            body = body + (b"&" if body else b"") + ("csrf_token=" + urllib.parse.quote(tok, safe="")).encode("ascii")
        if tok and api and CSRF_HEADER.lower() not in explicit:
            hdrs[CSRF_HEADER] = tok
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
            name, value, attrs = parse_set_cookie(c)
            if not name:
                continue
            if _cookie_deleted(value, attrs):
                self.drop_cookie(name)
            else:
                p = attrs.get("path")
                self.set_cookie(name, value, p if isinstance(p, str) and p.startswith("/") else "/")
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
    def submit_form(self, page_path, action_path, values, drop=(), form_filter=None):
        """GETs page_path, finds the form whose action resolves to action_path, and submits it as a
        browser would: every successful control with its current value (hidden inputs such as the
        CSRF token included), overridden by values; names in drop are left out. Nothing is added that
        the form does not have (no automatic CSRF token). form_filter(form) may narrow the choice when
        several forms post to the same action. Returns (page_response, post_response)."""
        page_resp = self.get(page_path, headers={"Accept": "text/html"})
        if page_resp.status != 200:
            raise AssertionError("GET %s for its form -> %d: %r" % (page_path, page_resp.status, page_resp.body[:300]))
        page = Page(page_resp.text, page_path)
        cands = [f for f in page.forms if f["action_path"] == action_path and (form_filter is None or form_filter(f))]
        form = cands[0] if cands else None
        if form is None:
            raise AssertionError("no form with action %s on %s; forms: %s"
                                 % (action_path, page_path, [f["action_path"] for f in page.forms]))
        data = form_values(form)
        data = [(k, v) for k, v in data if k not in values and k not in drop]
        data += list(values.items())
        method = (form["method"] or "get").upper()
        if method != "POST":
            raise AssertionError("form %s on %s has method %r, expected post" % (action_path, page_path, form["method"]))
        return page_resp, self.post(form["action_path"], form=data, headers={"Accept": "text/html"}, csrf=False)


# ---------------------------------------------------------------------------------------------- users

RUN_TAG = secrets.token_hex(3)  # in every user name this run creates: reruns on one stack never clash
ROLES = ("admin", "clinician", "viewer")


class User:
    def __init__(self, name, password, role):
        self.name = name
        self.password = password
        self.role = role
        self._id = None

    @property
    def id(self):
        """The users.id of this user (psql)."""
        if self._id is None:
            self._id = psql("SELECT id FROM users WHERE username = lower(%s)" % sql_literal(self.name))
            if not self._id:
                raise AssertionError("user %s is not in the users table" % self.name)
        return self._id

    def __repr__(self):
        return "<User %s (%s)>" % (self.name, self.role)


def new_password():
    return "pw-" + secrets.token_urlsafe(18)


def user_name(prefix="it"):
    return "%s-%s-%s" % (prefix, RUN_TAG, secrets.token_hex(4))


def create_user(role, prefix="it", name=None, password=None):
    """A new user made with `$FV_STACK_CTL admin user add NAME --role ROLE --password-stdin` (the password
    on stdin, no newline)."""
    name = name or user_name(prefix)
    password = password or new_password()
    stack_ctl("admin", "user", "add", name, "--role", role, "--password-stdin", input=password)
    return User(name, password, role)


def request_token(username, password, base=None):
    """POST /api/v1/auth/token without credentials; returns the token (AssertionError unless 201)."""
    anon = Client(base)
    r = anon.post(API + "/auth/token", json_body={"username": username, "password": password})
    if r.status != 201:
        raise AssertionError("token for %s: %r" % (username, r))
    tok = r.json().get("token") if isinstance(r.json(), dict) else None
    if not isinstance(tok, str) or not tok:
        raise AssertionError("token for %s: no token in %r" % (username, r))
    return tok


_shared_lock = threading.Lock()
_shared_users = {}
_shared_creds = {}


def shared_user(role):
    """The run's user of `role`, made on first use."""
    with _shared_lock:
        if role not in _shared_users:
            _shared_users[role] = create_user(role, prefix="it-" + role[:5])
        return _shared_users[role]


def shared_credentials(role):
    """{"user", "token", "session", "csrf"} of the run's user of `role`, obtained once per run."""
    user = shared_user(role)
    with _shared_lock:
        cred = _shared_creds.get(role)
        if cred is None:
            c = Client().login_as(user)
            if not c.csrf:
                raise AssertionError("no csrf_token (hidden input or csrf-token meta tag) on the pages of "
                                     "a logged-in %s" % role)
            cred = {"user": user, "token": c.bearer, "session": c.session, "csrf": c.csrf}
            _shared_creds[role] = cred
        return cred


def sha256_hex(s):
    return hashlib.sha256(s.encode("utf-8") if isinstance(s, str) else s).hexdigest()


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
            if tag == "button":
                ctl["text"] = ""
                self._caps.append({"tag": tag, "kind": "button", "obj": ctl, "parts": [], "nest": 0})
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


# ------------------------------------------------------------------------------------- authentication

class AuthCase(FVTestCase):
    """Base of the authentication, role and audit suites. Tests that make failed logins call
    self.throttle_cleanup() (done for them by fail_* helpers): every throttling counter is then
    deleted in tearDown, so no other test meets a locked-out user or address."""

    def setUp(self):
        super().setUp()
        self._clear_throttle = False

    def tearDown(self):
        if self._clear_throttle:
            clear_throttle()
        super().tearDown()

    def throttle_cleanup(self):
        self._clear_throttle = True

    # --- clients ---------------------------------------------------------------------------------
    def anon(self):
        return Client()

    def as_role(self, role):
        """A client with the run's shared credentials of role (None: anonymous)."""
        return Client().login(role)

    def fresh(self, role="clinician", session=True, token=True, prefix="it"):
        """A new user of role and a client logged in as that user: (user, client). For tests that log out,
        revoke, disable or expire credentials."""
        user = create_user(role, prefix=prefix)
        return user, Client().login_as(user, session=session, token=token)

    def session_only(self, client):
        """A client with client's session cookie and CSRF token only (no bearer token): it calls the API
        as the browser's scripts do."""
        c = Client()
        c.set_cookie(SESSION_COOKIE, client.session)
        c.csrf = client.csrf
        c.user = client.user
        return c

    def token_only(self, token):
        c = Client()
        c.bearer = token
        return c

    # --- logins ----------------------------------------------------------------------------------
    def token_attempt(self, username, password, client=None):
        r = (client or self.anon()).post(API + "/auth/token", json_body={"username": username, "password": password})
        if r.status != 201:
            self.throttle_cleanup()
        return r

    def page_attempt(self, username, password, client=None, next=None):
        c = client or self.anon()
        _, r = c.session_login(username, password, next=next)
        if r.status != 303:
            self.throttle_cleanup()
        return r

    # --- assertions ------------------------------------------------------------------------------
    def assertLocation(self, resp, path, msg=None):
        """A redirect (303) whose Location leads to path (path and query) on this server."""
        self.assertStatus(resp, 303, msg)
        loc = resp.header("Location")
        self.assertTrue(loc, "%s: 303 without Location" % resp.describe())
        parts = urllib.parse.urlsplit(loc)
        if parts.scheme or parts.netloc:
            ours = urllib.parse.urlsplit(self.c.base)
            self.assertEqual((parts.scheme, parts.netloc), (ours.scheme, ours.netloc),
                             "%s: Location %r leaves this server" % (resp.describe(), loc))
        self.assertEqual(resp.location_path(), path, "%s: Location %r" % (resp.describe(), loc))

    def assertLoginRedirect(self, resp, next_path=None, msg=None):
        """303 to /login (with ?next=<next_path> when given)."""
        self.assertStatus(resp, 303, msg)
        loc = resp.location_path() or ""
        self.assertEqual(loc.split("?")[0], "/login", "%s: Location %r" % (resp.describe(), resp.header("Location")))
        loc_full = resp.header("Location")
        parts = urllib.parse.urlsplit(loc_full)
        if parts.netloc:
            self.assertEqual(parts.netloc, urllib.parse.urlsplit(self.c.base).netloc, loc_full)
        if next_path is not None:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
            self.assertEqual(q.get("next"), [next_path], "%s: Location %r should carry next=%s"
                             % (resp.describe(), loc_full, next_path))

    def assertUnauthorized(self, resp, www=False):
        """401 with the error envelope (code unauthorized); www: and `WWW-Authenticate: Bearer ...` (checked
        once per kind of request in test_auth.NoCredentialsTest, so a missing header fails one test, not all)."""
        self.assertError(resp, 401, "unauthorized")
        if www:
            h = resp.header("WWW-Authenticate") or ""
            self.assertTrue(h.lower().startswith("bearer"), "%s: WWW-Authenticate %r" % (resp.describe(), h))

    def assertForbiddenPage(self, resp):
        self.assertStatus(resp, 403)
        self.assertHTMLType(resp)

    def assertStalePage(self, resp):
        """403 with a page that says the form was stale/expired and to reload it."""
        self.assertForbiddenPage(resp)
        text = Page(resp.text, resp.url).text.lower()
        self.assertTrue("expired" in text or "stale" in text,
                        "the CSRF 403 page does not say the form expired: %r" % text[:400])
        self.assertTrue(any(w in text for w in ("reload", "refresh", "again")),
                        "the CSRF 403 page does not say to reload the form: %r" % text[:400])

    def assertSessionWorks(self, client, msg=None):
        r = client.get("/patients", headers={"Accept": "text/html"})
        self.assertStatus(r, 200, msg or "the session should still work")

    def assertSessionEnded(self, client, msg=None):
        r = client.get("/patients", headers={"Accept": "text/html"})
        self.assertLoginRedirect(r, msg=msg or "the session should have ended")

    # --- audit -----------------------------------------------------------------------------------
    def audit_rows(self, where):
        """audit_events rows matching the SQL condition, oldest first, as dicts."""
        out = psql("SELECT row_to_json(a) FROM audit_events a WHERE %s ORDER BY id" % where)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def audit_for_request(self, resp):
        rid = self.assertRequestId(resp)
        return self.audit_rows("request_id = %s" % sql_literal(rid))

    # --- admin pages -----------------------------------------------------------------------------
    def user_form(self, page, user, word):
        """The POST form on /admin/users that does `word` ("disable", "enable") to user: its action or a
        field names the user (name or id), and its action, a button or a field says word."""
        word = word.lower()
        ids = {user.name.lower(), user.id}
        found = []
        for f in page.forms:
            if f["method"] != "post":
                continue
            action = (f["action"] or "").lower()
            values = [str(c.get("value") or "").lower() for c in f["controls"]]
            texts = [str(c.get("text") or "").lower() for c in f["controls"]]
            names_user = any(i in urllib.parse.unquote(action) for i in ids) or any(v in ids for v in values)
            says = word in action or any(word in v for v in values + texts)
            if names_user and says:
                found.append(f)
        if not found:
            self.fail("no POST form to %s %s on %s: %s" % (word, user.name, page.url,
                                                         [(f["action"], form_values(f)) for f in page.forms]))
        return found[0]


def same_form(a, b):
    """The same form in two readings of one page: same action and same fields but the CSRF token."""
    def sig(f):
        return (f["action_path"], tuple((c["name"], c["value"]) for c in f["controls"] if c["name"] != CSRF_FIELD))
    return sig(a) == sig(b)


# ------------------------------------------------------------------------------- uploads (documents)

class Part:
    """One part of a multipart/form-data body. filename None: a plain field. filename may be str
    (encoded as UTF-8 in a quoted string) or bytes (written raw: non-UTF-8 or NUL bytes). disposition
    (bytes) replaces the whole Content-Disposition value; headers (bytes) are extra raw header lines."""

    def __init__(self, name, data=b"", filename=None, content_type=None, disposition=None, headers=b""):
        self.name = name
        self.data = data.encode("utf-8") if isinstance(data, str) else data
        self.filename = filename
        self.content_type = content_type
        self.disposition = disposition
        self.headers = headers

    def encode(self):
        if self.disposition is not None:
            disp = self.disposition
        else:
            disp = b'form-data; name="' + self.name.encode("utf-8") + b'"'
            if self.filename is not None:
                fn = self.filename.encode("utf-8") if isinstance(self.filename, str) else self.filename
                disp += b'; filename="' + fn.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        out = b"Content-Disposition: " + disp + b"\r\n"
        if self.content_type:
            out += b"Content-Type: " + self.content_type.encode("ascii") + b"\r\n"
        return out + self.headers + b"\r\n" + self.data


def file_part(data, filename="report.pdf", content_type="application/octet-stream", name="file"):
    return Part(name, data, filename=filename, content_type=content_type)


def multipart_body(parts, boundary=None, close=True):
    """(body, content_type) for parts (Part objects or (name, value) pairs). close=False leaves the
    closing delimiter out (a body cut off before its end)."""
    boundary = boundary or "----fvtest" + secrets.token_hex(12)
    b = boundary.encode("ascii")
    out = bytearray()
    for p in parts:
        if not isinstance(p, Part):
            p = Part(p[0], p[1])
        out += b"--" + b + b"\r\n" + p.encode() + b"\r\n"
    if close:
        out += b"--" + b + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


def upload_parts(data, filename="report.pdf", document_type="lab_report", content_type="application/octet-stream"):
    """The parts of an ordinary upload: document_type, then the file."""
    return [("document_type", document_type), file_part(data, filename, content_type)]


class RawResponse:
    """What came back on a raw socket: status None when the server closed without answering."""

    def __init__(self, raw):
        self.raw = raw
        self.status = None
        self.headers = {}
        self.body = b""
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.decode("iso-8859-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            return
        self.status = int(m.group(1))
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<raw %s %r>" % (self.status, self.raw[:400])


def _raw_complete(data):
    """True when data holds a whole response with a Content-Length (or a bodiless status)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if m:
        return len(body) >= int(m.group(1))
    return re.match(rb"^HTTP/1\.[01] (1\d\d|204|304) ", head) is not None


def raw_request(client, method, path, body=b"", headers=None, content_length=None, shutdown_write=False,
                timeout=TIMEOUT, api_csrf=True):
    """Sends one request on a plain socket with client's credentials (bearer on /api/v1/, else its
    cookies; the session's CSRF token as X-CSRF-Token on a cookie-authenticated API call when
    api_csrf), announcing content_length (default len(body)) whatever is sent; shutdown_write closes
    the sending side after the body. Reads until the server closes or timeout; never raises on a
    cut-off or missing answer (RawResponse.status is then None). http only."""
    import socket
    hdrs = dict(client.default_headers)
    api = is_api_path(path)
    cookie = client._cookie_header(path)
    if cookie:
        hdrs["Cookie"] = cookie
    if api and client.bearer:
        hdrs["Authorization"] = "Bearer " + client.bearer
    elif api and api_csrf and client.csrf and cookie:
        hdrs[CSRF_HEADER] = client.csrf
    hdrs.update(headers or {})
    hdrs["Host"] = "%s:%s" % (client.host, client.port or 80)
    hdrs["Connection"] = "close"
    hdrs["Content-Length"] = str(len(body) if content_length is None else content_length)
    head = "%s %s HTTP/1.1\r\n" % (method, client.prefix + path)
    head += "".join("%s: %s\r\n" % kv for kv in hdrs.items() if kv[1] is not None) + "\r\n"
    s = socket.create_connection((client.host, client.port or 80), timeout=timeout)
    chunks = []
    try:
        try:
            s.sendall(head.encode("latin-1") + body)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            chunks.append(d)
            if _raw_complete(b"".join(chunks)):
                break  # a whole answer: do not wait for the server's (lingering) close
    finally:
        s.close()
    return RawResponse(b"".join(chunks))


# ------------------------------------------------------------------------------ analysis (fv-worker)

ANALYSIS_QUEUE = "fv:queue:analysis"
DELAYED_QUEUE = "fv:queue:delayed"
PROCESSING_PREFIX = "fv:queue:processing:"
METRICS_KEY = "fv:metrics:analysis"
FINAL_STATUSES = ("analyzed", "failed")


def wait_for_analysis(client, doc_id, timeout=120.0, until=FINAL_STATUSES, seen=None):
    """Polls GET /api/v1/documents/{doc_id} with client until its status is one of `until` (default:
    analyzed or failed) or timeout seconds passed; returns the last document read (None when none could
    be read). seen: a list that receives every status observed, in order, without repeats."""
    last = {}

    def probe():
        r = client.get(API + "/documents/%s" % doc_id)
        if r.status != 200:
            return None
        d = r.json()
        last["d"] = d
        if seen is not None and (not seen or seen[-1] != d.get("status")):
            seen.append(d.get("status"))
        return d.get("status") in until

    wait_until(probe, timeout=timeout, interval=0.1)
    return last.get("d")


def doc_row(doc_id, columns="status, attempts, error"):
    """Columns of the document's row (superuser, any status), as a list of strings; [] when there is
    none."""
    out = psql("SELECT %s FROM documents WHERE id = %s" % (columns, sql_literal(doc_id)))
    return out.split("|") if out else []


def workers():
    """[(slot, pid)] of the stack's running fv-workers (`$FV_STACK_CTL workers`)."""
    out = stack_ctl("workers")
    return [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]


def worker_holding(doc_id):
    """(worker id, pid) of the worker whose processing list holds doc_id, or None. Worker ids are
    "HOST:PID:RANDOM"."""
    for key in redis_cli("--scan", "--pattern", PROCESSING_PREFIX + "*").split():
        if doc_id in redis_cli("LRANGE", key, "0", "-1").split():
            wid = key[len(PROCESSING_PREFIX):]
            try:
                return wid, int(wid.split(":")[-2])
            except (IndexError, ValueError):
                return wid, None
    return None


def slot_of_pid(pid):
    """The stack slot of the worker with this pid, or None."""
    for slot, p in workers():
        if p == pid:
            return slot
    return None


def child_pids(pid):
    """Pids of pid's child processes (the analysis child of a worker: comm "fv-analyze")."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def analysis_idle():
    """True when no analysis job waits, is delayed for a retry or is in a worker's hands."""
    if redis_cli("LLEN", ANALYSIS_QUEUE) != "0" or redis_cli("ZCARD", DELAYED_QUEUE) != "0":
        return False
    return all(redis_cli("LLEN", k) == "0" for k in redis_cli("--scan", "--pattern", PROCESSING_PREFIX + "*").split())


def wait_analysis_idle(timeout=300.0):
    """Waits (bounded) until the workers have worked off what earlier tests queued (the corpus takes
    a while), so that a test's counts and timings concern its own documents. Returns whether they
    did."""
    return wait_until(analysis_idle, timeout=timeout, interval=0.5)


def metrics():
    """The analysis metrics hash (fv:metrics:analysis) as {field: int}."""
    out = redis_cli("HGETALL", METRICS_KEY).splitlines()
    return {out[i]: int(out[i + 1]) for i in range(0, len(out) - 1, 2)}


def analysis_audit_rows(doc_id):
    """The fv-worker's audit rows for doc_id (action document.analyze), oldest first, as dicts."""
    out = psql("SELECT row_to_json(a) FROM audit_events a WHERE action = 'document.analyze'"
               " AND entity_id = %s ORDER BY id" % sql_literal(doc_id))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def worker_log():
    """The stack's fv-worker log (every worker appends to it)."""
    try:
        with open(stack_env()["FV_WORKER_LOG"], encoding="utf-8", errors="replace") as f:
            return f.read()
    except (OSError, KeyError):
        return ""


class workers_paused:
    """`with workers_paused():` stops every fv-worker (SIGTERM: jobs in hand finish first) and starts the
    stack's workers again at the end, so that a test can look at a document while it is still "queued"
    and its job still waits in Redis. `with workers_paused(start=False)` leaves the restart to the test.
    """

    def __init__(self, start=True):
        self.start = start

    def __enter__(self):
        stack_ctl("stop-worker", timeout=180)
        return self

    def __exit__(self, *exc):
        if self.start:
            stack_ctl("start-worker")
        return False


def png_blank(width, height):
    """A white 1-bit grayscale PNG of width x height pixels, compressed to almost nothing (a
    decompression bomb when large)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    c = zlib.compressobj(9)
    idat = b"".join(c.compress(row) for _ in range(height)) + c.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pdf_pages(n, text=b"AMH 2.5 ng/mL"):
    """A plain PDF of n pages that share one text content stream (small even for thousands of pages);
    offsets and the xref table are exact."""
    content = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
            3: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
            b" /Resources << /Font << /F1 4 0 R >> >> >>")
    for i in range(n):
        objs[5 + i] = page
    objs[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + i) for i in range(n)) + b"] /Count %d >>" % n
    return samples.pdf_file(objs)


class shared_temp:
    """`with shared_temp(data, ".pdf") as path:` a file holding data that the stack user can read (for
    `$FV_STACK_CTL worker --analyze PATH`), removed afterwards."""

    def __init__(self, data, suffix=""):
        self.data = data
        self.suffix = suffix

    def __enter__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="fvtest-worker.")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "file" + self.suffix)
        with open(self.path, "wb") as f:
            f.write(self.data)
        os.chmod(self.path, 0o644)
        return self.path

    def __exit__(self, *exc):
        import shutil
        shutil.rmtree(self.dir, True)
        return False


def jpeg_size(data):
    """(width, height, components) of a baseline or progressive JPEG."""
    import struct
    i = 2
    while i + 4 <= len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            _, h, w, comps = struct.unpack(">BHHB", data[i + 4:i + 10])
            return w, h, comps
        i += 2 + length
    raise ValueError("no JPEG frame header")


def scan_pdf(jpeg, pages, dpi=300, token=None):
    """An image-only PDF (no text layer: every page needs OCR) of `pages` pages, each showing the same
    scanned JPEG at dpi, unique by a token in its Info dictionary. A slow document made of real scans:
    its analysis takes `pages` times one page's OCR."""
    w, h, comps = jpeg_size(jpeg)
    pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
    content = b"q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q" % (pw, ph)
    token = (token or secrets.token_hex(8)).encode("ascii")
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
            3: b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent 8"
               b" /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, b"DeviceRGB" if comps == 3 else b"DeviceGray",
                                                                len(jpeg)) + jpeg + b"\nendstream",
            4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            5: b"<< /Title (fvtest scan " + token + b") >>"}
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents 4 0 R"
            b" /Resources << /XObject << /Im1 3 0 R >> >> >>" % (pw, ph))
    for i in range(pages):
        objs[6 + i] = page
    objs[2] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
               + b"] /Count %d >>" % pages)
    return samples.pdf_file(objs, b"/Info 5 0 R")
