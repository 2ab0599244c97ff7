#!/usr/bin/env bash
# Command-line hardening checks (issue 13): runs the built `graft` and example executables
# against hostile command lines and file targets and checks exit status, stdout and stderr.
# Called by .ci/run after `make test`; builds what it needs (debug) first.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OPENBLAS_NUM_THREADS=1
swift build --product graft >/dev/null
for example in QuickStart NNQuickStart RobustFineTune LoRAFineTune MultiTaskPCGrad CustomTransform BenchmarkYourTransform; do
  swift build --product "$example" >/dev/null
done
BIN=$(swift build --show-bin-path)
GRAFT="$BIN/graft"
TRACE=Tests/Fixtures/traces/sgd_momentum.json
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect NAME STATUS STDERR_FRAGMENT -- command...: runs the command, checks its status and
# that stderr contains the fragment (empty fragment: anything).
expect() {
  local name=$1 status=$2 fragment=$3; shift 4
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [ "$rc" != "$status" ]; then bad "$name: exit $rc, expected $status; stderr: $(head -c 300 "$WORK/err")"; return; fi
  if [ -n "$fragment" ] && ! grep -qF -- "$fragment" "$WORK/err"; then bad "$name: stderr lacks '$fragment': $(head -c 300 "$WORK/err")"; return; fi
  ok
}

# ---- graft replay -------------------------------------------------------------------------
"$GRAFT" replay "$TRACE" >"$WORK/reference.json" || bad "replay of $TRACE failed"
same_as_reference() { if cmp -s "$WORK/reference.json" "$1"; then ok; else bad "$2: result differs"; fi; }

"$GRAFT" replay - <"$TRACE" >"$WORK/stdin.json" 2>&1; same_as_reference "$WORK/stdin.json" "replay -"
cat "$TRACE" | "$GRAFT" replay /dev/stdin >"$WORK/pipe.json" 2>&1; same_as_reference "$WORK/pipe.json" "replay /dev/stdin from a pipe"
cat "$TRACE" | "$GRAFT" replay - >"$WORK/pipe2.json" 2>&1; same_as_reference "$WORK/pipe2.json" "replay - from a pipe"
"$GRAFT" replay <(cat "$TRACE") >"$WORK/procsub.json" 2>&1; same_as_reference "$WORK/procsub.json" "replay of a process substitution"

expect "--output /dev/full" 1 "refusing to replace a device" -- "$GRAFT" replay "$TRACE" --output /dev/full
"$GRAFT" replay "$TRACE" >/dev/full 2>"$WORK/err"; rc=$?
if [ $rc = 1 ] && grep -q "cannot write the result to standard output (No space left on device)" "$WORK/err"; then ok; else bad "> /dev/full: exit $rc: $(cat "$WORK/err")"; fi
"$GRAFT" replay "$TRACE" >&- 2>"$WORK/err"; rc=$?
if [ $rc = 1 ] && grep -q "standard output is closed" "$WORK/err"; then ok; else bad ">&-: exit $rc: $(cat "$WORK/err")"; fi
cmp -s "$TRACE" <(git show HEAD:"$TRACE") && ok || bad "the trace changed after a closed-stdout run"
# A reader that goes away: EPIPE is reported (exit 1), not a silent SIGPIPE death.
big="$WORK/big.json"
{ printf '{"format": "graft-trace/1", "parameters": [{"path": "w", "shape": [100000], "value": ['
  seq -s, 1 100000 | tr -d '\n'
  printf ']}], "groups": [{"name": "g", "select": ["*"], "recipe": {"method": "sgd", "lr": 0.1}}], "steps": []}\n'; } >"$big"
"$GRAFT" replay "$big" 2>"$WORK/err" | head -c 10 >/dev/null; rc=${PIPESTATUS[0]}
if [ "$rc" = 1 ] && grep -q "Broken pipe" "$WORK/err"; then ok; else bad "closed reader: exit $rc: $(cat "$WORK/err")"; fi

