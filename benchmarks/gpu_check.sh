#!/usr/bin/env bash
# The JAX backend on one GPU, in one prepared run (issue 21), from the repository root:
#   (a) the paper preset (CIFAR-shaped random data) at K = 64, 256, 16: seconds per
#       fully trained candidate (bench_population.py --backend jax --throughput), the
#       network in float32 and in bfloat16 (--precision) at each K;
#   (c) the default preset's search budget (--particles 50 --steps 6 --mutations 6)
#       with its wall time, evaluations and GPU busy fraction (nvidia-smi sampled);
#   (p) where the trainer's step goes at the paper preset, K = 64: the network, the
#       interpreter (as compiled now, and as before the first GPU run), the whole step
#       in float32 and bfloat16 (benchmarks/profile_jax_step.py);
#   (b) the stand-alone anchor (benchmarks/anchor_gpu_population_jax.py) for the ratio.
# Wheels the machine lacks travel in .whl/ (installed with pip --target /tmp/site),
# cached MNIST-1D in .whl/cache. Everything is written under $OUT.
# TINY=1: the same steps at tiny sizes (a CPU smoke test of the script); SKIP_BENCH=1,
# SKIP_PROFILE=1, SKIP_ANCHOR=1 leave (a), (p) or (b) out; T_BENCH, T_SEARCH, T_PROFILE,
# T_ANCHOR: their time limits. The search's report (written only when it finishes) says
# how much of its wall time the compiled training loop took — the device's share; for
# the whole default budget with its report: SKIP_BENCH=1 SKIP_PROFILE=1 SKIP_ANCHOR=1
# T_SEARCH=450 (≈ 330 s measured-and-extrapolated on the H200, 2026-12-04).
set -u
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
# one XLA compile per program shape, shared by the evaluator copies a search makes
export JAX_COMPILATION_CACHE_DIR=/tmp/jax-cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
SITE=/tmp/site
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl || exit 1
    export PYTHONPATH="$PWD:$SITE"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export DEAP_NOS_CACHE=/tmp/nos-cache
mkdir -p "$DEAP_NOS_CACHE"
cp .whl/cache/*.npz "$DEAP_NOS_CACHE"/ 2>/dev/null || true
LOG="$OUT/gpu_check.log"
say() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$LOG"; }

if [ "${TINY:-0}" = 1 ]; then
    BENCH="--preset default --steps 60 --sweep-steps 10 --throughput 5 --slots 2 4 --precision float32 bfloat16"
    ANCHOR="--preset default --conv patches --slots 2 --repeats 1 --chunk 5"
    SEARCH="--particles 2 --steps 1 --mutations 1 --factor 2 --train-steps 60 --slots 4 --workers 1"
    PROFILE="--slots 2 --repeats 2 --shape 16 16 3 --batch 32 --base 8"
    T_BENCH=600 T_ANCHOR=300 T_SEARCH=600 T_PROFILE=300
else
    BENCH="--preset paper --random-data --throughput ${BENCH_STEPS:-30} --slots 64 256 16 --precision float32 bfloat16"
    ANCHOR="--preset paper --conv patches --slots 64 --repeats 1"
    SEARCH="--particles 50 --steps 6 --mutations 6 --slots ${SEARCH_SLOTS:-256} --workers 1"
    PROFILE="--slots 64 --repeats 5"
    T_BENCH=${T_BENCH:-200} T_ANCHOR=${T_ANCHOR:-40} T_SEARCH=${T_SEARCH:-270}
    T_PROFILE=${T_PROFILE:-100}
fi

say "devices"
(nvidia-smi -L; python3 -c "import jax, sys; print('jax', jax.__version__, jax.devices()); print(sys.version)"
 python3 -c "import deap_nos, sys; print('tensorflow imported:', 'tensorflow' in sys.modules)") 2>&1 | tee -a "$LOG"

SAMPLER=""
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits \
        -lms 500 >> "$OUT/gpu_util.csv" 2>/dev/null &
    SAMPLER=$!
fi
mark() { echo "# $(date -u +%H:%M:%S.%N) $*" >> "$OUT/gpu_util.csv"; }

if [ "${SKIP_BENCH:-0}" != 1 ]; then
say "(a) bench_population.py --backend jax $BENCH"
mark "bench start"
timeout "$T_BENCH" python3 benchmarks/bench_population.py --backend jax --single 0 $BENCH \
    2>&1 | grep -v -E "^(WARNING|I0000|E0000|W0000)" | tee "$OUT/bench_paper.txt"
mark "bench end"
fi

say "(c) deap-nos search --backend jax $SEARCH --no-verdict"
mark "search start"
START=$(date +%s.%N)
timeout "$T_SEARCH" python3 -m deap_nos.cli search --backend jax $SEARCH --no-verdict \
    --run-dir /tmp/gpu-search --quiet > "$OUT/search_report.md" 2> "$OUT/search_stderr.txt"
RC=$?
END=$(date +%s.%N)
mark "search end"
python3 - "$START" "$END" "$RC" "$OUT/gpu_util.csv" <<'PY' 2>&1 | tee -a "$LOG"
import sys
start, end, rc, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"search: exit {rc}, {end - start:.1f} s wall")
rows, inside = [], False
for line in open(path):
    if line.startswith("# "):
        inside = "search start" in line or (inside and "search end" not in line)
        continue
    if inside:
        try:
            rows.append(float(line.split(",")[1]))
        except (IndexError, ValueError):
            pass
if rows:
    busy = sum(r > 0 for r in rows) / len(rows)
    print(f"GPU utilization during the search: mean {sum(rows) / len(rows):.1f} %, "
          f"samples > 0 %: {busy:.0%} ({len(rows)} samples)")
PY
grep -E "evaluations \(|Training in" "$OUT/search_report.md" | head -3 | tee -a "$LOG"
cp /tmp/gpu-search/evaluations.log "$OUT/" 2>/dev/null || true

if [ "${SKIP_PROFILE:-0}" != 1 ]; then
say "(p) profile_jax_step.py $PROFILE"
mark "profile start"
timeout "$T_PROFILE" python3 benchmarks/profile_jax_step.py $PROFILE 2>&1 \
    | grep -v -E "^(WARNING|I0000|E0000|W0000)" | tee "$OUT/profile.txt"
mark "profile end"
fi

if [ "${SKIP_ANCHOR:-0}" != 1 ]; then
say "(b) anchor $ANCHOR"
mark "anchor start"
timeout "$T_ANCHOR" python3 benchmarks/anchor_gpu_population_jax.py $ANCHOR 2>&1 \
    | tee "$OUT/anchor.txt"
mark "anchor end"
fi

[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
say "done"
