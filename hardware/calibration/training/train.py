#!/usr/bin/env python3
"""Train the validation transformer for a few steps under one parallel
configuration and write a JSON result (rank 0).

    python3 train.py --config-json '{...}' --result out.json              (1 GPU)
    torchrun --nproc_per_node N train.py --config-json '{...}' --result R  (N GPUs)

Config keys; any left out take configs.py's DEFAULTS, and "model" (a key
of configs.MODELS) fills the shape keys; unknown keys are an error:
  arch, n_layers, hidden, n_heads, n_kv_heads, ffn_hidden, vocab, tied, seq_len
  micro_batch, grad_accum (no PP), n_microbatches (PP)
  precision: "bf16"         params, grads and AdamW states in bf16, no autocast
             "amp_bf16"     fp32 params/grads/states, torch.autocast(bf16) forward
             "fsdp_mp_bf16" fp32 params/states, FSDP2 MixedPrecisionPolicy
                            (param_dtype=bf16, reduce_dtype=fp32)
  optimizer: "adamw_fused" | "adamw_foreach"   (torch.optim.AdamW)
  dp, dp_impl ("none"|"ddp"|"fsdp2"), fsdp_reshard_after_forward, ddp_bucket_mb
  tp, sp (sequence parallel), pp, pp_schedule ("gpipe"|"1f1b")
  With one GPU, dp_impl "ddp"/"fsdp2" (dp = 1) or a pp_schedule (pp = 1)
     still wraps the model in DDP / FSDP2 / a one-stage pipelining schedule
     over a one-rank process group: the framework's own cost (its copies,
     hooks and host work) measured without any communication.
  n_experts, top_k, moe_ffn_hidden, ep: MoE layers (model.MoE) with expert
     parallelism over the DP ranks (ep == dp, dp_impl "ddp", tp = pp = 1):
     DDP reduces the dense parameters only, each rank owns its experts
  activation_checkpointing ("none"|"full"), compile (per-block torch.compile)
  warmup_steps, timed_steps
Mesh order (outer to inner): pp, dp, tp  (TP groups are adjacent ranks).
"""
import argparse
import contextlib
import json
import os
import sys
import time
import traceback

for _k, _v in (("NCCL_NVLS_ENABLE", "0"), ("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1"),
               ("NVSHMEM_DISABLE_NVLS", "1")):
    os.environ[_k] = _v

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def probe_flash_gqa():
    import torch.nn.functional as F
    q = torch.randn(1, 8, 128, 64, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, 2, 128, 64, device="cuda", dtype=torch.bfloat16)
    try:
        F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
        torch.cuda.synchronize()
        return True
    except Exception:  # noqa: BLE001
        return False


def tp_parallelize(model, tp_mesh, cfg, loss_parallel_out):
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.parallel import (ColwiseParallel, PrepareModuleInput, RowwiseParallel,
                                                   SequenceParallel, parallelize_module)
    sp = cfg["sp"]
    top = {}
    if model.tok_embeddings is not None:
        top["tok_embeddings"] = RowwiseParallel(input_layouts=Replicate(),
                                                output_layouts=Shard(1) if sp else Replicate())
    if model.output is not None:
        if sp:
            top["norm"] = SequenceParallel()
        if loss_parallel_out:
            top["output"] = ColwiseParallel(input_layouts=Shard(1) if sp else Replicate(),
                                            output_layouts=Shard(-1), use_local_output=False)
        else:
            top["output"] = ColwiseParallel(input_layouts=Shard(1) if sp else Replicate(),
                                            output_layouts=Replicate())
    if top:
        parallelize_module(model, tp_mesh, top)
    gpt = cfg["arch"] == "gpt"
    for blk in model.layers.values():
        plan = {
            "attention.wq": ColwiseParallel(),
            "attention.wk": ColwiseParallel(),
            "attention.wv": ColwiseParallel(),
            "attention.wo": RowwiseParallel(output_layouts=Shard(1)) if sp else RowwiseParallel(),
        }
        if gpt:
            plan["feed_forward.fc"] = ColwiseParallel()
            plan["feed_forward.proj"] = RowwiseParallel(output_layouts=Shard(1)) if sp else RowwiseParallel()
        else:
            plan["feed_forward.w1"] = ColwiseParallel()
            plan["feed_forward.w3"] = ColwiseParallel()
            plan["feed_forward.w2"] = RowwiseParallel(output_layouts=Shard(1)) if sp else RowwiseParallel()
        if sp:
            plan["attention_norm"] = SequenceParallel()
            plan["ffn_norm"] = SequenceParallel()
            plan["attention"] = PrepareModuleInput(input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),))
            plan["feed_forward"] = PrepareModuleInput(input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),))
        parallelize_module(blk, tp_mesh, plan)


