#!/usr/bin/env bash
# Session 7: HOLDOUT8 (configs.py HOLDOUT8_CONFIGS), serially, results to
# files only (this script prints how many ran, no step time or memory), so
# that the predictions committed before the call stay the first look at
# them; then, in the same call, run_s7_1gpu.sh's "wrappers" part (DDP's,
# FSDP2's and the pipelining schedules' host time, without its profiles):
#
#     OUT=/some/dir hardware/calibration/training/run_s7_holdout8.sh
SESSION=s7
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
HELD_OUT_DEADLINE_S=${HELD_OUT_DEADLINE_S:-250} run_held_out HOLDOUT8 HOLDOUT8_CONFIGS holdout8 \
  "HOLDOUT8: single-GPU held-out set, committed with its predictions before it ran"
# ONLY_HELD_OUT=1: no wrapper bench (a short device call)
[ -n "${ONLY_HELD_OUT:-}" ] || NO_PROFILES=1 bash hardware/calibration/training/run_s7_1gpu.sh wrappers
