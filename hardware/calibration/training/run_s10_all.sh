#!/usr/bin/env bash
# Session 10, one GPU, everything in one device call, most valuable first,
# each step bounded and skipped when the call's time (CALL_S, default 570 s) runs short:
#   1. HOLDOUT9 (results to files only: its predictions are committed);
#   2. fused AdamW over embedding-sized tables (bench_adamw_tables.py);
#   3. a gap profile of the 1-GPU MoE run (1g_moe_e8k2_bf16);
#   4. HOLDOUT8's miss, its twins (DIAG8_CONFIGS) and its profile;
#   5. on an H200: the data-parallel wrappers' host time.
#
#     OUT=/some/dir hardware/calibration/training/run_s10_all.sh
SESSION=s10
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
TRAIN=hardware/calibration/training
BENCH=hardware/calibration/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.cuda.nccl.version())" || true
left() { echo $((${CALL_S:-570} - SECONDS)); }
# bound STEP_MAX: the smaller of STEP_MAX and what is left less 10 s
bound() { local l; l=$(( $(left) - 10 )); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
# profile_gaps MAX_S DIR CONFIG NAME: a per-kernel profile with idle gaps of
# CONFIG (log $OUT/DIR.log), summarized into $OUT/$TAG-NAME.json
profile_gaps() {
  mkdir -p "/tmp/$2"
  timeout -k 5 "$(bound "$1")" python3 "$TRAIN/profile_configs.py" --out "/tmp/$2" --only "$3" > "$OUT/$2.log" 2>&1
  PROFILES="/tmp/$2" NAME="$4" python3 "$TRAIN/summarize_profiles.py" "$OUT"
}

HELD_OUT_DEADLINE_S=210 run_held_out HOLDOUT9 HOLDOUT9_CONFIGS holdout9 \
  "HOLDOUT9: single-GPU held-out set, committed with its predictions before it ran (session 10)"
echo "[${SECONDS}s]"

if [ "$(left)" -gt 60 ]; then
  echo "=== 2. fused AdamW over embedding-sized tensors ==="
  timeout -k 5 "$(bound 100)" python3 "$BENCH/bench_adamw_tables.py" --tag "$TAG" \
    --out "$OUT/$TAG-adamw-tables.json" 2>&1 | grep "adamw\|rror"
  echo "[${SECONDS}s]"
fi

if [ "$(left)" -gt 50 ]; then
  echo "=== 3. the 1-GPU MoE run's idle gaps ==="
  profile_gaps 50 prof4 1g_moe_e8k2_bf16 moe-gap-profiles
  echo "[${SECONDS}s]"
fi

if [ "$(left)" -gt 80 ]; then
  echo "=== 4. HOLDOUT8's miss and its twins ==="
  NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(c['name'] for c in C.DIAG8_CONFIGS))")"
  timeout -k 10 "$(bound 170)" python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-diag" \
    --only "$NAMES" --serial --deadline-s "$(bound 150)" \
    --note "session 10: HOLDOUT8's miss and its twins (run_s10_all.sh)" 2>&1 | grep "done \|  d8_"
  echo "[${SECONDS}s]"
fi

if [ "$(left)" -gt 40 ]; then
  echo "=== 4b. a per-kernel profile of the miss with idle gaps ==="
  profile_gaps 40 prof3 d8_1g_llama1280_v64k_amp_ac_ga3 diag-profiles
  echo "[${SECONDS}s]"
fi

if [ "$GPU" = h200 ] && [ "$(left)" -gt 40 ]; then
  echo "=== 5. DDP's, FSDP2's and the pipelining schedules' host time (one rank, H200) ==="
  timeout -k 5 "$(bound 60)" torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" \
    --only-wrapper-host --out /tmp/fw.json 2>&1 | grep -v "^W\|OMP_NUM"
  python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-wrapper-framework.json" "$TAG" \
    "hardware/calibration/bench/bench_framework.py --only-wrapper-host under torchrun --nproc_per_node 1, session 10 (hardware/calibration/training/run_s10_all.sh)"
  echo "[${SECONDS}s]"
fi