def _union_s(intervals):
    """Seconds covered by a set of [start, end) intervals in microseconds."""
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total / 1e6


def is_annotation(name):
    """The profiler's step and optimizer ranges, shown on the GPU timeline but no kernels."""
    return name.startswith("ProfilerStep") or name.startswith("Optimizer.")


def idle_gaps(kernels, step_range):
    """The GPU's idle intervals within the profiled step (rank 0, all streams
    merged): from the step's start (host) to the first kernel, between kernels,
    and from the last kernel to the step's end; the 40 longest, in time order,
    each with the kernels on either side, so the host-bound stretches can be
    located."""
    spans = sorted((e.time_range.start, e.time_range.end, e.name[:100]) for e in kernels
                   if not is_annotation(e.name))
    if not spans:
        return {}
    gaps = []
    t0 = step_range[0] if step_range else spans[0][0]
    end, before = t0, "(step start)"
    for s, e, n in spans:
        if s > end:
            gaps.append({"at_s": (end - t0) / 1e6, "gap_s": (s - end) / 1e6, "before": before, "after": n})
        if e >= end:
            end, before = e, n
    if step_range and step_range[1] > end:
        gaps.append({"at_s": (end - t0) / 1e6, "gap_s": (step_range[1] - end) / 1e6, "before": before,
                     "after": "(step end)"})
    longest = sorted(gaps, key=lambda g: -g["gap_s"])[:40]
    return {"idle_s": sum(g["gap_s"] for g in gaps), "idle_gaps": len(gaps),
            "step_span_s": ((step_range[1] if step_range else end) - t0) / 1e6,
            "longest_idle_gaps": sorted(longest, key=lambda g: g["at_s"])}


def gpu_time_breakdown(kernels):
    """Where rank 0's GPU time went: the union of compute-kernel and of NCCL-kernel
    intervals, their overlap, and kernels grouped by name (count, total time), so a
    prediction's per-op breakdown can be checked against the real step. (Profiles
    before session 6 counted the profiler's step range as a compute kernel, so
    their compute_kernel_busy_s is the step's span.)"""
    def span(e):
        return (e.time_range.start, e.time_range.end)
    kernels = [e for e in kernels if not is_annotation(e.name)]
    nccl = [span(e) for e in kernels if "nccl" in e.name.lower()]
    comp = [span(e) for e in kernels if "nccl" not in e.name.lower()]
    comp_s, nccl_s = _union_s(comp), _union_s(nccl)
    by_name = {}
    for e in kernels:
        k = e.name[:160]
        c, t = by_name.get(k, (0, 0.0))
        by_name[k] = (c + 1, t + e.device_time / 1e6)
    top = sorted(by_name.items(), key=lambda kv: kv[1][1], reverse=True)[:120]
    return {"compute_kernel_busy_s": comp_s, "nccl_kernel_busy_s": nccl_s,
            "compute_nccl_overlap_s": comp_s + nccl_s - _union_s(comp + nccl),
            "top_gpu_kernels": [{"name": n, "count": c, "total_s": t} for n, (c, t) in top]}


def host_probe(dev):
    """This process's host speed, after its timed steps: the host time of one
    eager forward + backward of bench_framework.py's plain Llama layer (hidden
    256, bf16; the calibration's `host.layers` measures the same layer), with
    whatever else shares the host at the time (the other ranks of this run,
    concurrent jobs). A run's host-bound steps move with it between machine
    instances; recorded so that a comparison can tell the host's speed from
    the model's error. Never fails the run: an error is recorded instead."""
    try:
        from bench_framework import host_time_per_layer  # bench/ is on sys.path (main)
        layers = 4
        cfg = dict(arch="llama", n_layers=layers, hidden=256, n_heads=8, n_kv_heads=8, ffn_hidden=512,
                   vocab=1024, tied=False, seq_len=64, activation_checkpointing="none")
        probe = M.Transformer(cfg, first=False, last=False).to(dev, torch.bfloat16)
        x = torch.randn(1, cfg["seq_len"], cfg["hidden"], device=dev, dtype=torch.bfloat16, requires_grad=True)
        d = host_time_per_layer(probe, x, 20, layers)
        del probe, x
        return {"host_probe_layer_s": d["time_s"], "host_probe_layer": d}
    except Exception as e:  # noqa: BLE001
        return {"host_probe_error": repr(e)[:500]}


