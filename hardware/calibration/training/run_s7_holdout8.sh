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
TRAIN=hardware/calibration/training
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true

echo "=== HOLDOUT8 (results to files only) ==="
NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(c['name'] for c in C.HOLDOUT8_CONFIGS))")"
timeout -k 10 300 python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-holdout8" \
  --only "$NAMES" --serial --deadline-s 250 \
  --note "HOLDOUT8: single-GPU held-out set, committed with its predictions before it ran" > "$OUT/holdout8.log" 2>&1
python3 - "$OUT/$TAG-holdout8-training.json" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("HOLDOUT8: no result file:", e); sys.exit(0)
runs = doc.get("runs", [])
print(f"HOLDOUT8: {sum(r.get('status') == 'ok' for r in runs)} of {len(runs)} runs ok, "
      f"{len(doc.get('not_run', []))} not run (times not shown)")
PY
NO_PROFILES=1 bash "$TRAIN/run_s7_1gpu.sh" wrappers
