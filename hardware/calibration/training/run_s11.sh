#!/usr/bin/env bash
# Session 11, one GPU, one device call, most valuable first, each step
# bounded and skipped when the call's time (CALL_S, default 570 s) runs short:
#   1. the eager layers' host time with and without full recompute, each
#      also with its forward alone (bench_framework.py --only-recompute-host:
#      host.eager_blocks' recompute ratios and host.forward_shares);
#   2. a whole tiny training step's host time (--only-step-host);
#   3. HOLDOUT10 (results to files only: its predictions are computed from
#      steps 1-2 and committed before the result file is opened);
#   4. on an H200: HOLDOUT9 (its H200 predictions are committed) and the
#      data-parallel wrappers' host time (--only-wrapper-host).
#
#     OUT=/some/dir hardware/calibration/training/run_s11.sh
SESSION=s11
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
BENCH=hardware/calibration/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.cuda.nccl.version())" || true
left() { echo $((${CALL_S:-570} - SECONDS)); }
# bound STEP_MAX: the smaller of STEP_MAX and what is left less 10 s
bound() { local l; l=$(( $(left) - 10 )); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
# framework MAX_S FLAG NAME NOTE: bench_framework.py FLAG on one rank into $OUT/$TAG-NAME.json
framework() {
  echo "=== bench_framework.py $2 ==="
  timeout -k 5 "$(bound "$1")" torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" \
    "$2" --out "/tmp/$3.json" 2>&1 | grep -v "^W\|OMP_NUM\|^\*\*\*"
  python3 "$BENCH/framework_doc.py" "/tmp/$3.json" "$OUT/$TAG-$3.json" "$TAG" \
    "hardware/calibration/bench/bench_framework.py $2 under torchrun --nproc_per_node 1, session 11 (hardware/calibration/training/run_s11.sh)"
  echo "[${SECONDS}s]"
}

framework 60 --only-recompute-host recompute-framework
[ "$(left)" -gt 60 ] && framework 60 --only-step-host step-framework

if [ "$(left)" -gt 100 ]; then
  HELD_OUT_DEADLINE_S=$(bound 190) run_held_out HOLDOUT10 HOLDOUT10_CONFIGS holdout10 \
    "HOLDOUT10: single-GPU held-out set (full recompute on small layers), session 11; predictions from the same call's benchmarks, committed before this file was opened"
  echo "[${SECONDS}s]"
fi

if [ "$GPU" = h200 ] && [ "$(left)" -gt 120 ]; then
  HELD_OUT_DEADLINE_S=$(bound 210) run_held_out HOLDOUT9 HOLDOUT9_CONFIGS holdout9 \
    "HOLDOUT9 on H200: its H200 predictions were committed in session 10 before this ran (session 11)"
  echo "[${SECONDS}s]"
fi
if [ "$GPU" = h200 ] && [ "$(left)" -gt 40 ]; then
  framework 60 --only-wrapper-host wrapper-framework
fi