def profile_one_step(step, cfg, rank, out_dir):
    """One more step under torch.profiler; rank 0 writes where host and GPU
    time went: wall time, GPU kernel time, kernel count, and the ops with the
    most self CPU time (<name>-profile.json; not part of the timed result)."""
    from torch.profiler import ProfilerActivity, profile, schedule
    torch.cuda.synchronize()
    # Two profiled warm-up steps first: the first step under the profiler runs
    # slow on some ranks, and NCCL kernels then wait the difference out.
    wall = 0.0
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA],
                 schedule=schedule(wait=0, warmup=2, active=1, repeat=1)) as prof:
        for _ in range(3):
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            wall = time.perf_counter() - t0
            prof.step()
    if rank != 0:
        return
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    steps = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CPU
             and e.name.startswith("ProfilerStep")]
    step_range = (steps[-1].time_range.start, steps[-1].time_range.end) if steps else None
    gpu_s = sum(e.device_time for e in kernels if not is_annotation(e.name)) / 1e6 if kernels else 0.0
    avg = prof.key_averages()
    top = sorted(avg, key=lambda a: a.self_cpu_time_total, reverse=True)[:40]
    summary = {
        "config": cfg["name"], "wall_s_under_profiler": wall, "gpu_kernel_time_s": gpu_s,
        "gpu_kernels": len(kernels),
        **gpu_time_breakdown(kernels),
        **idle_gaps(kernels, step_range),
        "cpu_ops_total": sum(a.count for a in avg if a.device_type == torch.autograd.DeviceType.CPU),
        "top_self_cpu": [{"name": a.key, "count": a.count, "self_cpu_s": a.self_cpu_time_total / 1e6,
                          "cpu_total_s": a.cpu_time_total / 1e6} for a in top],
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{cfg['name']}-profile.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"PROFILE {cfg['name']}: wall {wall*1e3:.1f} ms, GPU kernels {gpu_s*1e3:.1f} ms in {len(kernels)} kernels",
          flush=True)


