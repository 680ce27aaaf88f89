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
            gt, lh = _graph_times(op, N, reps)
            rec["graph_gpu"] = summarize(gt)
            rec["graph_gpu_s"] = rec["graph_gpu"]["time_s"]
            rec["graph_launch_host_s"] = statistics.median(lh)
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


def _per_kernel_times(op, n, reps):
    """GPU time per op of n back-to-back calls, launched eagerly and replayed
    from one CUDA graph (median of reps samples each)."""
    for _ in range(5):
        op()
    torch.cuda.synchronize()
    eager = []
    for _ in range(reps):
        s = torch.cuda.Event(enable_timing=True)
        e = torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        s.record()
        for _ in range(n):
            op()
        e.record()
        torch.cuda.synchronize()
        eager.append(s.elapsed_time(e) / 1e3 / n)
    graph, _ = _graph_times(op, n, reps)
    return summarize(eager), summarize(graph)


def _graph_times(op, n, reps):
    """n calls of op captured once into a CUDA graph (after a warm-up on a
    side stream) and replayed reps times: the GPU time per op of each replay,
    and the host time each replay's launch took."""
    st = torch.cuda.Stream()
    st.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(st):
        for _ in range(3):
            op()
    torch.cuda.current_stream().wait_stream(st)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(n):
            op()
    g.replay()
    torch.cuda.synchronize()
    gpu, launch = [], []
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
        gpu.append(s.elapsed_time(e) / 1e3 / n)
        launch.append(t1 - t0)
    del g
    return gpu, launch


def run_gap(quick=False, emit=None):
    """The GPU-side cost of launching kernels eagerly: kernels long enough
    (20-80 us) that the host's launches stay ahead, so the GPU is never
    starved, timed back to back once launched eagerly and once replayed from
    a CUDA graph. The difference per kernel is what an eagerly launched
    stream loses between consecutive kernels beyond what a graph loses (the
    graph-timed microbenchmarks' kernel_overhead holds the latter). Ops: an
    in-place bf16 add (memory-bound) of three sizes, and a spin kernel
    (torch.cuda._sleep, no memory traffic) of two lengths."""
    dev = torch.device("cuda")
    n = 400 if not quick else 20
    reps = 7 if not quick else 2
    clock_hz = 1.7e9  # only sizes the spin kernels (~20 and ~60 us); the times are measured
    ops = {}
    for elems in ((1 << 22) * 3, (1 << 24), (1 << 24) * 3) if not quick else ((1 << 20),):
        x = torch.ones(elems, device=dev, dtype=torch.bfloat16)
        y = torch.ones(elems, device=dev, dtype=torch.bfloat16)
        ops[f"add_inplace_bf16_{elems}"] = (lambda x=x, y=y: x.add_(y))
    for us in (20, 60) if not quick else (20,):
        ops[f"spin_{us}us"] = (lambda c=int(us * 1e-6 * clock_hz): torch.cuda._sleep(c))
    results = []
    for name, op in ops.items():
        try:
            eager, graph = _per_kernel_times(op, n, reps)
            rec = {"kind": "eager_gap", "op": name, "n_ops_per_sample": n, "eager_gpu": eager, "graph_gpu": graph,
                   "eager_gpu_s": eager["time_s"], "graph_gpu_s": graph["time_s"],
                   "gap_s": eager["time_s"] - graph["time_s"]}
            log(f"eager gap {name}: eager {eager['time_s'] * 1e6:.2f} us, graph {graph['time_s'] * 1e6:.2f} us, "
                f"gap {rec['gap_s'] * 1e6:.2f} us per kernel")
        except Exception as ex:  # noqa: BLE001
            rec = {"kind": "eager_gap", "op": name, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
        results.append(rec)
        if emit:
            emit(results)
    torch.cuda.empty_cache()
    return results, {"n_ops_per_sample": n}