ln -s "$WORK/target.json" "$WORK/link.json"
mkfifo "$WORK/fifo"
mkdir "$WORK/folder"
echo keep >"$WORK/existing.json"
expect "--output /dev/null" 1 "refusing to replace a device" -- "$GRAFT" replay "$TRACE" --output /dev/null
expect "--output symlink" 1 "refusing to replace a symbolic link" -- "$GRAFT" replay "$TRACE" --output "$WORK/link.json"
expect "--output FIFO" 1 "refusing to replace a FIFO" -- "$GRAFT" replay "$TRACE" --output "$WORK/fifo"
expect "--output directory" 1 "refusing to replace a directory" -- "$GRAFT" replay "$TRACE" --output "$WORK/folder"
cp "$TRACE" "$WORK/input.json"
expect "--output the input" 1 "is the trace being read" -- "$GRAFT" replay "$WORK/input.json" --output "$WORK/input.json"
ln "$WORK/input.json" "$WORK/hardlink.json"
expect "--output a hard link to the input" 1 "is the trace being read" -- "$GRAFT" replay "$WORK/input.json" --output "$WORK/hardlink.json"
expect "--output the input via stdin" 1 "is the trace being read" -- "$GRAFT" replay - --output "$WORK/input.json" <"$WORK/input.json"
cmp -s "$WORK/input.json" "$TRACE" && ok || bad "the input was modified"
expect "--output ''" 1 "empty" -- "$GRAFT" replay "$TRACE" --output ''
expect "--output in a missing folder" 1 "cannot write into" -- "$GRAFT" replay "$TRACE" --output "$WORK/missing/out.json"
expect "--output existing regular file" 0 "" -- "$GRAFT" replay "$TRACE" --output "$WORK/existing.json"
same_as_reference "$WORK/existing.json" "--output existing regular file"
expect "trace is a directory" 1 "is a directory" -- "$GRAFT" replay "$WORK/folder"
expect "hostile trace" 1 "out of float32 range" -- "$GRAFT" replay Tests/Fixtures/hostile/traces/value_1e39.json
[ ! -s "$WORK/out" ] && ok || bad "hostile trace printed something on stdout"
expect "overflowing update" 1 "steps[1]: step 2 of group 'g' produced a non-finite value for 'w'" -- "$GRAFT" replay Tests/Fixtures/hostile/traces/overflow_lr_3e38.json

# Streaming: peak memory of a long trace stays flat (the parser holds one step at a time).
long_trace() {  # $1 steps of a 4-element parameter, through a pipe
  printf '{"format": "graft-trace/1", "parameters": [{"path": "w", "shape": [4], "value": [1, 2, 3, 4]}], '
  printf '"groups": [{"name": "g", "select": ["*"], "recipe": {"method": "adam", "lr": 0.001}}], "steps": ['
  yes '{"gradients": [{"w": [0.5, -0.25, 1e-3, 2]}]},' | head -n $(($1 - 1))
  printf '{"gradients": [{"w": [0.5, -0.25, 1e-3, 2]}]}]}\n'
}
peak_kb() { long_trace "$1" | /usr/bin/time -f %M "$GRAFT" replay - 2>&1 >/dev/null | tail -n 1; }
small=$(peak_kb 1000); large=$(peak_kb 100000)
bytes=$(long_trace 100000 | wc -c)
echo "streaming replay: peak RSS ${small} KB for 1000 steps, ${large} KB for 100000 steps ($((bytes / 1000000)) MB of trace)"
if [ "$large" -lt $((small + 8192)) ]; then ok; else bad "peak memory grows with the trace: $small KB -> $large KB"; fi

