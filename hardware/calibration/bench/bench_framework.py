"""Framework-level costs that single-op microbenchmarks miss.  Launch with
torchrun, one process per GPU (2 or more):
    torchrun --nproc_per_node N bench_framework.py --out FILE [--quick]

Two measurements, written as records of kind "dtensor_host" and
"overlap_slowdown":

1. dtensor_host: host (CPU) time per eager op when the operands are DTensors
   on a tensor-parallel mesh of every rank (tp = the world size; run the
   script once per TP size), against the same op on plain tensors.  Tiny tensors, so the
   GPU is never the bottleneck: time = host wall time of 200 calls, without
   synchronizing, / 200 (the call returns when its kernels are enqueued).
   Ops: add (Shard(0) + Shard(0)), mul, silu, rms_norm, linear_colwise
   (x Replicate, W Shard(0)), linear_rowwise (x Shard(-1), W Shard(1), the
   partial result reduced: includes an all-reduce launch), sdpa-free.
   Field host_op_s (DTensor) and host_op_plain_s (plain tensor).

2. tp_layer_host: host time of one decoder layer's forward + backward
   (hardware/calibration/training/model.py's Llama block, tiny sizes so that
   the GPU never waits the host out), eager, with the training harness's TP
   plan (train.tp_parallelize, with and without sequence parallelism) and
   without TP (plain tensors): 4 layers, loss = sum of the output, host wall
   time of 20 steps without synchronizing / (20 x 4).  Fields
   host_layer_s (TP) and host_layer_plain_s.

3. overlap_slowdown: GPU time of a compute kernel alone and while NCCL
   all-reduces of 256 MiB run back to back on another stream over all ranks
   (the DP-gradient overlap of a training step).  Kernels: bf16 GEMM 8192^3,
   and a 1 GiB device copy.  Field slowdown = time_with_nccl / time_alone.

4. comm_overlap_slowdown: the converse, GPU time of one NCCL all-gather,
   reduce-scatter or all-reduce (16, 64, 256 MiB) alone and while bf16 GEMMs
   run on the default stream (FSDP's collectives overlapping compute).
   Field slowdown = time_with_compute / time_alone.  --only-comm-overlap
   runs just this one.

5. moe_layer_host: host time of one eager MoE decoder layer's forward +
   backward (the harness's Block with its MoE layer, 8 experts top-2 and 16
   top-4, no expert parallelism), measured as tp_layer_host measures the
   plain layer, beside it.  Fields host_layer_s (MoE) and host_layer_plain_s.
   --only-moe-host runs just this one (also with one process).

6. eager_layer_host: host time of one eager decoder layer's forward +
   backward, one per block kind and precision: the harness's Llama block
   (RMSNorm, SwiGLU, GQA, rotary) and GPT block (LayerNorm, GELU, biases,
   learned positions), each in bf16 and under AMP (fp32 parameters, forward
   under torch.autocast(bf16)), measured as tp_layer_host measures the plain
   layer, and its forward alone (autograd recording, no backward), for the
   forward's share of the host time: PyTorch issues the forward from Python
   and the backward from autograd's C++ engine.  Fields arch, precision,
   processes, host_layer_s, host_forward_s.
   --only-layer-host runs just this one (also with one process).
   --only-recompute-host measures the same layers with and without full
   recompute (every block under the harness's non-reentrant
   torch.utils.checkpoint: forward, recomputed forward and backward; field
   "recompute": "full" on those records).

7. wrapper_host: host time of one eager Llama layer's forward + backward
   (sizes as in tp_layer_host) wrapped in DDP or FSDP2 over the ranks of this
   run (one rank measures the frameworks' own host work: hooks, copies,
   casts, with no communication to wait for), beside the same layers
   unwrapped, for bf16, FSDP2's mixed precision and AMP; and the host time
   of one step of PyTorch's one-stage pipelining schedules (GPipe, 1F1B)
   over 2 and 8 micro-batches beside the same micro-batches in a plain loop,
   so that a fixed and a per-micro-batch part separate.  Fields wrapper,
   precision, host_layer_s and host_layer_plain_s (layers); schedule,
   microbatches, host_step_s and host_step_plain_s (pipelines).
   --only-wrapper-host runs just this one.
8. step_host: host time of one whole training step of train.py's plain
   (unwrapped) loop on a tiny model: embedding, `layers` Llama blocks, final
   norm, output layer and cross-entropy per micro-batch, then fused AdamW's
   step and zero_grad(set_to_none), for layers 2 and 6 and 1 and 3
   micro-batches (gradient accumulation), bf16 and AMP, beside the same
   process's eager layer (host_layer_s, as eager_layer_host measures it),
   so that the step's host work outside the layers (per micro-batch and per
   step) separates from the layers'.  Host wall time of `steps` steps
   without synchronizing / steps.  Fields precision, layers, grad_accum,
   host_step_s, host_layer_s, and the model's shape as the training
   harness's configs name it (hidden, n_heads, n_kv_heads, ffn_hidden,
   vocab, tied, seq_len, micro_batch), so that dtsim can predict the step.  --only-step-host runs just this one.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import log, summarize, write_json  # noqa: E402  (sets env first)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def harness_model():
    """The training harness's model module (hardware/calibration/training/model.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
    import model  # noqa: E402
    return model


