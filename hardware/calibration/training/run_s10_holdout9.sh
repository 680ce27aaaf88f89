#!/usr/bin/env bash
# Session 10: HOLDOUT9 (configs.py HOLDOUT9_CONFIGS), serially, results to
# files only (this script prints how many ran, no step time or memory), so
# that the predictions committed before the call (docs/validation.md,
# "Session 10: HOLDOUT9") stay the first look at them.
#
#     OUT=/some/dir hardware/calibration/training/run_s10_holdout9.sh
SESSION=s10
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
HELD_OUT_DEADLINE_S=${HELD_OUT_DEADLINE_S:-280} run_held_out HOLDOUT9 HOLDOUT9_CONFIGS holdout9 \
  "HOLDOUT9: single-GPU held-out set, committed with its predictions before it ran (session 10)"