# ---- examples: numeric flags, --output, --ood ---------------------------------------------
# usage_error NAME FRAGMENT -- command...: exit 2, exactly one line on stderr containing FRAGMENT,
# nothing on stdout (the check runs before any work).
usage_error() {
  local name=$1 fragment=$2; shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$? lines
  lines=$(wc -l <"$WORK/err")
  if [ "$rc" != 2 ] || [ "$lines" != 1 ] || ! grep -qF -- "$fragment" "$WORK/err" || [ -s "$WORK/out" ] \
     || [ "$(grep -o 'see --help' "$WORK/err" | wc -l)" != 1 ]; then
    bad "$name: exit $rc, $lines stderr line(s): $(head -c 300 "$WORK/err"); stdout: $(head -c 100 "$WORK/out")"
  else
    ok
  fi
}
touch "$WORK/a-file"
for example in RobustFineTune LoRAFineTune MultiTaskPCGrad CustomTransform; do
  X="$BIN/$example"
  usage_error "$example --threads 2147483648" '--threads needs a whole number in 1…1024, got "2147483648"' -- "$X" --threads 2147483648
  usage_error "$example --threads 0" '--threads needs a whole number in 1…1024' -- "$X" --threads 0
  usage_error "$example --epochs Int.max" '--epochs needs a whole number in 1…10000, got "9223372036854775807"' -- "$X" --epochs 9223372036854775807
  usage_error "$example --epochs 2^64" '--epochs needs a whole number' -- "$X" --epochs 18446744073709551616
  usage_error "$example --epochs abc" '--epochs needs a whole number' -- "$X" --epochs abc
  usage_error "$example --output ''" '--output needs a folder name, got an empty one' -- "$X" --output ''
  usage_error "$example --output FILE" "is a file, not a folder" -- "$X" --output "$WORK/a-file"
  usage_error "$example --output read-only" "the folder is not writable" -- "$X" --output /proc
  usage_error "$example --output uncreatable" "cannot create the folder" -- "$X" --output /proc/graft-out
  usage_error "$example unknown flag" "unknown option --bogus" -- "$X" --bogus
  usage_error "$example missing value" "--threads needs a value" -- "$X" --threads
done
for example in RobustFineTune CustomTransform; do
  usage_error "$example --pretrain-epochs Int.max" '--pretrain-epochs needs a whole number in 1…10000' -- "$BIN/$example" --pretrain-epochs 9223372036854775807
done
for example in RobustFineTune MultiTaskPCGrad CustomTransform; do
  usage_error "$example --seeds 0" '--seeds needs a whole number in 1…1000' -- "$BIN/$example" --seeds 0
done
usage_error "LoRAFineTune --rank Int.max" '--rank needs a whole number in 1…128, got "9223372036854775807"' -- "$BIN/LoRAFineTune" --rank 9223372036854775807
usage_error "LoRAFineTune --rank 10^9" '--rank needs a whole number in 1…128, got "1000000000"' -- "$BIN/LoRAFineTune" --rank 1000000000
usage_error "LoRAFineTune --lr inf" '--lr needs a number in (0.0, 10.0], got "inf"' -- "$BIN/LoRAFineTune" --lr inf
usage_error "LoRAFineTune --mus nan" '--mus needs a number in [0.0, 1000000.0], got "nan"' -- "$BIN/LoRAFineTune" --mus 0.1,nan
usage_error "MultiTaskPCGrad --lr 0" '--lr needs a number in (0.0, 10.0], got "0"' -- "$BIN/MultiTaskPCGrad" --lr 0
usage_error "MultiTaskPCGrad --batch-size 10^12" '--batch-size needs a whole number in 1…65536' -- "$BIN/MultiTaskPCGrad" --batch-size 1000000000000
usage_error "CustomTransform --eta 1e39" '--eta needs a number in [0.0, 1000.0], got "1e39"' -- "$BIN/CustomTransform" --eta 1e39
usage_error "QuickStart --learning-rate inf" '--learning-rate needs a number in (0.0, 10.0], got "inf"' -- "$BIN/QuickStart" --learning-rate inf
usage_error "QuickStart --steps -1" '--steps needs a whole number in 0…1000000' -- "$BIN/QuickStart" --steps -1
usage_error "QuickStart unknown flag" 'unknown option --bogus' -- "$BIN/QuickStart" --bogus
usage_error "NNQuickStart unknown flag" 'unknown option --bogus' -- "$BIN/NNQuickStart" --bogus
usage_error "NNQuickStart --steps 0" '--steps needs a whole number in 1…100000' -- "$BIN/NNQuickStart" --steps 0
for example in QuickStart NNQuickStart RobustFineTune LoRAFineTune MultiTaskPCGrad CustomTransform; do
  "$BIN/$example" --help >"$WORK/out" 2>&1 && grep -q "usage: $example" "$WORK/out" && ok || bad "$example --help"