def host_time_per_call(fn, calls):
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        samples.append((t1 - t0) / calls)
    return summarize(samples)


def dtensor_records(world, rank, quick):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    calls = 20 if quick else 200
    out = []
    tp = world
    # one mesh over every rank of this torchrun (run the script once per TP size)
    mesh = init_device_mesh("cuda", (tp,), mesh_dim_names=("tp",))
    dev = torch.device("cuda", torch.cuda.current_device())
    h = 256
    x = torch.randn(16 * tp, h, device=dev, dtype=torch.bfloat16)
    w = torch.randn(h, h, device=dev, dtype=torch.bfloat16)
    nw = torch.ones(h, device=dev, dtype=torch.bfloat16)
    xs = distribute_tensor(x, mesh, [Shard(0)])
    xr = distribute_tensor(x, mesh, [Replicate()])
    xl = distribute_tensor(x, mesh, [Shard(1)])
    w_col = distribute_tensor(w, mesh, [Shard(0)])
    w_row = distribute_tensor(w, mesh, [Shard(1)])
    nwr = distribute_tensor(nw, mesh, [Replicate()])
    ops = {
        "add": (lambda: xs + xs, lambda: x + x),
        "mul": (lambda: xs * xs, lambda: x * x),
        "silu": (lambda: F.silu(xs), lambda: F.silu(x)),
        "rms_norm": (lambda: F.rms_norm(xr, (h,), nwr), lambda: F.rms_norm(x, (h,), nw)),
        "linear_colwise": (lambda: F.linear(xr, w_col), lambda: F.linear(x, w)),
        "linear_rowwise_reduced": (lambda: F.linear(xl, w_row).redistribute(mesh, [Replicate()]),
                                   lambda: F.linear(x, w)),
    }
    for name, (dt_fn, plain_fn) in ops.items():
        d = host_time_per_call(dt_fn, calls)
        p = host_time_per_call(plain_fn, calls)
        rec = {"kind": "dtensor_host", "op": name, "tp": tp, "rank": rank,
               "host_op_s": d["time_s"], "host_op": d, "host_op_plain_s": p["time_s"], "host_op_plain": p}
        if rank == 0:
            out.append(rec)
            log(f"dtensor tp{tp} {name}: {d['time_s']*1e6:.1f} us (plain {p['time_s']*1e6:.1f} us)")
    dist.barrier()
    return out


def host_time_per_layer(model, x, steps, layers, forward_only=False):
    """Host wall time of one layer's forward + backward: `steps` steps of the
    `layers`-layer model without synchronizing, / (steps x layers), 5 samples
    after 3 warm-up steps (the tiny sizes keep the GPU ahead of the host).
    forward_only: the forward alone, autograd recording as in training (its
    graph is dropped unused), for the forward's share of the host time."""
    def step():
        if forward_only:
            model(x).float().sum()
        else:
            model(x).float().sum().backward()
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        samples.append((t1 - t0) / (steps * layers))
    return summarize(samples)


