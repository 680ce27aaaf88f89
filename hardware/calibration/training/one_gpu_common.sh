# Sourced by the one-GPU run scripts (run_s6_*.sh, run_s7_*.sh): from the
# repository's root, with $OUT set, and TAG = <gpu>-x1-<session> after the GPU
# the driver reports (h100 or h200) and the caller's SESSION (default s6), so
# that every file says which GPU and which session measured it.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1
: "${OUT:?set OUT to the output directory}"
case "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)" in
  *H200*) GPU=h200 ;; *H100*) GPU=h100 ;; *) GPU=gpu ;;
esac
export PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}" TAG=$GPU-x1-${SESSION:-s6}

# run_held_out LABEL CONFIG_LIST TAG_SUFFIX NOTE: runs configs.py's CONFIG_LIST
# serially with results to files only, and prints how many ran (no step time
# or memory), so that the predictions committed before the call stay the
# first look at them.
run_held_out() {
  local label=$1 list=$2 suffix=$3 note=$4
  local train=hardware/calibration/training names
  echo "=== $label (results to files only) ==="
  names="$(python3 -c "import sys; sys.path.insert(0, '$train'); import configs as C; print(','.join(c['name'] for c in C.$list))")"
  timeout -k 10 300 python3 "$train/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-$suffix" \
    --only "$names" --serial --deadline-s "${HELD_OUT_DEADLINE_S:-290}" --note "$note" > "$OUT/$suffix.log" 2>&1
  python3 - "$OUT/$TAG-$suffix-training.json" "$label" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print(sys.argv[2] + ": no result file:", e); sys.exit(0)
runs = doc.get("runs", [])
print(f"{sys.argv[2]}: {sum(r.get('status') == 'ok' for r in runs)} of {len(runs)} runs ok, "
      f"{len(doc.get('not_run', []))} not run (times not shown)")
PY
}
