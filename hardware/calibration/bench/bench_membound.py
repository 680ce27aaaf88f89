"""Memory-bound kernels vs size, and the AdamW optimizer step.

Size axis: `size_bytes` = bytes of the primary bf16 input tensor
(n_elems = size_bytes / 2).  Each record states `bytes_read` and
`bytes_written` under an ideal model (every input read once, every output
written once, nothing else; small vectors such as norm weights are ignored),
and gbps = (bytes_read + bytes_written) / time / 1e9.  The op may be more
than one kernel in eager PyTorch (e.g. silu_mul); `n_kernels_eager` says how
many are launched for the forward.
"""
import math

import torch
import torch.nn.functional as F

from common import Timer, log

ROW_H = 4096          # row length for rmsnorm / layernorm / softmax
VOCAB = 32000         # row length for cross_entropy logits
ROW_SCATTER = 2048    # row length (hidden) for index_add


def sizes(quick=False):
    if quick:
        return [2**16, 2**22]
    lo, hi, n = 2**16, 2**31, 12
    out = []
    for i in range(n):
        b = lo * (hi / lo) ** (i / (n - 1))
        b = int(round(b / 65536.0)) * 65536
        out.append(max(b, 65536))
    return out


def _nsets(bytes_per_set, l2):
    return int(max(1, min(8, math.ceil(3 * l2 / max(bytes_per_set, 1)))))


