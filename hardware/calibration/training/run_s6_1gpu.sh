#!/usr/bin/env bash
# Session 6, first one-GPU call (H100 or H200; files are tagged by the GPU): the measurements the single-GPU eager model
# still lacked on H100, in one go, printing a summary at the end:
#
#     OUT=/some/dir hardware/calibration/training/run_s6_1gpu.sh
#
#  1. bench_framework.py --only-moe-host with one process: the host time of
#     one eager dense layer and one eager MoE layer (h100-x1 had no measured
#     eager layer, so it charged the bare launch cost);
#  2. bench_loss.py: the eager loss (cross_entropy on logits upcast to fp32)
#     kernel by kernel over tokens x vocabulary;
#  3. the twelve single-GPU configurations of session 2 (CONFIGS' 1g_*) again
#     on this instance, to see how far H100 steps repeat across instances;
#  4. per-kernel profiles (one profiled step after two profiled warm-ups) of
#     three of them: a Llama, a GPT (vocabulary 50,304) and the 128K vocabulary.
# Files land in $OUT (the device tool brings them back); nothing is fitted here.
# Time: ~30 s + ~60 s + 12 x 10-30 s + 3 x 15 s; every step has its own bound.
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
BENCH=hardware/calibration/bench
TRAIN=hardware/calibration/training
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true

echo "=== 1. eager layer host time (one process) ==="
timeout -k 5 120 torchrun --standalone --nproc_per_node 1 "$BENCH/bench_framework.py" --only-moe-host \
  --out /tmp/fw.json
python3 "$BENCH/framework_doc.py" /tmp/fw.json "$OUT/$TAG-framework.json" "$TAG" \
  "hardware/calibration/bench/bench_framework.py --only-moe-host under torchrun --nproc_per_node 1, session 6 (hardware/calibration/training/run_s6_1gpu.sh)"

echo "=== 2. eager loss kernels ==="
timeout -k 5 240 python3 "$BENCH/bench_loss.py" --tag "$TAG" --out "$OUT/$TAG-loss.json"

echo "=== 3. session 2's single-GPU configs again ==="
NAMES="$(python3 -c "import sys; sys.path.insert(0, '$TRAIN'); import configs as C; print(','.join(c['name'] for c in C.CONFIGS if c['name'].startswith('1g_') and c['n_gpus'] == 1 and 'moe' not in c['name']))")"
echo "configs: $NAMES"
timeout -k 10 330 python3 "$TRAIN/run_training.py" --out "$OUT" --gpus 1 --tag "$TAG-repeat" \
  --only "$NAMES" --serial --deadline-s 290 \
  --note "session 2's single-GPU configs re-run on a session-6 one-GPU instance (run_s6_1gpu.sh)"

echo "=== 4. per-kernel profiles ==="
mkdir -p /tmp/prof
timeout -k 5 150 python3 "$TRAIN/profile_configs.py" --out /tmp/prof --only 1g_llama2k_bf16,1g_gpt1k_amp,1g_llama4k_v128k_amp
python3 - "$OUT" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
merged = {}
for p in sorted(glob.glob("/tmp/prof/*-profile.json")):
    merged[os.path.basename(p)[:-len("-profile.json")]] = json.load(open(p))
json.dump({"kind": "dtsim-training-profiles", "machine": os.environ["TAG"], "profiles": merged},
          open(os.path.join(out, os.environ["TAG"] + "-profiles.json"), "w"), indent=1)
print("profiles:", ", ".join(merged))
EOF

echo "=== summary ==="
python3 - "$OUT/$TAG-repeat-training.json" <<'EOF'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("no training file:", e); sys.exit(0)
for r in doc.get("runs", []):
    n = r["config"]["name"]
    if r.get("status") == "ok":
        st = r["step_time"]
        print(f"{n:30s} {r['step_time_s']*1e3:8.1f} ms ({st['time_p10_s']*1e3:.1f}-{st['time_p90_s']*1e3:.1f}) "
              f"{r['peak_alloc_steady_bytes_max_over_ranks']/2**30:7.2f} GiB")
    else:
        print(f"{n:30s} {r.get('status')}")
EOF
ls -la "$OUT"
