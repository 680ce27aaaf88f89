#!/usr/bin/env bash
# Session 6, last one-GPU call: HOLDOUT7 (configs.py HOLDOUT7_CONFIGS),
# serially. Its results go to files only (this script prints how many ran,
# no step time or memory), so that the predictions committed before the call
# stay the first look at them.
#
#     OUT=/some/dir hardware/calibration/training/run_s6_holdout7.sh
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
run_held_out HOLDOUT7 HOLDOUT7_CONFIGS holdout7 \
  "HOLDOUT7: single-GPU held-out set, committed with its predictions before it ran"
ls "$OUT"
