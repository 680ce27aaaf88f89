#!/usr/bin/env python3
"""Wrap bench_framework.py results (one file per torchrun, e.g. 2 and 4
GPUs, or one rank's --only-* runs) into one framework profile that `dtsim
calibrate` reads, with this machine's versions, and print its records:

    python3 framework_doc.py RUN.json [RUN.json ...] OUT.json TAG "NOTE"

A run file that cannot be read is reported and left out; with none left,
nothing is written.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import system_info  # noqa: E402


def describe(r):
    if r["kind"] == "moe_layer_host":
        return (f"E={r['experts']} k={r['top_k']}: MoE layer {r['host_layer_s']*1e3:.3f} ms, "
                f"dense layer {r['host_layer_plain_s']*1e3:.3f} ms per forward + backward (host)")
    if r["kind"] == "eager_layer_host":
        rc = " recompute " + r["recompute"] if "recompute" in r else ""
        return f"{r['arch']} {r['precision']}{rc}: eager layer {r['host_layer_s']*1e3:.3f} ms per forward + backward (host)"
    if r["kind"] == "step_host":
        return (f"{r['precision']} L={r['layers']} ga={r['grad_accum']}: step {r['host_step_s']*1e3:.3f} ms, "
                f"layer {r['host_layer_s']*1e3:.3f} ms (host)")
    return json.dumps({k: v for k, v in r.items() if not isinstance(v, (dict, list))})


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    run_paths, (out, tag, note) = sys.argv[1:-3], sys.argv[-3:]
    runs = []
    for path in run_paths:
        try:
            runs.append(json.load(open(path)))
        except Exception as e:  # noqa: BLE001
            print(f"framework: no result in {path}:", e)
    if not runs:
        return
    s = system_info()
    doc = {"schema_version": 1, "kind": "dtsim-framework-profile", "machine_tag": tag,
           "note": f"{note} (on one {s.get('gpu_name')})",
           "system": {k: s.get(k) for k in ("gpu_name", "driver_version", "cuda_version_torch", "nccl_version",
                                             "torch_version")},
           "runs": runs}
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    for run in runs:
        for r in run["results"]:
            print(describe(r))


if __name__ == "__main__":
    main()
