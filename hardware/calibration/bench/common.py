"""Shared helpers for the dtsim calibration microbenchmarks.

Timing model (see README.md, "Timing"): every measurement is a list of
`samples`; one sample is the mean time of `n_inner` back-to-back calls of the
operation, measured with CUDA events.  Where possible the `n_inner` calls are
captured once into a CUDA graph and the graph is replayed per sample
(timing_mode = "cuda_graph"), which removes host launch overhead; otherwise the
calls are launched eagerly (timing_mode = "eager"), which for tiny kernels
measures the host launch rate instead of GPU time.
"""
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

# NVLink multicast must stay off on the shared multi-GPU hosts.  Set before
# torch / NCCL are imported anywhere in this process (children inherit it).
SAFE_ENV = {
    "NCCL_NVLS_ENABLE": "0",
    "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
    "NVSHMEM_DISABLE_NVLS": "1",
}
for _k, _v in SAFE_ENV.items():
    os.environ[_k] = _v

import torch  # noqa: E402

SCHEMA_VERSION = 1


def child_env(extra=None):
    env = dict(os.environ)
    env.update(SAFE_ENV)
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# --------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------
def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(times_s):
    """Spread of a list of sample times (seconds)."""
    return {
        "time_s": statistics.median(times_s),
        "time_p10_s": quantile(times_s, 0.10),
        "time_p90_s": quantile(times_s, 0.90),
        "time_min_s": min(times_s),
        "time_max_s": max(times_s),
        "n_samples": len(times_s),
    }


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------
class Timer:
    """Time a zero-argument callable `fn(i)` (i = call index, used to rotate
    input buffers).  Returns summarize(...) plus timing metadata."""

    def __init__(self, quick=False, target_sample_s=1.0e-3, budget_s=0.12,
                 max_inner=256, min_samples=5, max_samples=25):
        self.quick = quick
        self.target_sample_s = target_sample_s
        self.budget_s = budget_s if not quick else 0.01
        self.max_inner = max_inner if not quick else 4
        self.min_samples = min_samples if not quick else 2
        self.max_samples = max_samples if not quick else 2

    def _estimate(self, fn):
        # warm-up (also triggers lazy init / autotuning)
        for i in range(2):
            fn(i)
        torch.cuda.synchronize()
        s = torch.cuda.Event(enable_timing=True)
        e = torch.cuda.Event(enable_timing=True)
        s.record()
        for i in range(3):
            fn(i)
        e.record()
        e.synchronize()
        return max(s.elapsed_time(e) / 1e3 / 3, 1e-7)

    def run(self, fn, allow_graph=True, side_stream_warmup=True):
        t1 = self._estimate(fn)
        n_inner = int(min(self.max_inner, max(1, math.ceil(self.target_sample_s / t1))))
        per_sample = t1 * n_inner
        n_samples = int(min(self.max_samples, max(self.min_samples, self.budget_s / per_sample)))
        mode = "eager"
        graph = None
        graph_err = None
        if allow_graph:
            try:
                st = torch.cuda.Stream()
                st.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(st):
                    for i in range(2):
                        fn(i)
                torch.cuda.current_stream().wait_stream(st)
                torch.cuda.synchronize()
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    for i in range(n_inner):
                        fn(i)
                graph.replay()
                torch.cuda.synchronize()
                mode = "cuda_graph"
            except Exception as ex:  # noqa: BLE001
                graph_err = f"{type(ex).__name__}: {str(ex)[:200]}"
                graph = None
                try:
                    torch.cuda.synchronize()
                except Exception:  # noqa: BLE001
                    pass
        times = []
        evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
               for _ in range(n_samples)]
        torch.cuda.synchronize()
        for k in range(n_samples):
            s, e = evs[k]
            if graph is not None:
                s.record()
                graph.replay()
                e.record()
            else:
                s.record()
                for i in range(n_inner):
                    fn(i)
                e.record()
        torch.cuda.synchronize()
        for s, e in evs:
            times.append(s.elapsed_time(e) / 1e3 / n_inner)
        out = summarize(times)
        out["n_inner"] = n_inner
        out["timing_mode"] = mode
        if graph_err:
            out["graph_error"] = graph_err
        del graph
        return out


