# Graft: the two commands of the README.
#   make demo   install OpenBLAS if missing, build in release, run the main example
#   make test   install OpenBLAS if missing, run the test suite (debug build)
#   make tsan   the optimizer engine's threaded paths under ThreadSanitizer (CI runs it after make test)

SHELL := /bin/bash
DEMO ?= RobustFineTune

.PHONY: demo test tsan

# Installs libopenblas-dev and pkg-config with apt-get when pkg-config does not know
# `openblas` or no cblas.h is installed (as root; through sudo only when not root).
define ensure_openblas
	@if ! pkg-config --exists openblas 2>/dev/null || \
	    [ -z "$$(find "$$(pkg-config --variable=includedir openblas 2>/dev/null || true)" /usr/include \
	                  -name cblas.h -print -quit 2>/dev/null)" ]; then \
	  echo "OpenBLAS headers or pkg-config entry missing: installing libopenblas-dev and pkg-config"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; \
	  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "error: not root and sudo is unavailable; install libopenblas-dev and pkg-config" >&2; exit 1; fi; \
	  $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libopenblas-dev pkg-config; \
	fi
endef

# OPENBLAS_CORETYPE is read when OpenBLAS loads. Debian's 0.3.21 falls back to slow generic
# kernels on some AVX-512 CPUs it does not recognise, so the demo (never the tests) picks an
# AVX-512 kernel family when the variable is unset: Cooperlake when the CPU has
# AVX512_BF16, else SkylakeX. An existing value, even an empty one, is never overridden.
demo:
	$(ensure_openblas)
	swift build -c release --product $(DEMO)
	@if [ -z "$${OPENBLAS_CORETYPE+set}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then \
	  if grep -qw avx512_bf16 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Cooperlake; \
	  else export OPENBLAS_CORETYPE=SkylakeX; fi; \
	  echo "make demo: OPENBLAS_CORETYPE=$$OPENBLAS_CORETYPE (AVX-512 CPU, variable was unset)"; \
	fi; \
	swift run -c release --skip-build $(DEMO)

# OpenBLAS's threaded build is not safe to call from several threads at once with more than one
# BLAS thread each, and Swift Testing runs tests in parallel: one BLAS thread per call unless the
# caller chose otherwise.
test:
	$(ensure_openblas)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} swift test

# Every engine path on two threads with every tensor split between them, under ThreadSanitizer
# (a separate instrumented debug build; halt on the first report).
tsan:
	$(ensure_openblas)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" swift test --sanitize=thread --filter EngineThreadSafety
