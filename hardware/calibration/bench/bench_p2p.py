"""Device-to-device peer copy bandwidth (one process, tensor.copy_ across GPUs).

gbps = size_bytes / time / 1e9  (bytes moved once over the link; NOT read+write).
Time is measured with CUDA events on the source device's current stream, which
is the stream PyTorch uses for cross-device copies; both devices are
synchronized before and after.
"""
import torch

from common import log, summarize


def _time_copy(dst, src, iters):
    s = torch.cuda.Event(enable_timing=True)
    e = torch.cuda.Event(enable_timing=True)
    ts = []
    with torch.cuda.device(src.device):
        for _ in range(iters):
            torch.cuda.synchronize(src.device)
            torch.cuda.synchronize(dst.device)
            s.record()
            dst.copy_(src)
            e.record()
            torch.cuda.synchronize(src.device)
            torch.cuda.synchronize(dst.device)
            ts.append(s.elapsed_time(e) / 1e3)
    return ts


def run(quick=False, emit=None):
    n = torch.cuda.device_count()
    results = []
    meta = {"can_device_access_peer": {}}
    if n < 2:
        return results, {"skipped": "fewer than 2 GPUs"}
    for j in range(1, n):
        try:
            meta["can_device_access_peer"][f"0->{j}"] = torch.cuda.can_device_access_peer(0, j)
        except Exception as ex:  # noqa: BLE001
            meta["can_device_access_peer"][f"0->{j}"] = str(ex)
    sizes = [2**p for p in range(12, 31, 2)] if not quick else [2**20]
    pairs = [(0, 1), (1, 0)] + [(0, j) for j in range(2, n)]
    for (a, b) in pairs:
        szs = sizes if (a, b) == (0, 1) else [2**28 if not quick else 2**20]
        for size in szs:
            rec = {"kind": "p2p_copy", "src_gpu": a, "dst_gpu": b, "size_bytes": size}
            try:
                src = torch.randn(size // 2, device=f"cuda:{a}", dtype=torch.bfloat16)
                dst = torch.empty(size // 2, device=f"cuda:{b}", dtype=torch.bfloat16)
                _time_copy(dst, src, 3)
                iters = 20 if size <= 2**26 else 8
                if quick:
                    iters = 2
                ts = _time_copy(dst, src, iters)
                rec.update(summarize(ts))
                rec["gbps"] = size / rec["time_s"] / 1e9
                del src, dst
            except Exception as ex:  # noqa: BLE001
                rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
            results.append(rec)
        log(f"p2p {a}->{b}: {results[-1].get('gbps', float('nan')):.1f} GB/s at {results[-1]['size_bytes']} B")
    if emit:
        emit(results)
    return results, meta
