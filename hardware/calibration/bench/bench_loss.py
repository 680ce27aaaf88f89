#!/usr/bin/env python3
"""The eager PyTorch loss, kernel by kernel: what the training harness runs
(hardware/calibration/training/model.py loss_fn) for a [tokens, vocab] bf16
logits tensor, forward and backward:

    loss = F.cross_entropy(logits.float(), targets); loss.backward()

over a grid of token counts and vocabulary sizes. One process, one GPU:

    python3 hardware/calibration/bench/bench_loss.py --out FILE [--tag TAG] [--quick]
    (or run_all.py --suites loss)

Per grid point, two measurements:
  - time_s etc.: the whole forward + backward, CUDA events around repeated
    eager calls (Timer, eager mode: autograd is not captured in a graph);
  - kernels: each GPU kernel's mean device time per forward + backward, from
    torch.profiler over `profiled_iterations` calls (name, calls per
    iteration, mean time per iteration); log_softmax_fwd_s and
    log_softmax_bwd_s pick out PyTorch's log-softmax kernels
    (cunn_SoftMaxForward / cunn_SoftMaxBackward).
Written as the "loss" suite of a microbenchmark profile (run_all.py runs it
as one of its suites); `dtsim calibrate` fits OpClass::kLogSoftmax to the two
log-softmax kernels, counting every pass over a row (forward: three reads of
the fp32 logits and one write; backward: two reads of the gradient, one of
the saved log-probabilities and one write; 16 bytes per logit each). The casts, nll_loss and its
zero-filled gradient are recorded for comparison with their own classes.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SCHEMA_VERSION, Timer, log, system_info, write_json  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

TOKENS = (2048, 4096, 8192)
VOCABS = (32000, 50304, 128256, 151936)


def kernel_table(fn, iterations):
    """Mean device time per call of fn, per kernel name, from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iterations):
            fn()
        torch.cuda.synchronize()
    rows = []
    for e in prof.key_averages():
        dev = getattr(e, "device_time_total", None)
        if dev is None:
            dev = getattr(e, "cuda_time_total", 0.0)
        if dev <= 0 or e.count <= 0:
            continue
        rows.append({"name": e.key[:200], "calls_per_iteration": e.count / iterations,
                     "time_per_iteration_s": dev * 1e-6 / iterations})
    rows.sort(key=lambda r: -r["time_per_iteration_s"])
    return rows


def run(quick=False, emit=None):
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.3, max_samples=10, max_inner=8)
    grid = [(t, v) for t in TOKENS for v in VOCABS]
    if quick:
        grid = [(256, 1024), (512, 2048)]
    iterations = 2 if quick else 5
    results = []
    for tokens, vocab in grid:
        try:
            logits = torch.randn(tokens, vocab, device=dev, dtype=torch.bfloat16, requires_grad=True)
            targets = torch.randint(0, vocab, (tokens,), device=dev)

            def fwd_bwd(_i=0, logits=logits, targets=targets):
                loss = F.cross_entropy(logits.float(), targets)
                return torch.autograd.grad(loss, (logits,))

            r = timer.run(fwd_bwd, allow_graph=False)
            kernels = kernel_table(fwd_bwd, iterations)
            rec = {"kind": "eager_loss", "op": "cross_entropy_fp32_upcast", "tokens": tokens, "vocab": vocab,
                   "logits_dtype": "bf16", "n_logits": tokens * vocab, "profiled_iterations": iterations,
                   "log_softmax_fwd_s": sum(k["time_per_iteration_s"] for k in kernels
                                            if "SoftMaxForward" in k["name"]),
                   "log_softmax_bwd_s": sum(k["time_per_iteration_s"] for k in kernels
                                            if "SoftMaxBackward" in k["name"]),
                   "kernels": kernels,
                   "kernel_time_s": sum(k["time_per_iteration_s"] for k in kernels)}
            rec.update(r)
            results.append(rec)
            log(f"loss tokens {tokens} vocab {vocab}: {r['time_s'] * 1e3:.3f} ms "
                f"(kernels {rec['kernel_time_s'] * 1e3:.3f} ms in {len(kernels)} kinds)")
            del logits, targets
        except Exception as ex:  # noqa: BLE001
            results.append({"kind": "eager_loss", "tokens": tokens, "vocab": vocab,
                            "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
        torch.cuda.empty_cache()
        if emit:
            emit(results)
    return results, {"tokens": list(TOKENS), "vocabs": list(VOCABS)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.cuda.set_device(0)
    t0 = time.time()
    results, meta = run(a.quick)
    meta["wall_s"] = time.time() - t0
    write_json(a.out, {"schema_version": SCHEMA_VERSION, "kind": "dtsim-microbench-profile",
                       "machine_tag": a.tag, "quick": a.quick, "system": system_info(),
                       "note": "bench_loss.py alone: the loss suite only",
                       "suites": {"loss": {"results": results, "meta": meta}}})
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
