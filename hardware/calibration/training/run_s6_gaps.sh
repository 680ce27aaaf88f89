#!/usr/bin/env bash
# Session 6, second one-GPU call: the eager launch gap (run_all.py --suites
# gap: kernels of 20-80 us back to back, launched eagerly and from a CUDA
# graph), then per-kernel profiles with the GPU's idle gaps located
# (train.py idle_gaps) for five of session 2's single-GPU configurations, to
# find where eager steps leave the GPU idle:
#
#     OUT=/some/dir hardware/calibration/training/run_s6_gaps.sh
#
# Writes $OUT/<gpu>-x1-s6-gap-microbench.json and
# $OUT/<gpu>-x1-s6-gap-profiles.json (one entry per config).
source "$(dirname "${BASH_SOURCE[0]}")/one_gpu_common.sh"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
timeout -k 5 120 python3 hardware/calibration/bench/run_all.py --out "$OUT" --suites gap --tag "$TAG-gap" \
  --note "session 6: the eager launch gap (run_s6_gaps.sh)" 2>&1 | grep -E "eager gap|rror"
mkdir -p /tmp/gaps
timeout -k 5 240 python3 hardware/calibration/training/profile_configs.py --out /tmp/gaps \
  --only 1g_llama2k_bf16,1g_gpt1k_amp,1g_llama1k_amp_s512,1g_llama2k_bf16_foreach,1g_llama4k_v128k_amp \
  > /tmp/gaps.log 2>&1
python3 - "$OUT" <<'PY'
import glob, json, os, sys
merged = {os.path.basename(p)[:-len("-profile.json")]: json.load(open(p))
          for p in sorted(glob.glob("/tmp/gaps/*-profile.json"))}
json.dump({"kind": "dtsim-training-profiles", "machine": os.environ["TAG"], "profiles": merged},
          open(os.path.join(sys.argv[1], os.environ["TAG"] + "-gap-profiles.json"), "w"), indent=1)
for n, p in merged.items():
    print(f"{n:28s} span {p.get('step_span_s', 0)*1e3:6.1f} ms  kernels {p['gpu_kernel_time_s']*1e3:6.1f} ms "
          f"idle {p.get('idle_s', 0)*1e3:5.2f} ms in {p.get('idle_gaps', 0)} gaps")
    for g in p.get("longest_idle_gaps", [])[:12]:
        print(f"    at {g['at_s']*1e3:7.2f} ms  gap {g['gap_s']*1e3:6.3f} ms  {g['before'][:45]:45s} -> {g['after'][:45]}")
PY
