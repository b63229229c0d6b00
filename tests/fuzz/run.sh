#!/bin/sh
# run.sh: builds the multipart/form-data fuzz driver with clang and runs it from the seed corpus.
# Usage: tests/fuzz/run.sh [seconds (default 600)] [more libFuzzer options, e.g. -jobs=2]
# The grown corpus and any crash inputs stay in $FUZZ_WORK (default /tmp/fv-fuzz-multipart), so
# the checkout only ever holds the seeds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-600}
[ $# -gt 0 ] && shift
work=${FUZZ_WORK:-${TMPDIR:-/tmp}/fv-fuzz-multipart}
bin=$work/fuzz-multipart

if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found; install it: apt-get install clang libclang-rt-14-dev" >&2
	exit 1
fi
mkdir -p "$work/corpus" "$work/artifacts"
# json-c only because input.c (utf8_valid) also holds the JSON parser.
clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -I"$top/fcgi-app" $(pkg-config --cflags json-c) \
	-o "$bin" "$here/fuzz-multipart.c" "$top/fcgi-app/multipart.c" "$top/fcgi-app/input.c" \
	"$top/fcgi-app/arena.c" "$top/fcgi-app/buf.c" $(pkg-config --libs json-c) -lm ||
	{ echo "run.sh: clang could not build a libFuzzer target; install libclang-rt-14-dev" >&2; exit 1; }
# New inputs go to the first corpus directory; the seeds are only read.
exec "$bin" -dict="$here/multipart.dict" -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$here/corpus"
