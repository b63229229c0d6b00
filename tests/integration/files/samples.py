"""samples.py: upload samples for tests/integration/test_documents*.py (Python 3 standard library).

- sample(name): the bytes of one file that tests/files/make-samples writes (valid and hostile PDFs,
  images, scripts, archives, polyglots, damaged files); make-samples runs once per test run into a
  temporary directory that is removed at exit.
- unique_text(), unique_pdf(), unique_png(): small valid files whose bytes (so whose SHA-256 and
  stored object) are new each call, for tests that count stored objects or rows.
"""

import atexit
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MAKE_SAMPLES = os.path.join(REPO, "tests", "files", "make-samples")

_dir = {}


def samples_dir():
    """The directory make-samples wrote into (made on first use)."""
    if "d" not in _dir:
        if not os.path.isfile(MAKE_SAMPLES):
            raise AssertionError("%s is missing: the hostile upload samples come from it" % MAKE_SAMPLES)
        d = tempfile.mkdtemp(prefix="fv-doc-samples.")
        atexit.register(shutil.rmtree, d, True)
        p = subprocess.run([sys.executable, MAKE_SAMPLES, d], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("make-samples failed (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
        _dir["d"] = d
    return _dir["d"]


def sample(name):
    with open(os.path.join(samples_dir(), name), "rb") as f:
        return f.read()


def unique_text(token=None, lines=3):
    token = token or secrets.token_hex(8)
    body = "".join("FSH %d.%d IU/L sample %s line %d\n" % (5 + i, i, token, i) for i in range(lines))
    return ("Lab report %s\n" % token + body).encode("utf-8")


def unique_pdf(token=None):
    """A one-page PDF with a text layer naming token; offsets and the xref table are exact."""
    token = (token or secrets.token_hex(8)).encode("ascii")
    content = b"BT /F1 12 Tf 72 720 Td (Estradiol 45 pg/mL sample " + token + b") Tj ET"
    return pdf_file({1: b"<< /Type /Catalog /Pages 2 0 R >>",
                     2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                        b"/Resources << /Font << /F1 5 0 R >> >> >>",
                     4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
                     5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"})


def pdf_file(objs, trailer=b""):
    """A PDF of the objects {number: body} (1 is the catalog), with exact offsets and xref table;
    trailer: more trailer entries (b"/Info 5 0 R")."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for k in sorted(objs):
        offsets[k] = len(out)
        out += b"%d 0 obj\n" % k + objs[k] + b"\nendobj\n"
    xref, total = len(out), max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % total
    out += b"".join(b"%010d 00000 n \n" % offsets[k] for k in range(1, total))
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        total, b" " + trailer if trailer else b"", xref)
    return bytes(out)


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def unique_png(width=24, height=16):
    """An 8-bit RGB PNG of random pixels."""
    raw = b"".join(b"\0" + secrets.token_bytes(width * 3) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(raw)) +
            _png_chunk(b"IEND", b""))


def big_text(size, token=None):
    """A UTF-8 text file of exactly size bytes: a header line naming token, then lines of 'a'."""
    head = ("big sample %s\n" % (token or secrets.token_hex(8))).encode("ascii")
    line = b"a" * 1023 + b"\n"
    n = size - len(head)
    body = line * (n // len(line))
    rest = n - len(body)
    if rest:
        body += b"a" * (rest - 1) + b"\n"
    data = head + body
    assert len(data) == size, (len(data), size)
    return data