def tp_layer_records(world, rank, quick):
    M = harness_model()
    from train import tp_parallelize  # noqa: E402
    from torch.distributed.device_mesh import init_device_mesh
    dev = torch.device("cuda", torch.cuda.current_device())
    layers, steps = 4, (3 if quick else 20)
    cfg = dict(arch="llama", n_layers=layers, hidden=256, n_heads=8, n_kv_heads=8, ffn_hidden=512, vocab=1024,
               tied=False, seq_len=64 * world, activation_checkpointing="none")
    mesh = init_device_mesh("cuda", (world,), mesh_dim_names=("tp",))
    out = []

    def host_per_layer(model, x):
        return host_time_per_layer(model, x, steps, layers)

    plain = M.Transformer(cfg, first=False, last=False).to(dev, torch.bfloat16)
    x = torch.randn(1, cfg["seq_len"], cfg["hidden"], device=dev, dtype=torch.bfloat16, requires_grad=True)
    p = host_per_layer(plain, x)
    for sp in (False, True):
        c = dict(cfg, sp=sp)
        m = M.Transformer(c, first=False, last=False).to(dev, torch.bfloat16)
        tp_parallelize(m, mesh, c, loss_parallel_out=False)
        xs = torch.randn(1, cfg["seq_len"] // (world if sp else 1), cfg["hidden"], device=dev,
                         dtype=torch.bfloat16, requires_grad=True)
        d = host_per_layer(m, xs)
        rec = {"kind": "tp_layer_host", "tp": world, "sp": sp, "layers": layers, "hidden": cfg["hidden"],
               "host_layer_s": d["time_s"], "host_layer": d, "host_layer_plain_s": p["time_s"], "host_layer_plain": p}
        if rank == 0:
            out.append(rec)
            log(f"tp{world} sp={sp} layer fwd+bwd host: {d['time_s']*1e6:.0f} us (plain {p['time_s']*1e6:.0f} us)")
        dist.barrier()
    return out


def gpu_time(fn, reps):
    s = torch.cuda.Event(enable_timing=True)
    e = torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(reps):
        s.record()
        fn()
        e.record()
        e.synchronize()
        samples.append(s.elapsed_time(e) / 1e3)
    return summarize(samples)


