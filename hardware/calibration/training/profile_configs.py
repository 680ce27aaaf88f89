#!/usr/bin/env python3
"""Profile one extra step of chosen training configs (torch.profiler), to see
where host and GPU time go; writes OUT/<name>-profile.json per config.

    python3 hardware/calibration/training/profile_configs.py --out DIR --only a,b
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from configs import CONFIGS  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", required=True)
    a = ap.parse_args()
    wanted = a.only.split(",")
    by_name = {c["name"]: c for c in CONFIGS}
    os.makedirs(a.out, exist_ok=True)
    for name in wanted:
        cfg = dict(by_name[name])
        cfg["timed_steps"] = 3
        n = cfg["n_gpus"]
        result = os.path.join(a.out, f"{name}-result.json")
        cmd = [sys.executable, os.path.join(HERE, "train.py")] if n == 1 else \
            ["torchrun", "--standalone", f"--nproc_per_node={n}", os.path.join(HERE, "train.py")]
        cmd += ["--config-json", json.dumps(cfg), "--result", result, "--profile", a.out]
        print(" ".join(cmd[:4]), name, flush=True)
        subprocess.run(cmd, timeout=300, check=False)


if __name__ == "__main__":
    main()
