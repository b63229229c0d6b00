#!/usr/bin/env python3
"""Groups `perf report --stdio --no-children --sort dso,sym -g none` output (stdin) by function.

libsodium is shipped stripped: its internal functions show as bare addresses. Each address is given
the name of the nearest exported symbol before it (from `nm -D`), which for the portable SHA-256
(the static SHA256_Transform in hash_sha256_cp.c, right after crypto_hash_sha256_statebytes) reads
"sha256 (static SHA256_Transform)". Usage: perf-group.py LIBSODIUM_PATH < report.txt
"""
import bisect
import collections
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3:
            syms.append((int(p[0], 16), p[2]))
    syms.sort()
    return syms


def main():
    lib = sys.argv[1] if len(sys.argv) > 1 else ""
    syms = exported(lib) if lib else []
    keys = [a for a, _ in syms]
    by_fn, by_dso = collections.Counter(), collections.Counter()
    for line in sys.stdin:
        p = line.split()
        if len(p) < 4 or not p[0].endswith("%") or p[0].startswith("#"):
            continue
        try:
            pct = float(p[0].rstrip("%"))
        except ValueError:
            continue
        while len(p) > 4 and p[-1] == "-":  # the IPC columns of newer perf versions
            p.pop()
        dso, sym = p[1], " ".join(p[3:])
        if dso.startswith("libsodium") and sym.startswith("0x") and syms:
            i = bisect.bisect_right(keys, int(sym, 16)) - 1
            name = syms[i][1] if i >= 0 else "?"
            if name == "crypto_hash_sha256_statebytes":
                name = "sha256 (static SHA256_Transform)"
            elif not name.startswith("sha256"):
                name = "static code after " + name
            sym = name
        by_fn["%s %s" % (dso, sym)] += pct
        by_dso[dso] += pct
    print("by library:")
    for k, v in by_dso.most_common(12):
        print("  %6.2f%%  %s" % (v, k))
    print("by function (libsodium's stripped code named by the exported symbol before it):")
    for k, v in by_fn.most_common(30):
        print("  %6.2f%%  %s" % (v, k))


if __name__ == "__main__":
    main()
