#!/usr/bin/env python3
"""Fused AdamW over tensors the size of an embedding table, beside the same
number of parameters in the 16M-element chunks the membound suite times (and
`dtsim calibrate` fits the optimizer class to). Two training profiles ran
AdamW slower than that fit predicts, both with large embedding tables (H100,
AMP, a 128K x 4096 fp32 table: 16.9 ms against 15.2; H200, bf16, a 152K x
3072 table: 7.25 ms against 5.42), so this asks whether one huge tensor
costs more per parameter than many small ones. One process, one GPU:

    python3 hardware/calibration/bench/bench_adamw_tables.py --out FILE [--tag TAG] [--quick]

Per precision (fp32 as AMP keeps it, bf16 as pure bf16 does) and layout:
  - chunks: 2^29 parameters as 32 tensors of 2^24 (the membound suite's);
  - one_table: 2^29 parameters as one tensor (a 128K x 4096 table);
  - llama4k_v128k: the harness's llama-h4096 with a 128,256 vocabulary, 2
    layers (the profiled H100 run's tensors: two tables, 18 layer tensors,
    the final norm).
Each record: time_s etc. (Timer, eager: the optimizer is not captured), the
kernels' device time from torch.profiler, n_params, n_tensors, the largest
tensor, and bytes as the membound suite counts them (read param, grad and
both moments, write param and both moments). Written as a
"dtsim-adamw-tables" file for analysis; `dtsim calibrate` does not read it.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_loss import kernel_table  # noqa: E402
from common import SCHEMA_VERSION, Timer, log, system_info, write_json  # noqa: E402

import torch  # noqa: E402


def layouts(quick):
    if quick:
        return {"chunks": [2**16] * 4, "one_table": [2**18]}
    h, ffn, kv, vocab = 4096, 14336, 1024, 128256  # 32 heads, 8 KV heads of 128
    layer = [h * h, h * kv, h * kv, h * h, h * ffn, h * ffn, ffn * h, h, h]
    return {"chunks": [2**24] * 32, "one_table": [2**29],
            "llama4k_v128k": [vocab * h] + layer * 2 + [h, vocab * h]}


def device_time(step, iterations):
    """Summed kernel device time and kernel count per call of step (the
    optimizer's own profiler annotation left out)."""
    rows = [r for r in kernel_table(step, iterations) if not r["name"].startswith("Optimizer")]
    return sum(r["time_per_iteration_s"] for r in rows), sum(r["calls_per_iteration"] for r in rows)


def run(quick=False):
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.3, max_samples=10, max_inner=4)
    results = []
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        for layout, sizes in layouts(quick).items():
            rec = {"kind": "adamw_tables", "impl": "fused", "param_dtype": name, "layout": layout,
                   "n_params": sum(sizes), "n_tensors": len(sizes), "largest_tensor": max(sizes)}
            try:
                params = [torch.nn.Parameter(torch.randn(s, device=dev, dtype=dtype) * 0.02) for s in sizes]
                for p in params:
                    p.grad = torch.randn_like(p) * 1e-3
                opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)
                opt.step()  # allocate the moments
                rec.update(timer.run(lambda _i, opt=opt: opt.step(), allow_graph=False))
                rec["kernel_time_s"], rec["kernels_per_step"] = device_time(opt.step, 2 if quick else 5)
                eb = params[0].element_size()
                rec["bytes_read"] = 4 * eb * rec["n_params"]
                rec["bytes_written"] = 3 * eb * rec["n_params"]
                rec["time_per_param_s"] = rec["time_s"] / rec["n_params"]
                log(f"adamw {name} {layout}: {rec['time_s'] * 1e3:.3f} ms "
                    f"({rec['time_per_param_s'] * 1e12:.2f} ps a parameter, {len(sizes)} tensors, "
                    f"kernels {rec['kernel_time_s'] * 1e3:.3f} ms)")
                del opt, params
            except Exception as ex:  # noqa: BLE001
                rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
                log(f"adamw {name} {layout}: {rec['error']}")
            results.append(rec)
            torch.cuda.empty_cache()
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.cuda.set_device(0)
    t0 = time.time()
    results = run(a.quick)
    write_json(a.out, {"schema_version": SCHEMA_VERSION, "kind": "dtsim-adamw-tables", "machine_tag": a.tag,
                       "quick": a.quick, "system": system_info(), "wall_s": time.time() - t0,
                       "results": results})
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