def run(quick=False, l2_bytes=50 * 2**20, emit=None):
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.05, max_samples=15)
    bf = torch.bfloat16
    results = []

    def rec_for(op, size, n, br, bw, r, extra=None):
        rec = {"kind": "membound", "op": op, "dtype": "bf16", "size_bytes": size, "n_elems": n,
               "bytes_read": br, "bytes_written": bw}
        if extra:
            rec.update(extra)
        rec.update(r)
        rec["gbps"] = (br + bw) / r["time_s"] / 1e9
        return rec

    for size in sizes(quick):
        n = size // 2
        rows_h = max(1, n // ROW_H)
        rows_v = max(1, n // VOCAB)
        specs = []
        # (op, make_inputs(), fn(inputs) , bytes_read, bytes_written, extra, graph_ok, n_kernels)
        specs.append(("copy_d2d", lambda: (torch.randn(n, device=dev, dtype=bf), torch.empty(n, device=dev, dtype=bf)),
                      lambda t: t[1].copy_(t[0]), 2 * n, 2 * n, None, 1))
        specs.append(("add", lambda: (torch.randn(n, device=dev, dtype=bf), torch.randn(n, device=dev, dtype=bf)),
                      lambda t: t[0] + t[1], 4 * n, 2 * n, None, 1))
        specs.append(("gelu_tanh", lambda: (torch.randn(n, device=dev, dtype=bf),),
                      lambda t: F.gelu(t[0], approximate="tanh"), 2 * n, 2 * n, None, 1))
        specs.append(("silu_mul", lambda: (torch.randn(n, device=dev, dtype=bf), torch.randn(n, device=dev, dtype=bf)),
                      lambda t: F.silu(t[0]) * t[1], 4 * n, 2 * n, {"note": "n = elements of each input"}, 2))
        specs.append(("rmsnorm", lambda: (torch.randn(rows_h, ROW_H, device=dev, dtype=bf), torch.ones(ROW_H, device=dev, dtype=bf)),
                      lambda t: F.rms_norm(t[0], (ROW_H,), t[1], 1e-5), 2 * rows_h * ROW_H, 2 * rows_h * ROW_H,
                      {"rows": rows_h, "row_len": ROW_H}, None))
        specs.append(("layernorm", lambda: (torch.randn(rows_h, ROW_H, device=dev, dtype=bf), torch.ones(ROW_H, device=dev, dtype=bf),
                                            torch.zeros(ROW_H, device=dev, dtype=bf)),
                      lambda t: F.layer_norm(t[0], (ROW_H,), t[1], t[2], 1e-5), 2 * rows_h * ROW_H, 2 * rows_h * ROW_H,
                      {"rows": rows_h, "row_len": ROW_H}, 1))
        specs.append(("softmax", lambda: (torch.randn(rows_h, ROW_H, device=dev, dtype=bf),),
                      lambda t: torch.softmax(t[0], -1), 2 * rows_h * ROW_H, 2 * rows_h * ROW_H,
                      {"rows": rows_h, "row_len": ROW_H}, 1))
        specs.append(("cross_entropy", lambda: (torch.randn(rows_v, VOCAB, device=dev, dtype=bf),
                                                torch.randint(0, VOCAB, (rows_v,), device=dev)),
                      lambda t: F.cross_entropy(t[0], t[1]), 2 * rows_v * VOCAB, 0,
                      {"rows": rows_v, "row_len": VOCAB, "note": "bf16 logits, mean reduction"}, None))
        specs.append(("cast_bf16_to_fp32", lambda: (torch.randn(n, device=dev, dtype=bf),),
                      lambda t: t[0].float(), 2 * n, 4 * n, None, 1))
        specs.append(("cast_fp32_to_bf16", lambda: (torch.randn(n, device=dev, dtype=torch.float32),),
                      lambda t: t[0].to(bf), 4 * n, 2 * n, {"note": "input is n fp32 elements"}, 1))
        for op, mk, f, br, bw, extra, nk in specs:
            try:
                ins = mk()
                per_set = sum(x.numel() * x.element_size() for x in ins)
                ns = _nsets(per_set, l2_bytes)
                sets = [ins] + [mk() for _ in range(ns - 1)]
                r = timer.run(lambda i, sets=sets, ns=ns, f=f: f(sets[i % ns]))
                e = dict(extra or {})
                e["n_operand_sets"] = ns
                e["phase"] = "fwd"
                if nk is not None:
                    e["n_kernels_eager"] = nk
                results.append(rec_for(op, size, n, br, bw, r, e))
                del sets, ins
            except Exception as ex:  # noqa: BLE001
                results.append({"kind": "membound", "op": op, "size_bytes": size, "phase": "fwd",
                                "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
        # forward+backward of the activation / norm / loss ops
        bw_specs = [
            ("gelu_tanh", (n,), lambda x, w: F.gelu(x, approximate="tanh"), 2 * n + 2 * n + 2 * n, 2 * n + 2 * n,
             "fwd: read x write y; bwd: read x, dy write dx"),
            ("rmsnorm", (rows_h, ROW_H), lambda x, w: F.rms_norm(x, (ROW_H,), w, 1e-5),
             3 * 2 * rows_h * ROW_H, 2 * 2 * rows_h * ROW_H, "fwd: read x write y; bwd: read x, dy write dx"),
            ("layernorm", (rows_h, ROW_H), lambda x, w: F.layer_norm(x, (ROW_H,), w, None, 1e-5),
             3 * 2 * rows_h * ROW_H, 2 * 2 * rows_h * ROW_H, "fwd: read x write y; bwd: read x, dy write dx"),
            ("softmax", (rows_h, ROW_H), lambda x, w: torch.softmax(x, -1),
             3 * 2 * rows_h * ROW_H, 2 * 2 * rows_h * ROW_H, "fwd: read x write y; bwd: read y, dy write dx"),
        ]
        for op, shape, f, br, bw, note in bw_specs:
            try:
                x = torch.randn(*shape, device=dev, dtype=bf, requires_grad=True)
                w = torch.ones(shape[-1], device=dev, dtype=bf, requires_grad=True)
                dy = torch.randn(*shape, device=dev, dtype=bf)

                def fb(i, x=x, w=w, dy=dy, f=f):
                    y = f(x, w)
                    return torch.autograd.grad(y, (x,), dy)

                r = timer.run(fb)
                results.append(rec_for(op, size, x.numel(), br, bw, r,
                                       {"phase": "fwd_bwd", "bytes_model": note}))
                del x, w, dy
            except Exception as ex:  # noqa: BLE001
                results.append({"kind": "membound", "op": op, "size_bytes": size, "phase": "fwd_bwd",
                                "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
        try:  # cross entropy fwd+bwd
            lg = torch.randn(rows_v, VOCAB, device=dev, dtype=bf, requires_grad=True)
            tg = torch.randint(0, VOCAB, (rows_v,), device=dev)

            def ceb(i, lg=lg, tg=tg):
                return torch.autograd.grad(F.cross_entropy(lg, tg), (lg,))

            r = timer.run(ceb)
            nn_ = rows_v * VOCAB
            results.append(rec_for("cross_entropy", size, nn_, 2 * nn_ * 2, 2 * nn_ * 2, r,
                                   {"phase": "fwd_bwd", "rows": rows_v, "row_len": VOCAB,
                                    "bytes_model": "fwd: read logits write log-probs; bwd: read log-probs write dlogits"}))
            del lg, tg
        except Exception as ex:  # noqa: BLE001
            results.append({"kind": "membound", "op": "cross_entropy", "size_bytes": size, "phase": "fwd_bwd",
                            "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
        torch.cuda.empty_cache()
        log(f"membound size {size}: {len(results)} records")
        if emit:
            emit(results)

    # ---------------- AdamW optimizer step ----------------
    counts = [2**20, 2**22, 2**24, 2**26, 2**28, 2**30] if not quick else [2**20, 2**22]
    chunk = 2**24
    opt_timer = Timer(quick=quick, budget_s=0.08, max_samples=10, max_inner=16)
    for pdtype, pname in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        for impl in ("fused", "foreach"):
            for cnt in counts:
                rec = {"kind": "optimizer", "op": "adamw", "impl": impl, "param_dtype": pname,
                       "state_dtype": pname, "grad_dtype": pname, "n_params": cnt}
                try:
                    sizes_l = [chunk] * (cnt // chunk) if cnt >= chunk else [cnt]
                    params = [torch.nn.Parameter(torch.randn(s, device=dev, dtype=pdtype) * 0.02) for s in sizes_l]
                    for p in params:
                        p.grad = torch.randn_like(p) * 1e-3
                    kw = {"fused": True} if impl == "fused" else {"foreach": True}
                    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, **kw)
                    opt.step()  # allocate state
                    r = opt_timer.run(lambda i, opt=opt: opt.step(), allow_graph=False)
                    eb = params[0].element_size()
                    rec.update(r)
                    rec["n_tensors"] = len(params)
                    rec["bytes_read"] = 4 * eb * cnt    # param, grad, exp_avg, exp_avg_sq
                    rec["bytes_written"] = 3 * eb * cnt  # param, exp_avg, exp_avg_sq
                    rec["gbps"] = (rec["bytes_read"] + rec["bytes_written"]) / r["time_s"] / 1e9
                    rec["time_per_param_s"] = r["time_s"] / cnt
                    del opt, params
                except Exception as ex:  # noqa: BLE001
                    rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
                results.append(rec)
                torch.cuda.empty_cache()
            log(f"adamw {pname} {impl} done")
            if emit:
                emit(results)
    return results, {"sizes_bytes": sizes(quick), "row_len_norm": ROW_H, "row_len_ce": VOCAB}


def run_scatter(quick=False, l2_bytes=50 * 2**20, emit=None):
    """index_add_ of bf16 rows (the eager MoE combine and index_select's backward):
    `size_bytes` of source rows of ROW_SCATTER elements are added into rows / k
    destination rows, k rows per destination in a random order (top-k routing
    after an argsort by expert). bytes_read = source + destination, bytes_written =
    destination, as for any memory-bound op; the time shows the atomic adds."""
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.05, max_samples=15)
    bf = torch.bfloat16
    results = []
    lo, hi = 2**20, 2**29
    n_sizes = 2 if quick else 8
    for i in range(n_sizes):
        size = int(lo * (hi / lo) ** (i / max(1, n_sizes - 1)))
        rows = max(8, size // (2 * ROW_SCATTER)) // 8 * 8
        for k in (1, 2, 4, 8):
            try:
                dst_rows = rows // k
                g = torch.Generator(device=dev)
                g.manual_seed(1234 + k)
                index = (torch.randperm(rows, device=dev, generator=g) // k).contiguous()
                ns = _nsets(rows * ROW_SCATTER * 2, l2_bytes)
                sets = [(torch.randn(rows, ROW_SCATTER, device=dev, dtype=bf),
                         torch.zeros(dst_rows, ROW_SCATTER, device=dev, dtype=bf)) for _ in range(ns)]
                r = timer.run(lambda j, sets=sets, ns=ns, index=index: sets[j % ns][1].index_add_(0, index, sets[j % ns][0]))
                n = rows * ROW_SCATTER
                rec = {"kind": "membound", "op": "index_add", "dtype": "bf16", "size_bytes": 2 * n, "n_elems": n,
                       "bytes_read": 2 * n + 2 * dst_rows * ROW_SCATTER, "bytes_written": 2 * dst_rows * ROW_SCATTER,
                       "rows": rows, "row_len": ROW_SCATTER, "top_k": k, "phase": "fwd", "n_kernels_eager": 1,
                       "n_operand_sets": ns}
                rec.update(r)
                rec["gbps"] = (rec["bytes_read"] + rec["bytes_written"]) / r["time_s"] / 1e9
                results.append(rec)
                del sets, index
            except Exception as ex:  # noqa: BLE001
                results.append({"kind": "membound", "op": "index_add", "size_bytes": size, "top_k": k, "phase": "fwd",
                                "error": f"{type(ex).__name__}: {str(ex)[:300]}"})
        torch.cuda.empty_cache()
        log(f"scatter size {size}: {len(results)} records")
        if emit:
            emit(results)
    return results, {"row_len": ROW_SCATTER, "top_k": [1, 2, 4, 8]}