def run(cfg, result_path, profile_dir=None):
    t_start = time.time()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    dev = torch.device("cuda", local)
    dp, tp, pp = cfg["dp"], cfg["tp"], cfg["pp"]
    assert dp * tp * pp == world, f"dp*tp*pp={dp * tp * pp} != world {world}"
    info = {"sdpa": {}}
    # SDPA: flash only (no silent fallback to another kernel)
    torch.backends.cuda.enable_flash_sdp(True)
    torch.backends.cuda.enable_mem_efficient_sdp(False)
    torch.backends.cuda.enable_cudnn_sdp(False)
    torch.backends.cuda.enable_math_sdp(False)
    M.SDPA_ENABLE_GQA = probe_flash_gqa()
    info["sdpa"] = {"backend": "flash", "gqa_impl": "enable_gqa" if M.SDPA_ENABLE_GQA else "repeat_interleave"}

    # one-rank wrappers (see the docstring): a process group of one
    wrap_dp = dp > 1 or cfg["dp_impl"] in ("ddp", "fsdp2")
    wrap_pp = pp > 1 or bool(cfg.get("pp_schedule"))
    mesh = None
    if world > 1 or wrap_dp or wrap_pp:
        if world == 1:
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
            dist.init_process_group("nccl", device_id=dev, rank=0, world_size=1)
        else:
            dist.init_process_group("nccl", device_id=dev)
        from torch.distributed.device_mesh import init_device_mesh
        dims = [(n, s) for n, s in (("pp", pp), ("dp", dp), ("tp", tp))
                if s > 1 or (n == "pp" and wrap_pp) or (n == "dp" and wrap_dp)]
        mesh = init_device_mesh("cuda", tuple(s for _, s in dims), mesh_dim_names=tuple(n for n, _ in dims))

    def sub(name):
        return mesh if mesh.ndim == 1 else mesh[name]

    if world == 1 and mesh is not None:
        info["one_rank_wrapper"] = ("one-stage pipelining schedule" if wrap_pp else cfg["dp_impl"]) + \
            " over a process group of one rank (no communication)"
    pp_rank = sub("pp").get_local_rank() if wrap_pp else 0
    dp_rank = sub("dp").get_local_rank() if wrap_dp else 0

    prec = cfg["precision"]
    amp = prec == "amp_bf16"
    if prec == "fsdp_mp_bf16":
        assert cfg["dp_impl"] == "fsdp2", "fsdp_mp_bf16 needs dp_impl=fsdp2"
    L = cfg["n_layers"]
    if wrap_pp:
        assert L % pp == 0, "n_layers must divide by pp"
        per = L // pp
        layer_ids = list(range(pp_rank * per, (pp_rank + 1) * per))
        first, last = pp_rank == 0, pp_rank == pp - 1
    else:
        layer_ids, first, last = list(range(L)), True, True
    info["pp_layer_ids"] = layer_ids
    torch.manual_seed(1000 + pp_rank)
    with torch.device(dev):
        model = M.Transformer(cfg, first=first, last=last, layer_ids=layer_ids, autocast_bf16=amp)
    if prec == "bf16":
        model = model.to(torch.bfloat16)
    n_params_local_unsharded = sum(p.numel() for p in model.parameters())

    use_loss_parallel = tp > 1 and pp == 1
    if tp > 1:
        tp_parallelize(model, sub("tp"), cfg, loss_parallel_out=use_loss_parallel)
    info["tp_output"] = ("loss_parallel (logits sharded on vocab)" if use_loss_parallel
                         else ("all-gathered logits (Replicate)" if tp > 1 else None))
    if cfg["compile"]:
        for blk in model.layers.values():
            blk.compile()
        info["compile_scope"] = "per transformer block (nn.Module.compile)"

    ep = cfg.get("ep", 1)
    if cfg.get("n_experts", 0) > 0 and ep > 1:
        assert ep == dp and tp == 1 and pp == 1 and cfg["dp_impl"] == "ddp", \
            "expert parallelism is run as ep == dp with DDP, tp = pp = 1"
        M.EP_GROUP = sub("dp").get_group()
        info["ep_group"] = "the DP group (ep == dp): experts are not replicated, DDP skips them"
    wrapped = model
    if wrap_dp and cfg["dp_impl"] == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP
        if cfg.get("n_experts", 0) > 0 and ep > 1:
            experts = [n for n, _ in model.named_parameters() if n.rsplit(".", 1)[-1] in ("w1", "w2", "w3")
                       and ".feed_forward." in n]
            DDP._set_params_and_buffers_to_ignore_for_model(model, experts)
        wrapped = DDP(model, device_ids=[local], bucket_cap_mb=cfg["ddp_bucket_mb"],
                      process_group=sub("dp").get_group())
    elif wrap_dp and cfg["dp_impl"] == "fsdp2":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
        kw = {"mesh": sub("dp")}
        if prec == "fsdp_mp_bf16":
            kw["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        for blk in model.layers.values():
            fully_shard(blk, reshard_after_forward=cfg["fsdp_reshard_after_forward"], **kw)
        fully_shard(model, reshard_after_forward=False, **kw)
        info["fsdp_root_reshard_after_forward"] = False
        info["fsdp_units"] = "each transformer block + root (embeddings, final norm, output)"
    elif dp > 1:
        raise ValueError("dp > 1 needs dp_impl ddp or fsdp2")

    # fused/foreach AdamW cannot mix DTensor and plain-tensor params in one call (TP without SP
    # leaves the norms as plain tensors): one param group per kind, same hyper-parameters.
    params = [p for p in model.parameters() if p.requires_grad]
    from torch.distributed.tensor import DTensor
    is_dt = [isinstance(p, DTensor) for p in params]
    groups = [{"params": [p for p, d in zip(params, is_dt) if d]},
              {"params": [p for p, d in zip(params, is_dt) if not d]}]
    groups = [gr for gr in groups if gr["params"]]
    info["optimizer_param_groups"] = len(groups)
    okw = {"fused": True} if cfg["optimizer"] == "adamw_fused" else {"foreach": True}
    opt = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1, **okw)

    # data: random tokens, identical across TP/PP ranks of one DP replica
    mbs, S, V = cfg["micro_batch"], cfg["seq_len"], cfg["vocab"]
    n_mb = cfg["n_microbatches"] if wrap_pp else cfg["grad_accum"]
    g = torch.Generator(device=dev)
    g.manual_seed(4242 + dp_rank)
    data = torch.randint(0, V, (n_mb * mbs, S + 1), device=dev, generator=g)
    x_all, y_all = data[:, :-1].contiguous(), data[:, 1:].contiguous()

    from torch.distributed.tensor.parallel import loss_parallel
    lp_ctx = loss_parallel if use_loss_parallel else contextlib.nullcontext

    if wrap_pp:
        from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe
        stage = PipelineStage(wrapped, pp_rank, pp, dev, group=sub("pp").get_group())
        Sched = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}[cfg["pp_schedule"]]
        sched = Sched(stage, n_microbatches=n_mb, loss_fn=M.loss_fn)

        def step():
            if first and last:  # a one-stage schedule (pp = 1)
                losses = []
                sched.step(x_all, target=y_all, losses=losses)
            elif first:
                sched.step(x_all)
            elif last:
                losses = []
                sched.step(target=y_all, losses=losses)
            else:
                sched.step()
            opt.step()
            opt.zero_grad(set_to_none=True)
    else:
        is_ddp = wrap_dp and cfg["dp_impl"] == "ddp"
        is_fsdp = wrap_dp and cfg["dp_impl"] == "fsdp2"

        def step():
            for i in range(n_mb):
                last_mb = i == n_mb - 1
                ctx = contextlib.nullcontext()
                if is_ddp and not last_mb:
                    ctx = wrapped.no_sync()
                if is_fsdp and n_mb > 1:
                    wrapped.set_requires_gradient_sync(last_mb)
                with ctx:
                    logits = wrapped(x_all[i * mbs:(i + 1) * mbs])
                    with lp_ctx():
                        loss = M.loss_fn(logits, y_all[i * mbs:(i + 1) * mbs]) / n_mb
                        loss.backward()
                del logits, loss
            opt.step()
            opt.zero_grad(set_to_none=True)

    torch.cuda.synchronize()
    mem_after_init = torch.cuda.memory_allocated()
    t_init = time.time() - t_start
    warm_times = []
    for _ in range(cfg["warmup_steps"]):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        warm_times.append(time.perf_counter() - t0)
    mem_after_warmup = torch.cuda.memory_allocated()
    peak_before_reset = torch.cuda.max_memory_allocated()
    reserved_before_reset = torch.cuda.max_memory_reserved()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(cfg["timed_steps"]):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak_steady = torch.cuda.max_memory_allocated()
    reserved_steady = torch.cuda.max_memory_reserved()
    probe = host_probe(dev)
    if profile_dir:
        profile_one_step(step, cfg, rank, profile_dir)
    mine = {
        "rank": rank, "pp_rank": pp_rank, "dp_rank": dp_rank,
        "tp_rank": sub("tp").get_local_rank() if tp > 1 else 0,
        "step_times_s": times, "warmup_step_times_s": warm_times,
        "n_params_local_unsharded": n_params_local_unsharded,
        "n_params_local_stored": sum(
            (p.to_local().numel() if hasattr(p, "to_local") else p.numel()) for p in model.parameters()),
        "mem_after_init_bytes": mem_after_init,
        "mem_after_warmup_bytes": mem_after_warmup,
        "peak_alloc_incl_init_and_warmup_bytes": max(peak_before_reset, peak_steady),
        "peak_alloc_steady_bytes": peak_steady,
        "peak_reserved_incl_warmup_bytes": max(reserved_before_reset, reserved_steady),
        "peak_reserved_steady_bytes": reserved_steady,
        "init_wall_s": t_init,
        **probe,
    }
    if mesh is not None:
        allr = [None] * world
        dist.all_gather_object(allr, mine)
    else:
        allr = [mine]
    if rank == 0:
        import statistics
        from common import summarize  # bench/common.py
        n = len(times)
        step_max = [max(r["step_times_s"][i] for r in allr) for i in range(n)]
        s = summarize(step_max)
        gb = mbs * n_mb * dp
        res = {
            "status": "ok",
            "config": cfg,
            "derived": {
                "n_gpus": world,
                "global_batch_sequences": gb,
                "tokens_per_step": gb * S,
                "micro_batches_per_step": n_mb,
                "n_params_total_analytic": M.param_count(cfg),
                "tied_embeddings": bool(cfg.get("tied", False)) and pp == 1,
                "precision_detail": {
                    "bf16": "params/grads/AdamW states bf16, no autocast",
                    "amp_bf16": "params/grads/AdamW states fp32, forward under torch.autocast(bf16)",
                    "fsdp_mp_bf16": "fp32 sharded params/states; FSDP2 MixedPrecisionPolicy param bf16, reduce fp32",
                }[prec],
                "loss": "cross_entropy on logits upcast to fp32 (.float())",
                **info,
            },
            "step_time": s,
            "step_time_definition": "per timed step: max over ranks of wall time between torch.cuda.synchronize() "
                                    "before and after (fwd+bwd of all micro-batches + optimizer step + zero_grad); "
                                    "statistics over timed steps",
            "step_time_s": s["time_s"],
            "tokens_per_s": gb * S / s["time_s"],
            "rank0_step_time_median_s": statistics.median(times),
            "peak_alloc_steady_bytes_max_over_ranks": max(r["peak_alloc_steady_bytes"] for r in allr),
            "peak_alloc_incl_init_and_warmup_bytes_max_over_ranks": max(
                r["peak_alloc_incl_init_and_warmup_bytes"] for r in allr),
            "per_rank": allr,
            # the slowest rank's host probe (host_probe): its steps wait on the slowest host
            "host_probe_layer_s_max_over_ranks": max((r.get("host_probe_layer_s", 0.0) for r in allr), default=0.0),
            "versions": {"torch": torch.__version__, "cuda": torch.version.cuda,
                         "nccl": ".".join(map(str, torch.cuda.nccl.version())) if mesh is not None else None,
                         "gpu": torch.cuda.get_device_name(dev)},
            "wall_s": time.time() - t_start,
        }
        with open(result_path, "w") as f:
            json.dump(res, f, indent=1)
        print(f"RESULT {cfg['name']}: step {s['time_s'] * 1e3:.1f} ms (p10 {s['time_p10_s'] * 1e3:.1f}, "
              f"p90 {s['time_p90_s'] * 1e3:.1f}), peak steady {res['peak_alloc_steady_bytes_max_over_ranks'] / 2**30:.2f} GiB",
              flush=True)
    if mesh is not None:
        dist.barrier()
        dist.destroy_process_group()


