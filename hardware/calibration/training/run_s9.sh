#!/usr/bin/env bash
# Session 9, one GPU, one call: the fused AdamW tables benchmark first (the
# optimizer's remaining miss: half-billion-element vocabulary tables ran
# 6-22% slower per parameter than the 16M-element chunks the fit uses), then
# run_s8_diag.sh's steps 1-2 (HOLDOUT8's miss, its twins and its profile).
#
#     OUT=/some/dir hardware/calibration/training/run_s9.sh
SESSION=${SESSION:-s9}
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
echo "=== A. fused AdamW over embedding-sized tensors ==="
timeout -k 5 150 python3 hardware/calibration/bench/bench_adamw_tables.py --tag "$TAG" \
  --out "$OUT/$TAG-adamw-tables.json" 2>&1 | grep "adamw\|rror"
echo "=== B. HOLDOUT8's miss ==="
ADAMW_TABLES=0 SESSION=$SESSION bash hardware/calibration/training/run_s8_diag.sh
