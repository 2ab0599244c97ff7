#!/bin/sh
# Builds the two variants of the floor check into $OUT (default /tmp/graft-floor-check):
#   plain-O3-native         the plain loop with -O3 -march=native (libm sqrtf: scalar, errno)
#   plain-O3-native-nomerr  the same with -fno-math-errno (vectorised sqrt: the fastest plain loop)
# Both link graft_floor_adam from floors.c compiled as SwiftPM compiles it (-O2, no -march).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
FLOORS="$HERE/../CGraftFloors"
OUT=${OUT:-/tmp/graft-floor-check}
CC=${CC:-clang}
mkdir -p "$OUT"
$CC -O2 -I "$FLOORS/include" -c "$FLOORS/floors.c" -o "$OUT/floors.o"
$CC -O3 -march=native -I "$FLOORS/include" "$HERE/adam_floor_check.c" "$OUT/floors.o" -o "$OUT/plain-O3-native" -lm -pthread
$CC -O3 -march=native -fno-math-errno -I "$FLOORS/include" "$HERE/adam_floor_check.c" "$OUT/floors.o" -o "$OUT/plain-O3-native-nomerr" -lm -pthread
echo "built $OUT/plain-O3-native and $OUT/plain-O3-native-nomerr; run each with: N [rounds] [steps], e.g. 1e6 20 50, 1e7 20 20"
