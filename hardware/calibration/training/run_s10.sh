#!/usr/bin/env bash
# Session 10, one GPU, one call: run_s9.sh (fused AdamW over embedding-sized
# tables; HOLDOUT8's miss, its twins and its profile), then, on an H200, the
# data-parallel wrappers' host time (bench_framework.py --only-wrapper-host),
# so that the H200 calibrations stop borrowing H100's wrapper ratios; last, a
# per-kernel profile with idle gaps of the 1-GPU MoE run (1g_moe_e8k2_bf16:
# every MoE run is 1-11% slower than predicted while its kernels add up to
# within 1%, so the missing time is the GPU's idle time; where is it?).
#
#     OUT=/some/dir hardware/calibration/training/run_s10.sh
SESSION=s10
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
BENCH=hardware/calibration/bench
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.cuda.nccl.version())" || true
if [ "$GPU" = h200 ]; then
  echo "=== W. DDP's, FSDP2's and the pipelining schedules' host time (one rank, H200) ==="
  timeout -k 5 100 torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" --only-wrapper-host \
    --out /tmp/fw.json 2>&1 | grep -v "^W\|OMP_NUM"
  python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-wrapper-framework.json" "$TAG" \
    "hardware/calibration/bench/bench_framework.py --only-wrapper-host under torchrun --nproc_per_node 1, session 10 (hardware/calibration/training/run_s10.sh)"
fi
SESSION=s10 bash hardware/calibration/training/run_s9.sh
echo "=== M. the 1-GPU MoE run's idle gaps ==="
mkdir -p /tmp/prof4
timeout -k 5 50 python3 hardware/calibration/training/profile_configs.py --out /tmp/prof4 \
  --only 1g_moe_e8k2_bf16 > "$OUT/prof4.log" 2>&1
PROFILES=/tmp/prof4 NAME=moe-gap-profiles python3 hardware/calibration/training/summarize_profiles.py "$OUT"
