#!/usr/bin/env bash
# Session 6, last one-GPU call: HOLDOUT7 (configs.py HOLDOUT7_CONFIGS),
# serially. Its results go to files only (this script prints how many ran,
# no step time or memory), so that the predictions committed before the call
# stay the first look at them.
#
#     OUT=/some/dir hardware/calibration/training/run_s6_holdout7.sh
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
TRAIN=hardware/calibration/training
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true

echo "=== HOLDOUT7 (results to files only) ==="
NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(c['name'] for c in C.HOLDOUT7_CONFIGS))")"
timeout -k 10 330 python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-holdout7" \
  --only "$NAMES" --serial --deadline-s 290 \
  --note "HOLDOUT7: single-GPU held-out set, committed with its predictions before it ran" > "$OUT/holdout7.log" 2>&1
python3 - "$OUT/$TAG-holdout7-training.json" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("HOLDOUT7: no result file:", e); sys.exit(0)
runs = doc.get("runs", [])
print(f"HOLDOUT7: {sum(r.get('status') == 'ok' for r in runs)} of {len(runs)} runs ok, "
      f"{len(doc.get('not_run', []))} not run (times not shown)")
PY

ls "$OUT"