def overlap_records(world, rank, quick):
    dev = torch.device("cuda", torch.cuda.current_device())
    n = 2048 if quick else 8192
    a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    src = torch.empty(2**29 if not quick else 2**22, device=dev, dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    buf = torch.randn(2**27 if not quick else 2**20, device=dev, dtype=torch.bfloat16)  # 256 MiB
    kernels = {"gemm_bf16_8192": lambda: torch.matmul(a, b), "copy_1GiB": lambda: dst.copy_(src)}
    reps = 3 if quick else 20
    comm = torch.cuda.Stream()
    out = []
    for name, fn in kernels.items():
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        dist.barrier()
        alone = gpu_time(fn, reps)
        # keep NCCL busy for longer than the timed kernels
        torch.cuda.synchronize()
        dist.barrier()
        with torch.cuda.stream(comm):
            for _ in range(8 if quick else 40):
                dist.all_reduce(buf)
        busy = gpu_time(fn, reps)
        torch.cuda.synchronize()
        dist.barrier()
        rec = {"kind": "overlap_slowdown", "kernel": name, "world": world, "concurrent": "all_reduce 256 MiB",
               "time_alone_s": alone["time_s"], "alone": alone, "time_with_nccl_s": busy["time_s"],
               "with_nccl": busy, "slowdown": busy["time_s"] / alone["time_s"]}
        if rank == 0:
            out.append(rec)
            log(f"overlap {name}: alone {alone['time_s']*1e3:.3f} ms, with NCCL {busy['time_s']*1e3:.3f} ms")
    return out


def comm_overlap_records(world, rank, quick):
    """GPU time of NCCL collectives alone and while GEMMs run on the default
    stream (FSDP's gathers and reduce-scatters overlap compute): field slowdown
    = time_with_compute / time_alone, for each collective and size."""
    dev = torch.device("cuda", torch.cuda.current_device())
    n = 2048 if quick else 8192
    a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    comm = torch.cuda.Stream()
    reps = 3 if quick else 10
    out = []
    for kind in ("all_gather", "reduce_scatter", "all_reduce"):
        for mib in ((4,) if quick else (16, 64, 256)):
            elems = mib * 2**20 // 2
            full = torch.randn(elems, device=dev, dtype=torch.bfloat16)
            shard = torch.empty(elems // world, device=dev, dtype=torch.bfloat16)

            def coll(kind=kind, full=full, shard=shard):
                if kind == "all_gather":
                    dist.all_gather_into_tensor(full, shard)
                elif kind == "reduce_scatter":
                    dist.reduce_scatter_tensor(shard, full)
                else:
                    dist.all_reduce(full)

            for _ in range(3):
                coll()
            torch.cuda.synchronize()
            dist.barrier()
            alone = gpu_time(coll, reps)
            times = []
            for _ in range(reps):
                torch.cuda.synchronize()
                dist.barrier()
                for _ in range(6):  # keep the SMs busy for longer than the collective
                    torch.matmul(a, b)
                with torch.cuda.stream(comm):
                    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    s.record(comm)
                    coll()
                    e.record(comm)
                torch.cuda.synchronize()
                times.append(s.elapsed_time(e) / 1e3)
            busy = summarize(times)
            rec = {"kind": "comm_overlap_slowdown", "collective": kind, "bytes": mib * 2**20, "world": world,
                   "concurrent": f"bf16 GEMM {n}^3 x 6 on the default stream", "time_alone_s": alone["time_s"],
                   "alone": alone, "time_with_compute_s": busy["time_s"], "with_compute": busy,
                   "slowdown": busy["time_s"] / alone["time_s"]}
            if rank == 0:
                out.append(rec)
                log(f"comm overlap {kind} {mib} MiB x{world}: alone {alone['time_s']*1e3:.3f} ms, "
                    f"with GEMMs {busy['time_s']*1e3:.3f} ms ({rec['slowdown']:.2f}x)")
    return out


def moe_layer_records(world, rank, quick):
    """Host time of one eager MoE decoder layer's forward + backward (the
    training harness's Block with its MoE layer: router, softmax and top-k,
    argsort, index_select, batched expert GEMMs, index_add), on sizes so small
    that the GPU never waits the host out, next to the dense layer measured
    the same way. Each rank measures its own layers (no expert parallelism)."""
    M = harness_model()
    dev = torch.device("cuda", torch.cuda.current_device())
    layers, steps = 4, (3 if quick else 20)
    base = dict(arch="llama", n_layers=layers, hidden=256, n_heads=8, n_kv_heads=8, ffn_hidden=512, vocab=1024,
                tied=False, seq_len=64, activation_checkpointing="none")

    def host_per_layer(cfg):
        model = M.Transformer(cfg, first=False, last=False).to(dev, torch.bfloat16)
        x = torch.randn(1, cfg["seq_len"], cfg["hidden"], device=dev, dtype=torch.bfloat16, requires_grad=True)
        return host_time_per_layer(model, x, steps, layers)

    plain = host_per_layer(base)
    out = []
    for experts, top_k in ((8, 2), (16, 4)):
        d = host_per_layer(dict(base, n_experts=experts, top_k=top_k, moe_ffn_hidden=256, ep=1))
        rec = {"kind": "moe_layer_host", "experts": experts, "top_k": top_k, "layers": layers,
               "hidden": base["hidden"], "processes": world, "host_layer_s": d["time_s"], "host_layer": d,
               "host_layer_plain_s": plain["time_s"], "host_layer_plain": plain}
        if rank == 0:
            out.append(rec)
            log(f"MoE layer E={experts} k={top_k} fwd+bwd host: {d['time_s']*1e6:.0f} us "
                f"(dense {plain['time_s']*1e6:.0f} us)")
    dist.barrier()
    return out


def eager_layer_records(world, rank, quick, recomputes=("none",)):
    """Host time of one eager decoder layer's forward + backward for each block
    kind (Llama, GPT) and precision (bf16; AMP: fp32 parameters, autocast
    forward), on sizes so small that the GPU never waits the host out; for
    each of `recomputes` ("none"; "full": every block under the harness's
    non-reentrant torch.utils.checkpoint, record field "recompute")."""
    M = harness_model()
    dev = torch.device("cuda", torch.cuda.current_device())
    layers, steps = 4, (3 if quick else 20)
    blocks = {"llama": dict(arch="llama", n_heads=8, n_kv_heads=2, ffn_hidden=512, tied=False),
              "gpt": dict(arch="gpt", n_heads=8, n_kv_heads=8, ffn_hidden=1024, tied=True)}
    out = []
    for arch, shape, precision, recompute in [(a, s, p, r) for a, s in blocks.items()
                                              for p in ("bf16", "amp_bf16") for r in recomputes]:
        amp = precision == "amp_bf16"
        cfg = dict(shape, n_layers=layers, hidden=256, vocab=1024, seq_len=64, activation_checkpointing=recompute)
        model = M.Transformer(cfg, first=False, last=False, autocast_bf16=amp).to(dev)
        dtype = torch.float32 if amp else torch.bfloat16
        if not amp:
            model = model.to(torch.bfloat16)
        x = torch.randn(1, cfg["seq_len"], cfg["hidden"], device=dev, dtype=dtype, requires_grad=True)
        d = host_time_per_layer(model, x, steps, layers)
        fwd = host_time_per_layer(model, x, steps, layers, forward_only=True)
        rec = {"kind": "eager_layer_host", "arch": arch, "precision": precision, "layers": layers,
               "hidden": cfg["hidden"], "processes": world, "host_layer_s": d["time_s"], "host_layer": d,
               "host_forward_s": fwd["time_s"], "host_forward": fwd}
        if recompute != "none":
            rec["recompute"] = recompute
        if rank == 0:
            out.append(rec)
            log(f"eager {arch} {precision} recompute {recompute} layer fwd+bwd host: {d['time_s']*1e6:.0f} us "
                f"(forward alone {fwd['time_s']*1e6:.0f} us)")
    dist.barrier()
    return out


def wrapper_host_records(world, rank, quick):
    """Host time of DDP- and FSDP2-wrapped eager layers and of one-stage
    pipelining schedules, each beside the unwrapped equivalent (docstring, 7)."""
    M = harness_model()
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    from torch.nn.parallel import DistributedDataParallel as DDP
    dev = torch.device("cuda", torch.cuda.current_device())
    layers, steps = 4, (3 if quick else 20)
    cfg = dict(arch="llama", n_layers=layers, hidden=256, n_heads=8, n_kv_heads=2, ffn_hidden=512, vocab=1024,
               tied=False, seq_len=64, activation_checkpointing="none")
    mesh = init_device_mesh("cuda", (world,), mesh_dim_names=("dp",))
    out = []

    def build(precision):
        m = M.Transformer(cfg, first=False, last=False, autocast_bf16=precision == "amp_bf16").to(dev)
        return m.to(torch.bfloat16) if precision == "bf16" else m

    def measure(model, precision):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        x = torch.randn(1, cfg["seq_len"], cfg["hidden"], device=dev, dtype=dtype, requires_grad=True)
        return host_time_per_layer(model, x, steps, layers)

    plain = {pr: measure(build(pr), pr) for pr in ("bf16", "amp_bf16")}
    cases = [("ddp", "bf16"), ("ddp", "amp_bf16"), ("fsdp2_reshard", "bf16"), ("fsdp2_noreshard", "bf16"),
             ("fsdp2_reshard", "fsdp_mp_bf16"), ("fsdp2_reshard", "amp_bf16")]
    for wrapper, precision in cases:
        m = build("bf16" if precision == "bf16" else "fp32")
        if wrapper == "ddp":
            m = DDP(m, device_ids=[dev.index], process_group=mesh.get_group())
        else:
            kw = {"mesh": mesh, "reshard_after_forward": wrapper == "fsdp2_reshard"}
            if precision == "fsdp_mp_bf16":
                kw["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            for blk in m.layers.values():
                fully_shard(blk, **kw)
            fully_shard(m, **dict(kw, reshard_after_forward=False))
        if precision == "amp_bf16":
            (m.module if wrapper == "ddp" else m).autocast_bf16 = True
        d = measure(m, precision)
        base = plain["bf16" if precision == "bf16" else "amp_bf16"]
        rec = {"kind": "wrapper_host", "wrapper": wrapper, "precision": precision, "layers": layers,
               "hidden": cfg["hidden"], "processes": world, "host_layer_s": d["time_s"], "host_layer": d,
               "host_layer_plain_s": base["time_s"], "host_layer_plain": base,
               "plain_precision": "bf16" if precision == "bf16" else "amp_bf16"}
        if rank == 0:
            out.append(rec)
            log(f"{wrapper} {precision} layer fwd+bwd host: {d['time_s']*1e6:.0f} us "
                f"(unwrapped {base['time_s']*1e6:.0f} us)")
        dist.barrier()
    if world == 1:
        out += pipeline_host_records(M, cfg, dev, mesh, steps)
    return out


def pipeline_host_records(M, cfg, dev, mesh, steps):
    """Host time of one step of a one-stage GPipe / 1F1B schedule over n
    micro-batches (n = 2, 8) and of the same micro-batches in a plain loop."""
    from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe
    out = []

    def loss_fn(o, t):
        return o.float().sum() * t.sum()

    for n in (2, 8):
        m = M.Transformer(cfg, first=False, last=False).to(dev, torch.bfloat16)
        x = torch.randn(n, cfg["seq_len"], cfg["hidden"], device=dev, dtype=torch.bfloat16)
        t = torch.ones(n, device=dev)

        def plain_step():
            for i in range(n):
                loss_fn(m(x[i:i + 1]), t[i:i + 1]).backward()
        p = host_time_per_call(plain_step, steps)
        for name, Sched in (("gpipe", ScheduleGPipe), ("1f1b", Schedule1F1B)):
            mm = M.Transformer(cfg, first=False, last=False).to(dev, torch.bfloat16)
            stage = PipelineStage(mm, 0, 1, dev, group=mesh.get_group())
            sched = Sched(stage, n_microbatches=n, loss_fn=loss_fn)
            d = host_time_per_call(lambda sched=sched: sched.step(x, target=t, losses=[]), steps)
            out.append({"kind": "pipeline_host", "schedule": name, "stages": 1, "microbatches": n,
                        "layers": cfg["n_layers"], "hidden": cfg["hidden"], "host_step_s": d["time_s"],
                        "host_step": d, "host_step_plain_s": p["time_s"], "host_step_plain": p})
            log(f"one-stage {name} x{n} micro-batches, step host: {d['time_s']*1e6:.0f} us "
                f"(plain loop {p['time_s']*1e6:.0f} us)")
    return out


def step_host_records(world, rank, quick):
    """Host time of a whole tiny training step, train.py's plain loop
    (docstring, 8)."""
    M = harness_model()
    dev = torch.device("cuda", torch.cuda.current_device())
    steps = 3 if quick else 10
    base = dict(arch="llama", hidden=256, n_heads=8, n_kv_heads=2, ffn_hidden=512, vocab=1024, tied=False,
                seq_len=64, activation_checkpointing="none")
    out = []
    for precision in ("bf16", "amp_bf16"):
        amp = precision == "amp_bf16"
        lm = M.Transformer(dict(base, n_layers=4), first=False, last=False, autocast_bf16=amp).to(dev)
        if not amp:
            lm = lm.to(torch.bfloat16)
        xl = torch.randn(1, base["seq_len"], base["hidden"], device=dev,
                         dtype=torch.float32 if amp else torch.bfloat16, requires_grad=True)
        layer = host_time_per_layer(lm, xl, 20 if not quick else 3, 4)
        for layers in (2, 6):
            for ga in (1, 3):
                cfg = dict(base, n_layers=layers)
                model = M.Transformer(cfg, first=True, last=True, autocast_bf16=amp).to(dev)
                if not amp:
                    model = model.to(torch.bfloat16)
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1,
                                        fused=True)
                data = torch.randint(0, cfg["vocab"], (ga, cfg["seq_len"] + 1), device=dev)
                x_all, y_all = data[:, :-1].contiguous(), data[:, 1:].contiguous()

                def step(model=model, opt=opt, x_all=x_all, y_all=y_all, ga=ga):
                    for i in range(ga):
                        logits = model(x_all[i:i + 1])
                        loss = M.loss_fn(logits, y_all[i:i + 1]) / ga
                        loss.backward()
                        del logits, loss
                    opt.step()
                    opt.zero_grad(set_to_none=True)
                d = host_time_per_call(step, steps)
                rec = {"kind": "step_host", "arch": "llama", "precision": precision, "layers": layers,
                       "grad_accum": ga, "micro_batch": 1, "hidden": cfg["hidden"], "n_heads": cfg["n_heads"],
                       "n_kv_heads": cfg["n_kv_heads"], "ffn_hidden": cfg["ffn_hidden"], "vocab": cfg["vocab"],
                       "tied": cfg["tied"], "seq_len": cfg["seq_len"], "optimizer": "adamw_fused",
                       "processes": world,
                       "host_step_s": d["time_s"], "host_step": d, "host_layer_s": layer["time_s"],
                       "host_layer": layer}
                if rank == 0:
                    out.append(rec)
                    log(f"step host {precision} L={layers} ga={ga}: {d['time_s']*1e6:.0f} us "
                        f"(layer fwd+bwd {layer['time_s']*1e6:.0f} us)")
    dist.barrier()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only-comm-overlap", action="store_true",
                    help="measure only the collectives' slowdown under compute")
    ap.add_argument("--only-moe-host", action="store_true", help="measure only the eager MoE layer's host time")
    ap.add_argument("--only-wrapper-host", action="store_true",
                    help="measure only DDP's, FSDP2's and the pipelining schedules' host time")
    ap.add_argument("--only-layer-host", action="store_true",
                    help="measure only the eager layers' host time (Llama and GPT blocks, bf16 and AMP)")
    ap.add_argument("--only-recompute-host", action="store_true",
                    help="measure only the eager layers' host time with and without full activation checkpointing")
    ap.add_argument("--only-step-host", action="store_true",
                    help="measure only a whole tiny training step's host time (plain loop, fused AdamW)")
    args = ap.parse_args()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local))
    world, rank = dist.get_world_size(), dist.get_rank()
    results = []
    t0 = time.time()
    if args.only_moe_host:
        results += moe_layer_records(world, rank, args.quick)
    elif args.only_wrapper_host:
        results += wrapper_host_records(world, rank, args.quick)
    elif args.only_step_host:
        results += step_host_records(world, rank, args.quick)
    elif args.only_recompute_host:
        results += eager_layer_records(world, rank, args.quick, recomputes=("none", "full"))
    elif args.only_layer_host:
        results += eager_layer_records(world, rank, args.quick)
        results += moe_layer_records(world, rank, args.quick)
    else:
        if not args.only_comm_overlap:
            results += dtensor_records(world, rank, args.quick)
            results += tp_layer_records(world, rank, args.quick)
            results += overlap_records(world, rank, args.quick)
            results += moe_layer_records(world, rank, args.quick)
        results += comm_overlap_records(world, rank, args.quick)
    if rank == 0:
        write_json(args.out, {"results": results, "world_size": world, "wall_s": time.time() - t0,
                              "torch_version": torch.__version__})
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
