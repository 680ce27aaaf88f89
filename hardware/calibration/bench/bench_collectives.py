"""NCCL collectives through torch.distributed.  Launch with torchrun, one
process per GPU:
    torchrun --nproc_per_node N bench_collectives.py --out FILE [--quick]

Conventions (nccl-tests):
  size_bytes  S: all_reduce / broadcast / all_to_all_single: the buffer size;
                 all_gather_into_tensor: the OUTPUT (full) size (input = S/n);
                 reduce_scatter_tensor: the INPUT (full) size (output = S/n);
                 send_recv: the message size of one direction.
  algbw_gbps = S / time / 1e9
  busbw_gbps = algbw * 2(n-1)/n (all_reduce), * (n-1)/n (all_gather,
               reduce_scatter, all_to_all), * 1 (broadcast, send_recv).
  time per iteration: CUDA events around each op on every rank; the
  per-iteration time is the MAX over ranks; median/p10/p90 over iterations.
  time_s is measured "host ahead": a ~8 ms spin kernel is queued first so the
  host enqueues all iterations before the GPU reaches them (GPU-side duration
  of back-to-back ops).  For sizes <= 16 MiB, host_bound_time_s repeats the
  loop with an idle GPU at each launch (includes PyTorch/NCCL launch cost).
  send_recv: ping-pong rank0 -> rank1 -> rank0, time_s = round trip / 2.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SAFE_ENV, log, summarize, write_json  # noqa: E402  (sets env first)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

OPS = ["all_reduce", "all_gather_into_tensor", "reduce_scatter_tensor", "all_to_all_single", "broadcast"]


def busbw_factor(op, n):
    if op == "all_reduce":
        return 2.0 * (n - 1) / n
    if op in ("all_gather_into_tensor", "reduce_scatter_tensor", "all_to_all_single"):
        return (n - 1) / n
    return 1.0


def iters_for(size, quick):
    if quick:
        return 2, 3
    if size >= 2**28:
        return 3, 10
    if size >= 2**24:
        return 5, 20
    return 10, 40


def bench_op(op, size, group, n, grank, quick):
    dev = torch.device("cuda", torch.cuda.current_device())
    el = 2  # bf16
    nel = size // el
    if op == "all_reduce":
        buf = torch.randn(nel, device=dev, dtype=torch.bfloat16)
        fn = lambda: dist.all_reduce(buf, group=group)  # noqa: E731
    elif op == "broadcast":
        buf = torch.randn(nel, device=dev, dtype=torch.bfloat16)
        src = dist.get_global_rank(group, 0)
        fn = lambda: dist.broadcast(buf, src=src, group=group)  # noqa: E731
    elif op == "all_gather_into_tensor":
        out = torch.empty(nel, device=dev, dtype=torch.bfloat16)
        inp = torch.randn(nel // n, device=dev, dtype=torch.bfloat16)
        fn = lambda: dist.all_gather_into_tensor(out, inp, group=group)  # noqa: E731
    elif op == "reduce_scatter_tensor":
        inp = torch.randn(nel, device=dev, dtype=torch.bfloat16)
        out = torch.empty(nel // n, device=dev, dtype=torch.bfloat16)
        fn = lambda: dist.reduce_scatter_tensor(out, inp, group=group)  # noqa: E731
    elif op == "all_to_all_single":
        inp = torch.randn(nel, device=dev, dtype=torch.bfloat16)
        out = torch.empty(nel, device=dev, dtype=torch.bfloat16)
        fn = lambda: dist.all_to_all_single(out, inp, group=group)  # noqa: E731
    else:
        raise ValueError(op)
    warm, iters = iters_for(size, quick)
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    return _timed_loop(fn, iters, group, dev, host_ahead=True), \
        (_timed_loop(fn, iters, group, dev, host_ahead=False) if size <= HOST_BOUND_MAX else None)


HOST_BOUND_MAX = 2**24
SLEEP_CYCLES = int(8e-3 * 1.98e9)  # ~8 ms spin at the max SM clock


def _timed_loop(fn, iters, group, dev, host_ahead):
    """Per-iteration CUDA-event times, max over the ranks of `group`.
    host_ahead=True: a spin kernel (torch.cuda._sleep) is queued first so that
    the host enqueues all `iters` ops before the GPU reaches them; the times
    are then GPU-side op durations (back-to-back, no launch gaps).
    host_ahead=False: the GPU is idle when each op is launched, so small ops
    include the host/PyTorch launch cost (what an un-overlapped loop sees)."""
    torch.cuda.synchronize()
    dist.barrier(group=group, device_ids=[torch.cuda.current_device()])
    evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    if host_ahead:
        torch.cuda._sleep(SLEEP_CYCLES)
    for s, e in evs:
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    t = torch.tensor([s.elapsed_time(e) / 1e3 for s, e in evs], device=dev, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=group)
    return t.tolist()


def bench_sendrecv(size, rank, quick, pair):
    dev = torch.device("cuda", torch.cuda.current_device())
    buf = torch.randn(size // 2, device=dev, dtype=torch.bfloat16)
    warm, iters = iters_for(size, quick)

    def pingpong():
        if rank == 0:
            dist.send(buf, 1)
            dist.recv(buf, 1)
        else:
            dist.recv(buf, 0)
            dist.send(buf, 0)

    for _ in range(warm):
        pingpong()
    torch.cuda.synchronize()
    out = []
    for host_ahead in (True, False):
        if not host_ahead and size > HOST_BOUND_MAX:
            out.append(None)
            continue
        torch.cuda.synchronize()
        dist.barrier(group=pair, device_ids=[torch.cuda.current_device()])
        evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        if host_ahead:
            torch.cuda._sleep(SLEEP_CYCLES)
        for s, e in evs:
            s.record()
            pingpong()
            e.record()
        torch.cuda.synchronize()
        out.append([s.elapsed_time(e) / 1e3 / 2 for s, e in evs])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--group-sizes", default="2,4,8")
    ap.add_argument("--between-sizes", action="store_true",
                    help="measure the sizes halfway (x sqrt 2) between the standard powers of two from 1 MiB up, "
                         "to check a fit's interpolation on sizes it never saw")
    args = ap.parse_args()
    for k, v in SAFE_ENV.items():
        assert os.environ.get(k) == v, f"{k} must be {v}"
    local = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local))
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes = [2**p for p in range(12, 31)] if not args.quick else [2**12, 2**20]
    if args.between_sizes:  # multiples of 64 KiB, so every shard of every group size stays whole
        sizes = [int(round(2**p * 2**0.5 / 65536)) * 65536 for p in range(20, 30)]
    gsizes = [g for g in (int(x) for x in args.group_sizes.split(",")) if 2 <= g <= world]
    results = []
    groups = {}
    for g in gsizes:  # every rank must take part in every new_group call
        groups[g] = dist.new_group(list(range(g))) if g < world else dist.group.WORLD

    pair = dist.new_group([0, 1]) if world > 2 else dist.group.WORLD

    def emit():
        if rank == 0:
            write_json(args.out, {"results": results, "world_size": world})

    for g in gsizes:
        grp = groups[g]
        member = rank < g
        for op in OPS:
            for size in sizes:
                if member:
                    rec = {"kind": "collective", "op": op, "group_size": g, "ranks": list(range(g)),
                           "dtype": "bf16", "size_bytes": size}
                    try:
                        ts, ts_hb = bench_op(op, size, grp, g, rank, args.quick)
                        rec.update(summarize(ts))
                        rec["timing"] = "host_ahead (GPU-side op time, ops queued behind a spin kernel)"
                        if ts_hb is not None:
                            hb = summarize(ts_hb)
                            rec["host_bound"] = hb
                            rec["host_bound_time_s"] = hb["time_s"]
                        rec["algbw_gbps"] = size / rec["time_s"] / 1e9
                        rec["busbw_gbps"] = rec["algbw_gbps"] * busbw_factor(op, g)
                        rec["busbw_factor"] = busbw_factor(op, g)
                    except Exception as ex:  # noqa: BLE001
                        rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
                    if rank == 0:
                        results.append(rec)
            if rank == 0:
                last = results[-1]
                log(f"{op} n={g}: {last.get('busbw_gbps', float('nan')):.1f} GB/s busbw at {last['size_bytes']} B")
                emit()
        dist.barrier()
    # send/recv ping-pong between rank 0 and 1
    if world >= 2:
        for size in sizes:
            if rank < 2:
                rec = {"kind": "collective", "op": "send_recv", "group_size": 2, "ranks": [0, 1],
                       "dtype": "bf16", "size_bytes": size,
                       "method": "ping-pong 0->1->0 with dist.send/dist.recv; time_s = round_trip/2"}
                try:
                    ts, ts_hb = bench_sendrecv(size, rank, args.quick, pair)
                    rec.update(summarize(ts))
                    rec["timing"] = "host_ahead, rank 0 events"
                    if ts_hb is not None:
                        rec["host_bound"] = summarize(ts_hb)
                        rec["host_bound_time_s"] = rec["host_bound"]["time_s"]
                    rec["algbw_gbps"] = size / rec["time_s"] / 1e9
                    rec["busbw_gbps"] = rec["algbw_gbps"]
                    rec["busbw_factor"] = 1.0
                except Exception as ex:  # noqa: BLE001
                    rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
                if rank == 0:
                    results.append(rec)
        if rank == 0:
            log(f"send_recv: {results[-1].get('algbw_gbps', float('nan')):.1f} GB/s at {results[-1]['size_bytes']} B")
    dist.barrier()
    emit()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
