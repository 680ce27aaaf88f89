#!/usr/bin/env python3
"""Run the dtsim calibration microbenchmark suite and write ONE JSON profile.

    python3 hardware/calibration/bench/run_all.py --out DIR [--gpus N] [--quick]
        [--suites gemm,attention,membound,overhead,p2p,collectives] [--tag h200-x4]

Single-GPU suites run in a child process on GPU 0 (so that a crash there does
not lose the rest); collectives run under torchrun with one process per GPU.
The profile is rewritten after every suite (partial results survive a
timeout); its name is DIR/<tag>-microbench.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SINGLE_SUITES = ["overhead", "gap", "gemm", "attention", "membound", "scatter", "loss"]


def single_main(args):
    """Child process: run single-GPU suites, append results to a part file."""
    import torch
    from common import log, write_json
    torch.cuda.set_device(0)
    torch.manual_seed(0)
    l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 50 * 2**20) or 50 * 2**20
    part = {"suites": {}, "l2_bytes_used_for_rotation": l2}
    if os.path.exists(args.part):
        with open(args.part) as f:
            part = json.load(f)
    for suite in args.suites.split(","):
        if suite not in SINGLE_SUITES or suite in part["suites"]:
            continue
        t0 = time.time()
        log(f"=== suite {suite} ===")

        def emit(res, suite=suite):
            part["suites"][suite] = {"results": res, "meta": {"partial": True}}
            write_json(args.part, part)

        try:
            if suite == "gemm":
                import bench_gemm as m
                res, meta = m.run(quick=args.quick, l2_bytes=l2, emit=emit)
            elif suite == "attention":
                import bench_attention as m
                res, meta = m.run(quick=args.quick, emit=emit)
            elif suite == "membound":
                import bench_membound as m
                res, meta = m.run(quick=args.quick, l2_bytes=l2, emit=emit)
            elif suite == "scatter":
                import bench_membound as m
                res, meta = m.run_scatter(quick=args.quick, l2_bytes=l2, emit=emit)
            elif suite == "gap":
                import bench_overhead as m
                res, meta = m.run_gap(quick=args.quick, emit=emit)
            elif suite == "loss":
                import bench_loss as m
                res, meta = m.run(quick=args.quick, emit=emit)
            elif suite == "overhead":
                import bench_overhead as m
                res, meta = m.run(quick=args.quick, emit=emit)
            meta = dict(meta or {})
            meta["wall_s"] = time.time() - t0
            part["suites"][suite] = {"results": res, "meta": meta}
        except Exception as ex:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            prev = part["suites"].get(suite, {}).get("results", [])
            part["suites"][suite] = {"results": prev, "meta": {"error": f"{type(ex).__name__}: {ex}",
                                                               "wall_s": time.time() - t0}}
        write_json(args.part, part)
        log(f"=== suite {suite} done in {time.time() - t0:.1f}s ===")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--gpus", type=int, default=None, help="GPUs to use for collectives (default: all)")
    ap.add_argument("--collective-between-sizes", action="store_true",
                    help="collectives at the sizes between the standard ones (bench_collectives.py --between-sizes)")
    ap.add_argument("--quick", action="store_true", help="tiny smoke-test sizes")
    ap.add_argument("--suites", default="overhead,gap,gemm,attention,membound,scatter,loss,p2p,collectives")
    ap.add_argument("--tag", default=None, help="machine tag for the file name, e.g. h200-x4")
    ap.add_argument("--suite-timeout", type=int, default=900)
    ap.add_argument("--append", action="store_true", help="merge into an existing profile of the same name")
    ap.add_argument("--note", default=None, help="free-text note stored in the profile")
    ap.add_argument("--single-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.single_child:
        single_main(args)
        return

    from common import (SCHEMA_VERSION, child_env, log, machine_tag, system_info, topology,
                        write_json)
    import torch
    os.makedirs(args.out, exist_ok=True)
    ngpu = torch.cuda.device_count()
    gpus = min(args.gpus or ngpu, ngpu)
    tag = args.tag or machine_tag()
    name = f"{tag}-microbench{'-quick' if args.quick else ''}.json"
    path = os.path.join(args.out, name)
    suites = args.suites.split(",")
    profile = {
        "schema_version": SCHEMA_VERSION,
        "kind": "dtsim-microbench-profile",
        "machine_tag": tag,
        "quick": args.quick,
        "system": system_info(),
        "gpus_used_for_collectives": gpus,
        "topology_nvidia_smi_topo_m": topology(),
        "suites": {},
    }
    if args.append and os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        old.setdefault("appended_invocations", []).append(
            {"date_utc": profile["system"]["date_utc"], "suites": suites, "note": args.note,
             "system": profile["system"]})
        if "topology_nvidia_smi_topo_m" in old and not old["topology_nvidia_smi_topo_m"]:
            old["topology_nvidia_smi_topo_m"] = profile["topology_nvidia_smi_topo_m"]
        old["gpus_used_for_collectives"] = gpus
        profile = old
    else:
        profile["note"] = args.note
    write_json(path, profile)

    single = [s for s in suites if s in SINGLE_SUITES]
    if single:
        part = os.path.join(args.out, f".{tag}-single-part.json")
        if os.path.exists(part):
            os.remove(part)
        cmd = [sys.executable, os.path.abspath(__file__), "--out", args.out, "--single-child",
               "--part", part, "--suites", ",".join(single)] + (["--quick"] if args.quick else [])
        env = child_env({"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]})
        t0 = time.time()
        try:
            rc = subprocess.run(cmd, env=env, timeout=args.suite_timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        log(f"single-GPU suites finished rc={rc} in {time.time() - t0:.1f}s")
        if os.path.exists(part):
            with open(part) as f:
                profile["suites"].update(json.load(f)["suites"])
            os.remove(part)
        if rc != 0:
            profile["single_gpu_child_returncode"] = rc
        write_json(path, profile)

    if "p2p" in suites and ngpu >= 2:
        import bench_p2p
        t0 = time.time()
        try:
            res, meta = bench_p2p.run(quick=args.quick)
            meta["wall_s"] = time.time() - t0
            profile["suites"]["p2p"] = {"results": res, "meta": meta}
        except Exception as ex:  # noqa: BLE001
            profile["suites"]["p2p"] = {"results": [], "meta": {"error": str(ex)}}
        torch.cuda.empty_cache()
        write_json(path, profile)

    if "collectives" in suites and gpus >= 2:
        part = os.path.join(args.out, f".{tag}-coll-part.json")
        cmd = ["torchrun", "--nnodes", "1", "--nproc_per_node", str(gpus), "--master_addr", "127.0.0.1",
               "--master_port", "29611", os.path.join(HERE, "bench_collectives.py"), "--out", part] + \
            (["--quick"] if args.quick else []) + (["--between-sizes"] if args.collective_between_sizes else [])
        t0 = time.time()
        try:
            rc = subprocess.run(cmd, env=child_env(), timeout=args.suite_timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        meta = {"returncode": rc, "wall_s": time.time() - t0, "launcher": "torchrun, one process per GPU",
                "nccl_env": {k: v for k, v in os.environ.items() if k.startswith("NCCL_")}}
        res = []
        if os.path.exists(part):
            with open(part) as f:
                res = json.load(f)["results"]
            os.remove(part)
        profile["suites"]["collectives"] = {"results": res, "meta": meta}
        write_json(path, profile)
        log(f"collectives rc={rc} in {time.time() - t0:.1f}s, {len(res)} records")

    # summary table (last lines of output)
    counts = {k: len(v["results"]) for k, v in profile["suites"].items()}
    errs = {k: sum(1 for r in v["results"] if "error" in r) for k, v in profile["suites"].items()}
    log(f"wrote {path}")
    log(f"records per suite: {counts}; errors: {errs}")
    try:
        g = [r for r in profile["suites"].get("gemm", {}).get("results", []) if r.get("dtype") == "bf16" and "tflops" in r]
        if g:
            b = max(g, key=lambda r: r["tflops"])
            log(f"best bf16 gemm {b['tflops']:.0f} TFLOP/s at M={b['M']} N={b['N']} K={b['K']}")
        f8 = [r for r in profile["suites"].get("gemm", {}).get("results", []) if r.get("dtype") == "fp8_e4m3" and "tflops" in r]
        if f8:
            b = max(f8, key=lambda r: r["tflops"])
            log(f"best fp8 gemm {b['tflops']:.0f} TFLOP/s at M={b['M']} N={b['N']} K={b['K']}")
        m = [r for r in profile["suites"].get("membound", {}).get("results", []) if r.get("op") == "copy_d2d" and "gbps" in r]
        if m:
            log(f"copy_d2d at {m[-1]['size_bytes']} B: {m[-1]['gbps']:.0f} GB/s (read+write)")
        c = [r for r in profile["suites"].get("collectives", {}).get("results", [])
             if r.get("op") == "all_reduce" and "busbw_gbps" in r]
        for gs in sorted({r["group_size"] for r in c}):
            last = [r for r in c if r["group_size"] == gs][-1]
            log(f"all_reduce n={gs} at {last['size_bytes']} B: busbw {last['busbw_gbps']:.0f} GB/s")
        o = [r for r in profile["suites"].get("overhead", {}).get("results", []) if r.get("op") == "add_1elem"]
        if o:
            log(f"add_1elem eager enqueue {o[0].get('eager_host_enqueue_s', 0) * 1e6:.2f} us, "
                f"graph per-kernel {o[0].get('graph_gpu_s', 0) * 1e6:.2f} us")
    except Exception as ex:  # noqa: BLE001
        log(f"summary failed: {ex}")


if __name__ == "__main__":
    main()