def complete_config(given):
    """A config as configs.C builds it: configs.DEFAULTS, then the shape of
    configs.MODELS[given["model"]] when it names one, then `given`; n_gpus
    from dp x tp x pp. A key neither configs.py nor train.py knows stops the
    run (a misspelt key would otherwise be ignored)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import configs  # noqa: E402
    cfg = dict(configs.DEFAULTS)
    if "model" in given:
        if given["model"] not in configs.MODELS:
            sys.exit(f"train.py: unknown model {given['model']!r}; configs.MODELS has {sorted(configs.MODELS)}")
        cfg.update(configs.MODELS[given["model"]])
    known = set(cfg) | {k for m in configs.MODELS.values() for k in m} | {"name", "model", "n_gpus"}
    unknown = sorted(set(given) - known)
    if unknown:
        sys.exit(f"train.py: unknown config key(s) {unknown}; train.py's docstring and configs.py list them")
    cfg.update(given)
    cfg.setdefault("name", "manual")
    cfg["n_gpus"] = cfg["dp"] * cfg["tp"] * cfg["pp"]
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--profile", default=None, help="also profile one extra step; write DIR/<name>-profile.json")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    cfg = complete_config(json.loads(a.config_json))
    try:
        run(cfg, a.result, a.profile)
    except Exception:  # noqa: BLE001
        tb = traceback.format_exc()
        print(tb, file=sys.stderr, flush=True)
        rank = int(os.environ.get("RANK", "0"))
        path = a.result if rank == 0 else f"{a.result}.rank{rank}"
        with open(path, "w") as f:
            json.dump({"status": "failed", "config": cfg, "rank": rank, "error": tb[-4000:]}, f, indent=1)
        sys.exit(1)


if __name__ == "__main__":
    main()
