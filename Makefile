# Graft: the two commands of the README.
#   make demo   install OpenBLAS and Open MPI if missing, build in release, run the main example
#   make test   install OpenBLAS and Open MPI if missing, run the test suite (debug build)
#   make tsan   the optimizer engine's threaded paths and split matrix products under ThreadSanitizer (CI runs it after make test)
#   make mpi-test  install Open MPI if missing, run the distributed tests on 2 and 3 ranks (mpirun), then alone

SHELL := /bin/bash
DEMO ?= RobustFineTune

.PHONY: demo test tsan mpi-test mpi-example-check

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

# Installs Open MPI (libopenmpi-dev: mpi.h and the `ompi-c` pkg-config entry; openmpi-bin:
# mpirun) when either is missing. Only GraftDistributed links MPI, but the test suite builds it.
define ensure_openmpi
	@if ! pkg-config --exists ompi-c 2>/dev/null || ! command -v mpirun >/dev/null 2>&1; then \
	  echo "Open MPI headers, pkg-config entry or mpirun missing: installing libopenmpi-dev and openmpi-bin"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; \
	  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "error: not root and sudo is unavailable; install libopenmpi-dev and openmpi-bin" >&2; exit 1; fi; \
	  $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libopenmpi-dev openmpi-bin pkg-config; \
	fi
endef

# OPENBLAS_CORETYPE is read when OpenBLAS loads. Debian's 0.3.21 falls back to slow generic
# kernels on some AVX-512 CPUs it does not recognise, so the demo (never the tests) picks an
# AVX-512 kernel family when the variable is unset: Cooperlake when the CPU has
# AVX512_BF16, else SkylakeX. An existing value, even an empty one, is never overridden.
demo:
	$(ensure_openblas)
	$(ensure_openmpi)
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
	$(ensure_openmpi)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} swift test

# Every engine path on two threads with every tensor split between them, under ThreadSanitizer
# (a separate instrumented debug build; halt on the first report).
tsan:
	$(ensure_openblas)
	$(ensure_openmpi)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" swift test --sanitize=thread --filter "EngineThreadSafety|ThreadPool|splitProduct|aProductInsideAParallelKernel|emptyTensorsLoadOnSeveralThreads"

# The distributed tests (GraftDistributedTests) under Open MPI on loopback: 2 ranks, 3 ranks (an
# uneven split), then one process without mpirun. Each run writes a sharded checkpoint to
# MPI_CHECKPOINTS and resumes every checkpoint found there; GRAFT_MPI_RESUME_FROM makes the later
# runs fail unless the 2-rank (and 3-rank) checkpoints are there. Shared memory only (btl
# self,vader; no single-copy mechanism, which needs ptrace rights containers often lack); as
# root, mpirun needs --allow-run-as-root; --timeout ends a deadlocked run. The test binary is run directly: `swift test` would
# take SwiftPM's build lock once per rank.
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe --timeout 900 --mca btl self,vader --mca btl_vader_single_copy_mechanism none
MPI_CHECKPOINTS ?= .build/mpi-test-checkpoints
MPI_TESTS = .build/debug/GraftPackageTests.xctest --testing-library swift-testing --filter GraftDistributedTests
mpi-test:
	$(ensure_openblas)
	$(ensure_openmpi)
	swift build --build-tests
	rm -rf $(MPI_CHECKPOINTS)
	$(MPIRUN) -np 2 -x OPENBLAS_NUM_THREADS=1 -x GRAFT_MPI_CHECKPOINT_DIR=$(MPI_CHECKPOINTS) $(MPI_TESTS)
	$(MPIRUN) -np 3 -x OPENBLAS_NUM_THREADS=1 -x GRAFT_MPI_CHECKPOINT_DIR=$(MPI_CHECKPOINTS) -x GRAFT_MPI_RESUME_FROM=2 $(MPI_TESTS)
	OPENBLAS_NUM_THREADS=1 GRAFT_MPI_CHECKPOINT_DIR=$(MPI_CHECKPOINTS) GRAFT_MPI_RESUME_FROM=2,3 $(MPI_TESTS)
	$(MAKE) mpi-example-check

# End to end: RobustFineTune on 2 ranks gives exactly (every accuracy, every ω) what one process
# gives with 2 micro-batches, the same float32 additions (issue 17). A short run (debug build,
# --quick, 4 methods); results.json without its timings is compared byte for byte.
MPI_EXAMPLE = .build/debug/RobustFineTune --quick --threads 1 --no-cache --methods ft,wise-ft,digrap,ftp
MPI_EXAMPLE_OUT ?= .build/mpi-example
mpi-example-check:
	swift build --product RobustFineTune
	rm -rf $(MPI_EXAMPLE_OUT)
	OPENBLAS_NUM_THREADS=1 $(MPI_EXAMPLE) --micro-batches 2 --output $(MPI_EXAMPLE_OUT)/one-process >/dev/null
	$(MPIRUN) -np 2 -x OPENBLAS_NUM_THREADS=1 $(MPI_EXAMPLE) --output $(MPI_EXAMPLE_OUT)/two-ranks >/dev/null
	for run in one-process two-ranks; do \
	  awk -f .ci/results-without-timings.awk $(MPI_EXAMPLE_OUT)/$$run/results.json > $(MPI_EXAMPLE_OUT)/$$run.compared.json; done
	diff $(MPI_EXAMPLE_OUT)/one-process.compared.json $(MPI_EXAMPLE_OUT)/two-ranks.compared.json
	@echo "mpi-example-check: 2 ranks and one process with 2 micro-batches wrote the same results.json (timings aside)"
