#!/usr/bin/env python3
"""Test documents for bench/documents: valid, distinct plain-text and PDF files of exact sizes.

  mkdocs.py text PATH SIZE TOKEN        one UTF-8 (ASCII) text file of SIZE bytes
  mkdocs.py pdf PATH SIZE TOKEN         one PDF of SIZE bytes: one page whose content stream is
                                        uncompressed drawing operators (no fonts, no filters)
  mkdocs.py texts DIR N SIZE PREFIX     N text files DIR/PREFIX-0000.txt ... (distinct bytes)
  mkdocs.py pdfs DIR N SIZE PREFIX      N PDF files DIR/PREFIX-0000.pdf ...

Every file names TOKEN (or PREFIX and its number) in its first bytes, so no two are the same and the
store's de-duplication never short-cuts an upload. Sizes are exact, so a file of max_body bytes
(50 MiB) is the largest the app accepts.
"""
import os
import sys


def text_bytes(size, token):
    head = ("Lab report %s\n" % token).encode("ascii")
    # Lines that look like lab results (all ASCII).
    line = b"FSH 7.4 IU/L  LH 5.1 IU/L  E2 45 pg/mL  AMH 2.3 ng/mL  ok  #\n"
    n = size - len(head)
    if n < 1:
        raise SystemExit("size too small")
    body = line * (n // len(line))
    rest = n - len(body)
    if rest:
        body += b"x" * (rest - 1) + b"\n"
    data = head + body
    assert len(data) == size
    return data


def pdf_bytes(size, token):
    """A one-page PDF of exactly size bytes; the content stream is padded to fit."""
    tok = token.encode("ascii")
    ops = b"0.5 w 72 72 m 540 720 l S\n"  # 26 bytes, a valid path-painting sequence

    def build(stream_len):
        content = b"% " + tok + b"\n"
        fill = stream_len - len(content)
        content += ops * (fill // len(ops))
        rest = stream_len - len(content)
        if rest:
            content += b"%" + b" " * (rest - 2) + b"\n" if rest >= 2 else b"\n"
        assert len(content) == stream_len
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, o in enumerate(objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
        return bytes(out)

    guess = size - len(build(100)) + 100
    for _ in range(4):  # the digits of /Length and startxref may shift the total by a byte or two
        data = build(guess)
        if len(data) == size:
            return data
        guess += size - len(data)
    raise SystemExit("cannot make a PDF of exactly %d bytes" % size)


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main(argv):
    if len(argv) == 5 and argv[1] in ("text", "pdf"):
        size = int(argv[3])
        make = text_bytes if argv[1] == "text" else pdf_bytes
        write(argv[2], make(size, argv[4]))
    elif len(argv) == 6 and argv[1] in ("texts", "pdfs"):
        d, n, size, prefix = argv[2], int(argv[3]), int(argv[4]), argv[5]
        make, ext = (text_bytes, "txt") if argv[1] == "texts" else (pdf_bytes, "pdf")
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            write(os.path.join(d, "%s-%04d.%s" % (prefix, i, ext)), make(size, "%s-%04d" % (prefix, i)))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