# --------------------------------------------------------------------------
# system information (no hostname)
# --------------------------------------------------------------------------
def _run(cmd, timeout=20):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r.stdout.strip() if r.returncode == 0 else None
    except Exception:  # noqa: BLE001
        return None


def nvml_clocks(index=0):
    """Current/max SM and memory clocks in MHz via NVML (None if unreadable)."""
    try:
        import pynvml  # nvidia-ml-py
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        out = {
            "sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            "mem_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
        }
        try:
            out["power_w"] = pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0
        except Exception:  # noqa: BLE001
            pass
        return out
    except Exception:  # noqa: BLE001
        return None


def system_info():
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python_version": platform.python_version(),
        "os_kernel": platform.release(),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "cuda_version_torch": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "gpu_count": torch.cuda.device_count(),
        "env": {k: os.environ.get(k) for k in SAFE_ENV},
    }
    try:
        v = torch.cuda.nccl.version()
        info["nccl_version"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
    except Exception as ex:  # noqa: BLE001
        info["nccl_version"] = f"unavailable: {ex}"
    try:
        import triton
        info["triton_version"] = triton.__version__
    except Exception:  # noqa: BLE001
        pass
    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        g = {
            "index": i,
            "name": p.name,
            "sm_count": p.multi_processor_count,
            "memory_bytes": p.total_memory,
            "compute_capability": f"{p.major}.{p.minor}",
        }
        for attr, key in (("L2_cache_size", "l2_cache_bytes"),
                          ("max_threads_per_multi_processor", "max_threads_per_sm"),
                          ("shared_memory_per_multiprocessor", "shared_memory_per_sm_bytes"),
                          ("regs_per_multiprocessor", "regs_per_sm")):
            if hasattr(p, attr):
                g[key] = getattr(p, attr)
        gpus.append(g)
    info["gpus"] = gpus
    if gpus:
        info["gpu_name"] = gpus[0]["name"]
        info["sm_count"] = gpus[0]["sm_count"]
        info["memory_bytes"] = gpus[0]["memory_bytes"]
        info["l2_cache_bytes"] = gpus[0].get("l2_cache_bytes")
    q = _run(["nvidia-smi", "--query-gpu=index,name,driver_version,memory.total,clocks.sm,"
              "clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,pcie.link.gen.current,"
              "pcie.link.width.current", "--format=csv,noheader,nounits"])
    if q:
        rows = []
        keys = ["index", "name", "driver_version", "memory_total_mib", "sm_clock_mhz",
                "sm_clock_max_mhz", "mem_clock_mhz", "mem_clock_max_mhz", "power_limit_w",
                "pcie_gen", "pcie_width"]
        for line in q.splitlines():
            rows.append(dict(zip(keys, [x.strip() for x in line.split(",")])))
        info["nvidia_smi"] = rows
        info["driver_version"] = rows[0].get("driver_version")
        info["sm_clock_max_mhz"] = rows[0].get("sm_clock_max_mhz")
        info["mem_clock_max_mhz"] = rows[0].get("mem_clock_max_mhz")
    ver = _run(["nvidia-smi"])
    if ver:
        for line in ver.splitlines():
            if "CUDA Version" in line:
                info["cuda_version_driver"] = line.split("CUDA Version:")[1].split("|")[0].strip()
                break
    nvcc = _run(["nvcc", "--version"])
    if nvcc:
        info["nvcc_version"] = nvcc.splitlines()[-1].strip()
    return info


def topology():
    return _run(["nvidia-smi", "topo", "-m"])


def machine_tag():
    n = torch.cuda.device_count()
    name = torch.cuda.get_device_name(0).lower() if n else "cpu"
    for key in ("h200", "h100", "a100", "b200", "gh200", "l40s"):
        if key in name:
            return f"{key}-x{n}"
    return f"{name.replace(' ', '_')}-x{n}"


def write_json(path, obj):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
    os.replace(tmp, path)


def main_guard(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        sys.exit(1)