done
"$BIN/NNQuickStart" --steps 3 --seed 7 >"$WORK/out" 2>&1 && grep -q "^step 1: loss" "$WORK/out" && ok || bad "NNQuickStart --steps 3: $(cat "$WORK/out")"
# An OOD set of 0 images is refused (exit 1, named) before any training; nothing is written.
"$BIN/RobustFineTune" --quick --ood empty=Tests/Fixtures/hostile/idx/empty-images-idx3-ubyte,Tests/Fixtures/hostile/idx/empty-labels-idx1-ubyte \
  --output "$WORK/rft" >"$WORK/out" 2>"$WORK/err"; rc=$?
if [ $rc = 1 ] && grep -q "empty: the data set has no images" "$WORK/err" && [ ! -e "$WORK/rft/results.md" ]; then ok
else bad "--ood with 0 images: exit $rc: $(cat "$WORK/err")"; fi

# ---- graft bench: usage errors (checked before anything runs) and the debug-build refusal ----
RECIPE='{"method": "adam", "lr": 1e-3}'
usage_error "bench without --recipe" '--recipe is required' -- "$GRAFT" bench
usage_error "bench bad JSON" 'not valid JSON' -- "$GRAFT" bench --recipe '{"method": "adam",'
usage_error "bench trailing text" "after the document" -- "$GRAFT" bench --recipe '{"method": "adam", "lr": 1} x'
usage_error "bench not an object" 'expected a JSON object' -- "$GRAFT" bench --recipe '[1]'
usage_error "bench missing lr" 'recipe.lr: required key is missing' -- "$GRAFT" bench --recipe '{"method": "adam"}'
usage_error "bench unknown key" 'recipe.momentum' -- "$GRAFT" bench --recipe '{"method": "adam", "lr": 1e-3, "momentum": 0.9}'
usage_error "bench lr 1e39" 'recipe.lr: 1e+39 is out of float32 range' -- "$GRAFT" bench --recipe '{"method": "adam", "lr": 1e39}'
usage_error "bench unknown method in --compare" '--compare: recipe.method: unknown method "bogus"' -- "$GRAFT" bench --recipe "$RECIPE" --compare '{"method": "bogus", "lr": 1}'
usage_error "bench provided gradients" 'reads provided gradients' -- "$GRAFT" bench --recipe '{"method": "digrap", "lr": 1e-3, "mu": 0.1, "hypergradient_source": "provided"}'
usage_error "bench unknown layout" 'unknown layout "huge" (single, equal100, mixed)' -- "$GRAFT" bench --recipe "$RECIPE" --layout huge
usage_error "bench --size 10" '--size needs a whole number in 1000…1000000000, got "10"' -- "$GRAFT" bench --recipe "$RECIPE" --size 10
usage_error "bench --size 1e300" '--size needs a whole number' -- "$GRAFT" bench --recipe "$RECIPE" --size 1e300
usage_error "bench --threads 0" '--threads needs a whole number in 1…1024' -- "$GRAFT" bench --recipe "$RECIPE" --threads 0
usage_error "bench --objectives 5" '--objectives needs a whole number in 1…4' -- "$GRAFT" bench --recipe "$RECIPE" --objectives 5
usage_error "bench --seconds inf" '--seconds needs a number in (0, 60], got "inf"' -- "$GRAFT" bench --recipe "$RECIPE" --seconds inf
usage_error "bench --shapes 3x0" '--shapes needs shapes such as 768x768,768' -- "$GRAFT" bench --recipe "$RECIPE" --shapes 3x0
usage_error "bench --shapes and --layout" '--shapes replaces --layout and --size' -- "$GRAFT" bench --recipe "$RECIPE" --shapes 10x10 --layout single
usage_error "bench unknown flag" 'unknown option --bogus' -- "$GRAFT" bench --recipe "$RECIPE" --bogus
usage_error "bench missing value" '--threads needs a value' -- "$GRAFT" bench --recipe "$RECIPE" --threads
# The checks above run in the debug build CI uses; a valid command line is refused there (exit 2, nothing on stdout).
expect "bench refuses a debug build" 2 "refusing to benchmark a debug build" -- "$GRAFT" bench --recipe "$RECIPE" --size 1e4
[ ! -s "$WORK/out" ] && ok || bad "bench debug refusal printed on stdout"
BYT="$BIN/BenchmarkYourTransform"
usage_error "BenchmarkYourTransform --size 5" '--size needs a whole number in 1000…1000000000, got "5"' -- "$BYT" --size 5
usage_error "BenchmarkYourTransform --eta nan" '--eta needs a number in [0.0, 1000.0], got "nan"' -- "$BYT" --eta nan
usage_error "BenchmarkYourTransform --layout" 'unknown layout "huge"' -- "$BYT" --layout huge
usage_error "BenchmarkYourTransform unknown flag" 'unknown option --bogus' -- "$BYT" --bogus
expect "BenchmarkYourTransform refuses a debug build" 2 "refusing to benchmark a debug build" -- "$BYT"
"$BYT" --help >"$WORK/out" 2>&1 && grep -q "usage: BenchmarkYourTransform" "$WORK/out" && ok || bad "BenchmarkYourTransform --help"
"$GRAFT" bench --help >"$WORK/out" 2>&1 && grep -q "usage: graft bench" "$WORK/out" && ok || bad "graft bench --help"
"$GRAFT" --help >"$WORK/out" 2>&1 && grep -q "graft bench --recipe" "$WORK/out" && ok || bad "graft --help does not list bench"

