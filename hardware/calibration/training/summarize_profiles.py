#!/usr/bin/env python3
"""Merge the <name>-profile.json files that profile_configs.py wrote into
$PROFILES into OUT/<TAG>-<NAME>.json and print where each step's time went:

    PROFILES=/tmp/prof NAME=one-rank-profiles TAG=h100-x1-s7 python3 summarize_profiles.py OUT
"""
import glob
import json
import os
import sys


def main():
    src, name, tag = os.environ["PROFILES"], os.environ["NAME"], os.environ["TAG"]
    merged = {os.path.basename(p)[:-len("-profile.json")]: json.load(open(p))
              for p in sorted(glob.glob(os.path.join(src, "*-profile.json")))}
    with open(os.path.join(sys.argv[1], f"{tag}-{name}.json"), "w") as f:
        json.dump({"kind": "dtsim-training-profiles", "machine": tag, "profiles": merged}, f, indent=1)
    for n, p in merged.items():
        print(f"{n:32s} span {p.get('step_span_s', 0)*1e3:6.1f} ms  kernels {p['gpu_kernel_time_s']*1e3:6.1f} ms "
              f"in {p['gpu_kernels']}  idle {p.get('idle_s', 0)*1e3:5.2f} ms in {p.get('idle_gaps', 0)} gaps")
        for k in p["top_gpu_kernels"][:14]:
            print(f"    {k['count']:5d} {k['total_s']*1e3:8.3f} ms  {k['name'][:90]}")
        for g in p.get("longest_idle_gaps", [])[:10]:
            print(f"    at {g['at_s']*1e3:7.2f} ms  gap {g['gap_s']*1e3:6.3f} ms  {g['before'][:45]:45s} -> "
                  f"{g['after'][:45]}")


if __name__ == "__main__":
    main()
