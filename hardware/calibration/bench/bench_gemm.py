"""Matrix-product microbenchmarks (bf16 via torch.matmul, fp8 via torch._scaled_mm).

Convention: C[M,N] = A[M,K] @ B[K,N], flops = 2*M*N*K.
For a Linear layer y = x W^T with x:[tokens, in], W:[out, in]:
  fwd   : M=tokens, N=out, K=in      layout "NT"  (torch.matmul(x, W.t()))
  dgrad : M=tokens, N=in,  K=out     layout "NN"  (torch.matmul(dy, W))
  wgrad : M=out,    N=in,  K=tokens  layout "TN"  (torch.matmul(dy.t(), x))
"""
import math

import torch

from common import Timer, log, nvml_clocks

HIDDENS = [1024, 2048, 4096, 8192]
TOKENS = [512, 2048, 8192, 16384]
TP_DEGREES = [1, 2, 4, 8]
VOCABS = [32000, 128256]
SQUARES = [256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]
HEAD_DIM = 128


def linear_layers(h):
    """(name, in_features, out_features, parallel_style) of one transformer layer."""
    heads = h // HEAD_DIM
    kv = max(1, heads // 8) if h >= 4096 else heads
    qkv_out = h + 2 * kv * HEAD_DIM
    ffn = int(3.5 * h)
    return [
        ("qkv", h, qkv_out, "col"),
        ("attn_out", h, h, "row"),
        ("mlp_up_swiglu", h, 2 * ffn, "col"),
        ("mlp_down_swiglu", ffn, h, "row"),
        ("mlp_up_gelu4h", h, 4 * h, "col"),
        ("mlp_down_gelu4h", 4 * h, h, "row"),
    ]


def shape_list(quick=False):
    """Deduplicated list of dicts: M,N,K,layout,tags."""
    hiddens = HIDDENS if not quick else [1024]
    tokens_l = TOKENS if not quick else [512]
    tps = TP_DEGREES if not quick else [1, 2]
    shapes = {}

    def add(M, N, K, layout, tag, fp8=False):
        key = (M, N, K, layout)
        if key not in shapes:
            shapes[key] = {"M": M, "N": N, "K": K, "layout": layout, "tags": [], "fp8": False}
        shapes[key]["tags"].append(tag)
        shapes[key]["fp8"] = shapes[key]["fp8"] or fp8

    for h in hiddens:
        for t in tokens_l:
            layers = [(n, i, o, s) for (n, i, o, s) in linear_layers(h)]
            for v in (VOCABS if not quick else [32000]):
                layers.append((f"vocab{v}", h, v, "col"))
            for name, fin, fout, style in layers:
                for tp in tps:
                    if "gelu4h" in name and tp != 1:
                        continue
                    if style == "col":
                        i, o = fin, fout // tp
                    else:
                        i, o = fin // tp, fout
                    if i % 8 or o % 8:
                        continue
                    tag = f"h{h}_tok{t}_{name}_tp{tp}"
                    fp8 = tp == 1
                    add(t, o, i, "NT", tag + "_fwd", fp8)
                    add(t, i, o, "NN", tag + "_dgrad", fp8)
                    add(o, i, t, "TN", tag + "_wgrad", fp8)
    for s in (SQUARES if not quick else [256, 1024]):
        add(s, s, s, "NN", f"square{s}", True)
    return list(shapes.values())


def _make_operands(M, N, K, layout, dtype, nsets, dev):
    sets = []
    for _ in range(nsets):
        if layout == "NT":
            a = torch.randn(M, K, device=dev, dtype=dtype)
            b = torch.randn(N, K, device=dev, dtype=dtype).t()
        elif layout == "NN":
            a = torch.randn(M, K, device=dev, dtype=dtype)
            b = torch.randn(K, N, device=dev, dtype=dtype)
        elif layout == "TN":
            a = torch.randn(K, M, device=dev, dtype=dtype).t()
            b = torch.randn(K, N, device=dev, dtype=dtype)
        else:
            raise ValueError(layout)
        sets.append((a, b))
    return sets


def _nsets(bytes_per_set, l2_bytes):
    # rotate over enough operand sets that the working set exceeds ~3x L2
    return int(max(1, min(8, math.ceil(3 * l2_bytes / max(bytes_per_set, 1)))))


def run(quick=False, l2_bytes=50 * 2**20, emit=None):
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.04, max_samples=15, target_sample_s=5e-4)
    results = []
    shapes = shape_list(quick)
    log(f"gemm: {len(shapes)} unique bf16 shapes")
    for idx, sh in enumerate(shapes):
        M, N, K, layout = sh["M"], sh["N"], sh["K"], sh["layout"]
        flops = 2.0 * M * N * K
        rec = {"kind": "gemm", "dtype": "bf16", "M": M, "N": N, "K": K, "layout": layout,
               "flops": flops, "tags": sh["tags"]}
        try:
            nb = (M * K + K * N) * 2
            ops = _make_operands(M, N, K, layout, torch.bfloat16, _nsets(nb, l2_bytes), dev)
            n = len(ops)

            def fn(i, ops=ops, n=n):
                a, b = ops[i % n]
                return torch.matmul(a, b)

            r = timer.run(fn)
            rec.update(r)
            rec["n_operand_sets"] = n
            rec["tflops"] = flops / r["time_s"] / 1e12
            if M == N == K and M >= 8192:
                rec["clocks_after"] = nvml_clocks(torch.cuda.current_device())
            del ops
        except Exception as ex:  # noqa: BLE001
            rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
        results.append(rec)
        if idx % 100 == 0:
            log(f"gemm {idx}/{len(shapes)} M={M} N={N} K={K} {layout}: "
                f"{rec.get('tflops', float('nan')):.1f} TFLOP/s")
            if emit:
                emit(results)
    torch.cuda.empty_cache()

    # ---- fp8 (e4m3 x e4m3 -> bf16, per-tensor scales) via torch._scaled_mm ----
    fp8_ok = hasattr(torch, "_scaled_mm") and hasattr(torch, "float8_e4m3fn")
    fp8_note = None
    if fp8_ok:
        try:
            a = torch.randn(256, 256, device=dev).to(torch.float8_e4m3fn)
            b = torch.randn(256, 256, device=dev).to(torch.float8_e4m3fn).t().contiguous().t()
            one = torch.ones((), device=dev, dtype=torch.float32)
            torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
            torch.cuda.synchronize()
        except Exception as ex:  # noqa: BLE001
            fp8_ok = False
            fp8_note = f"{type(ex).__name__}: {str(ex)[:300]}"
    else:
        fp8_note = "torch._scaled_mm or float8_e4m3fn not available"
    fp8_count = 0
    if fp8_ok:
        fp8_shapes = [s for s in shapes if s["fp8"]]
        log(f"gemm fp8: {len(fp8_shapes)} shapes")
        one = torch.ones((), device=dev, dtype=torch.float32)
        for sh in fp8_shapes:
            M, N, K = sh["M"], sh["N"], sh["K"]
            flops = 2.0 * M * N * K
            rec = {"kind": "gemm", "dtype": "fp8_e4m3", "out_dtype": "bf16", "M": M, "N": N,
                   "K": K, "layout": "TN_rowmajorA_colmajorB", "flops": flops,
                   "scaling": "per-tensor", "tags": sh["tags"]}
            if K % 16 or N % 16:
                rec["error"] = "skipped: _scaled_mm needs K and N multiples of 16"
                results.append(rec)
                continue
            try:
                nb = M * K + K * N
                ns = _nsets(nb, l2_bytes)
                ops = []
                for _ in range(ns):
                    a = torch.randn(M, K, device=dev, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
                    b = torch.randn(N, K, device=dev, dtype=torch.bfloat16).to(torch.float8_e4m3fn).t()
                    ops.append((a, b))

                def fn(i, ops=ops, ns=ns):
                    a, b = ops[i % ns]
                    return torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

                r = timer.run(fn)
                rec.update(r)
                rec["n_operand_sets"] = ns
                rec["tflops"] = flops / r["time_s"] / 1e12
                del ops
                fp8_count += 1
            except Exception as ex:  # noqa: BLE001
                rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
            results.append(rec)
        torch.cuda.empty_cache()
    meta = {"fp8_available": fp8_ok, "fp8_note": fp8_note, "n_bf16": len(shapes),
            "n_fp8": fp8_count}
    return results, meta
