#!/usr/bin/env bash
# Session 7, one GPU (H100 or H200; files are tagged by the GPU). Only
# one-GPU machines were lent, so the multi-GPU frameworks' own costs are
# measured here without communication, in one go:
#
#     OUT=/some/dir hardware/calibration/training/run_s7_1gpu.sh [suites]
#
#  1. bench_framework.py --only-layer-host, one process: the host time of one
#     eager layer's forward + backward for the Llama and GPT blocks, in bf16
#     and under AMP (and the MoE layer beside the dense one);
#  2. the one-rank wrappers (configs.ONE_RANK_CONFIGS: DDP, FSDP2, and the
#     one-stage GPipe and 1F1B pipelining schedules over a process group of
#     one rank) beside plain runs of the same work, and three of session 2's
#     single-GPU configs as this instance's baseline;
#  3. per-kernel profiles with the GPU's idle gaps of four of them;
#  4. with the argument "suites": the calibration suites "gap" and "loss"
#     (so that an H200 calibration stops borrowing H100's figures);
#  5. with the argument "wrappers": bench_framework.py --only-wrapper-host
#     (DDP's, FSDP2's and the one-stage pipelining schedules' host time) and
#     profiles of the FSDP2 one-rank run furthest from its plain twin.
# Files land in $OUT; nothing is fitted here. Every step has its own bound.
SESSION=s7
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
BENCH=hardware/calibration/bench
TRAIN=hardware/calibration/training
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true

if [ "${1:-}" = "suites" ]; then
  echo "=== 4. the gap and loss suites ==="
  timeout -k 5 150 python3 "$BENCH/run_all.py" --out "$OUT" --suites gap --tag "$TAG-gap" \
    --note "session 7: the eager launch gap (run_s7_1gpu.sh suites)" 2>&1 | grep -E "eager gap|rror"
  timeout -k 5 240 python3 "$BENCH/bench_loss.py" --tag "$TAG" --out "$OUT/$TAG-loss.json" 2>&1 | tail -15
  exit 0
fi

if [ "${1:-}" = "wrappers" ]; then
  echo "=== 5. DDP's, FSDP2's and the pipelining schedules' host time (one rank) ==="
  timeout -k 5 150 torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" --only-wrapper-host \
    --out /tmp/fw.json 2>&1 | grep -v "^W\|OMP_NUM"
  python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-wrapper-framework.json" "$TAG" \
    "hardware/calibration/bench/bench_framework.py --only-wrapper-host under torchrun --nproc_per_node 1, session 7 (hardware/calibration/training/run_s7_1gpu.sh wrappers)"
  [ -n "${NO_PROFILES:-}" ] && exit 0
  echo "=== 6. profiles of the FSDP2 run furthest from its plain twin ==="
  mkdir -p /tmp/prof2
  timeout -k 5 100 python3 "$TRAIN/profile_configs.py" --out /tmp/prof2 \
    --only s7_fsdp1_llama1792_mp_s4096,s7_plain_llama1792_bf16_s4096 > /tmp/prof2.log 2>&1
  PROFILES=/tmp/prof2 NAME=wrapper-profiles python3 "$TRAIN/summarize_profiles.py" "$OUT"
  exit 0
fi

echo "=== 1. eager layer host time (one process) ==="
timeout -k 5 120 torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" --only-layer-host \
  --out /tmp/fw.json 2>&1 | grep -v "^W\|OMP_NUM"
python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-framework.json" "$TAG" \
  "hardware/calibration/bench/bench_framework.py --only-layer-host under torchrun --nproc_per_node 1, session 7 (hardware/calibration/training/run_s7_1gpu.sh)"

echo "=== 2. one-rank wrappers and plain runs ==="
NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(['1g_llama2k_bf16', '1g_llama2k_amp', '1g_gpt1k_amp'] + [c['name'] for c in C.ONE_RANK_CONFIGS]))")"
timeout -k 10 300 python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-one-rank" \
  --only "$NAMES" --serial --deadline-s 260 \
  --note "session 7: DDP, FSDP2 and pipelining over one rank beside plain runs (run_s7_1gpu.sh)" 2>&1 | grep "done "

echo "=== 3. per-kernel profiles with idle gaps ==="
mkdir -p /tmp/prof
timeout -k 5 130 python3 "$TRAIN/profile_configs.py" --out /tmp/prof \
  --only s7_pp1_gpipe_llama2k_bf16,s7_plain_llama2k_bf16_mb2_ga8,s7_fsdp1_llama2k_mp,s7_ddp1_llama2k_bf16 \
  > /tmp/prof.log 2>&1
PROFILES=/tmp/prof NAME=one-rank-profiles python3 "$TRAIN/summarize_profiles.py" "$OUT"
grep -i "error\|Traceback" /tmp/prof.log | head -5
