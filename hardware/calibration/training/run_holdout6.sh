#!/usr/bin/env bash
# Runs the third held-out set (HOLDOUT6_CONFIGS in configs.py) serially on one
# GPU and prints a summary table:
#
#     hardware/calibration/training/run_holdout6.sh
#
# Output: hardware/calibration/data/h200-x1-s5-training.json (rewritten by
# run_training.py after every job, so whatever finished is kept even if the
# driver is stopped). A config that fails or times out is recorded with its
# log tail and the rest go on (run_training.py runs each in its own process
# group with the config's timeout_s, 60 s here).
#
# Time: the 1-GPU jobs of earlier sets took 8-13 s of job wall time each
# (torch start-up included; 27-29 s only for the compiled one, and none of
# these is compiled), so the 8 configs should take about 1.5-2 minutes. The
# bounds: 60 s per config, no new config started after 420 s
# (--deadline-s), and the whole driver stopped at 500 s, so the command ends
# well within 9 minutes whatever happens.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT" || exit 1
OUT=hardware/calibration/data
TAG=h200-x1-s5
TRAIN=hardware/calibration/training
NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(c['name'] for c in C.HOLDOUT6_CONFIGS))")" || {
  echo "run_holdout6: could not read HOLDOUT6_CONFIGS from $TRAIN/configs.py" >&2
  exit 1
}
echo "run_holdout6: $(echo "$NAMES" | tr ',' '\n' | wc -l) configs: $NAMES"
nvidia-smi --query-gpu=index,name,memory.total,memory.used --format=csv,noheader 2>/dev/null || true

export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
timeout -k 10 500 python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG" \
  --only "$NAMES" --serial --deadline-s 420 \
  --note "HOLDOUT6: single-GPU held-out set, committed before it ran and before the eager memory-accounting changes"
rc=$?
[ "$rc" -ne 0 ] && echo "run_holdout6: driver exited with $rc (124 = stopped at 500 s); the file keeps the finished jobs"

python3 - "$OUT/$TAG-training.json" "$NAMES" <<'EOF'
import json, sys
path, names = sys.argv[1], sys.argv[2].split(",")
try:
    doc = json.load(open(path))
except Exception as e:  # noqa: BLE001
    print(f"run_holdout6: no result file {path}: {e}")
    sys.exit(1)
runs = {r["config"]["name"]: r for r in doc.get("runs", [])}
not_run = {x["name"]: x["reason"] for x in doc.get("not_run", [])}
print(f"\n{'config':34s} {'status':8s} {'step ms':>8s} {'p10-p90 ms':>13s} {'peak GiB':>9s} {'job s':>6s}")
n_ok = 0
for n in names:
    r = runs.get(n)
    if r is None:
        print(f"{n:34s} {'not run':8s} {not_run.get(n, 'no record')}")
        continue
    if r.get("status") == "ok":
        n_ok += 1
        st = r["step_time"]
        print(f"{n:34s} {'ok':8s} {r['step_time_s'] * 1e3:8.1f} {st['time_p10_s'] * 1e3:6.1f}-{st['time_p90_s'] * 1e3:6.1f} "
              f"{r['peak_alloc_steady_bytes_max_over_ranks'] / 2**30:9.2f} {r.get('job_wall_s', 0):6.1f}")
    else:
        err = (r.get("error") or r.get("log_tail") or "").strip().splitlines()
        print(f"{n:34s} {r.get('status', '?'):8s} {err[-1][:120] if err else ''}")
print(f"\n{n_ok}/{len(names)} ok; results in {path}")
EOF
