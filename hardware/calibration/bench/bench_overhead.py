"""Per-kernel / per-launch overheads.

Records (all times per launched op):
  eager_host_enqueue_s : host wall time per launch, measured without waiting
                         for the GPU (pure CPU dispatch + launch cost);
  eager_throughput_s   : wall time per op of N back-to-back launches including
                         the final synchronize (what a launch-bound loop gets);
  eager_gpu_s          : CUDA-event time per op for the same eager loop;
  graph_gpu_s          : CUDA-event time per op when the N ops are captured in
                         one CUDA graph and replayed (GPU-side per-kernel floor:
                         kernel run time + inter-kernel gap);
  graph_launch_host_s  : host time to launch one graph replay.
"""
import statistics
import time

import torch
import torch.nn.functional as F

from common import log, summarize


def _ops(dev):
    x1 = torch.ones(1, device=dev)
    y1 = torch.ones(1, device=dev)
    a64 = torch.randn(64, 64, device=dev, dtype=torch.bfloat16)
    x_lin = torch.randn(16, 256, device=dev, dtype=torch.bfloat16)
    w_lin = torch.randn(256, 256, device=dev, dtype=torch.bfloat16)
    xr = torch.randn(8, 256, device=dev, dtype=torch.bfloat16)
    wr = torch.ones(256, device=dev, dtype=torch.bfloat16)
    return {
        "add_1elem": lambda: torch.add(x1, y1),
        "add_1elem_inplace": lambda: x1.add_(y1),
        "empty_kernel_cuda_sleep0": lambda: torch.cuda._sleep(0),
        "matmul_bf16_64x64x64": lambda: torch.matmul(a64, a64),
        "linear_bf16_16x256x256": lambda: F.linear(x_lin, w_lin),
        "rmsnorm_bf16_8x256": lambda: F.rms_norm(xr, (256,), wr, 1e-5),
    }


def run(quick=False, emit=None):
    dev = torch.device("cuda")
    N = 2000 if not quick else 50
    reps = 7 if not quick else 2
    results = []
    for name, op in _ops(dev).items():
        rec = {"kind": "overhead", "op": name, "n_ops_per_sample": N}
        try:
            for _ in range(20):
                op()
            torch.cuda.synchronize()
            enq, thr, gpu = [], [], []
            for _ in range(reps):
                s = torch.cuda.Event(enable_timing=True)
                e = torch.cuda.Event(enable_timing=True)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                s.record()
                for _ in range(N):
                    op()
                t1 = time.perf_counter()
                e.record()
                torch.cuda.synchronize()
                t2 = time.perf_counter()
                enq.append((t1 - t0) / N)
                thr.append((t2 - t0) / N)
                gpu.append(s.elapsed_time(e) / 1e3 / N)
            rec["eager_host_enqueue"] = summarize(enq)
            rec["eager_throughput"] = summarize(thr)
            rec["eager_gpu"] = summarize(gpu)
            rec["eager_host_enqueue_s"] = rec["eager_host_enqueue"]["time_s"]
            rec["eager_throughput_s"] = rec["eager_throughput"]["time_s"]
            rec["eager_gpu_s"] = rec["eager_gpu"]["time_s"]
        except Exception as ex:  # noqa: BLE001
            rec["eager_error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
        try:
            st = torch.cuda.Stream()
            st.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(st):
                for _ in range(3):
                    op()
            torch.cuda.current_stream().wait_stream(st)
            torch.cuda.synchronize()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                for _ in range(N):
                    op()
            g.replay()
            torch.cuda.synchronize()
            gt, lh = [], []
            for _ in range(reps):
                s = torch.cuda.Event(enable_timing=True)
                e = torch.cuda.Event(enable_timing=True)
                torch.cuda.synchronize()
                s.record()
                t0 = time.perf_counter()
                g.replay()
                t1 = time.perf_counter()
                e.record()
                torch.cuda.synchronize()
                gt.append(s.elapsed_time(e) / 1e3 / N)
                lh.append(t1 - t0)
            rec["graph_gpu"] = summarize(gt)
            rec["graph_gpu_s"] = rec["graph_gpu"]["time_s"]
            rec["graph_launch_host_s"] = statistics.median(lh)
            del g
        except Exception as ex:  # noqa: BLE001
            rec["graph_error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
        results.append(rec)
        log(f"overhead {name}: eager enqueue {rec.get('eager_host_enqueue_s', float('nan')) * 1e6:.2f} us, "
            f"graph {rec.get('graph_gpu_s', float('nan')) * 1e6:.2f} us")
    # host<->device synchronisation round trip on an idle GPU
    try:
        ts = []
        for _ in range(200 if not quick else 5):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            torch.cuda._sleep(0)
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        results.append({"kind": "overhead", "op": "launch_plus_synchronize_roundtrip", **summarize(ts)})
    except Exception as ex:  # noqa: BLE001
        results.append({"kind": "overhead", "op": "launch_plus_synchronize_roundtrip",
                        "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
    if emit:
        emit(results)
    return results, {}