# ---- release-build messages -------------------------------------------------------------
# `precondition` drops its message under -O; `checkPrecondition` (fatalError) keeps it. Compile
# the helper with -O next to a call that fails and check the message reaches stderr.
cat >"$WORK/main.swift" <<'SWIFT'
checkPrecondition(CommandLine.arguments.count > 5, "index [7] out of bounds for shape [2]")
SWIFT
if swiftc -O -module-name TrapCheck Sources/GraftTensor/Precondition.swift "$WORK/main.swift" -o "$WORK/trap" 2>"$WORK/err"; then
  # (through an inner shell, so the shell's own "Illegal instruction" report is discarded)
  bash -c '"$1" 2>"$2"; exit $?' _ "$WORK/trap" "$WORK/err" 2>/dev/null; rc=$?
  if [ $rc != 0 ] && grep -q "index \[7\] out of bounds for shape \[2\]" "$WORK/err"; then ok; else bad "-O trap message lost (exit $rc): $(cat "$WORK/err")"; fi
else
  bad "cannot compile the -O trap check: $(cat "$WORK/err")"
fi
# No bare precondition outside the optimizer engine (whose owner handles it) and the benchmarks.
bare=$(grep -rnE '(^|[^A-Za-z])(precondition|preconditionFailure)\(' Sources Examples \
         --include=*.swift | grep -vE '^Sources/GraftOptim/(Core|Groups|Transforms|Robust|Recipes)/' || true)
if [ -z "$bare" ]; then ok; else bad "bare preconditions (messages lost in release builds):
$bare"; fi

echo "cli-checks: $passed passed, $failed failed"
[ "$failed" = 0 ]
