#!/usr/bin/env bash
# Session 10, one GPU, one call: run_s9.sh (fused AdamW over embedding-sized
# tables; HOLDOUT8's miss, its twins and its profile), then, on an H200, the
# data-parallel wrappers' host time (bench_framework.py --only-wrapper-host),
# so that the H200 calibrations stop borrowing H100's wrapper ratios.
#
#     OUT=/some/dir hardware/calibration/training/run_s10.sh
SESSION=s10
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
BENCH=hardware/calibration/bench
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.cuda.nccl.version())" || true
if [ "$GPU" = h200 ]; then
  echo "=== W. DDP's, FSDP2's and the pipelining schedules' host time (one rank, H200) ==="
  timeout -k 5 150 torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" --only-wrapper-host \
    --out /tmp/fw.json 2>&1 | grep -v "^W\|OMP_NUM"
  python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-wrapper-framework.json" "$TAG" \
    "hardware/calibration/bench/bench_framework.py --only-wrapper-host under torchrun --nproc_per_node 1, session 10 (hardware/calibration/training/run_s10.sh)"
fi
SESSION=s10 bash hardware/calibration/training/run_s9.sh
