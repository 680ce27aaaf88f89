"""Causal attention microbenchmarks through F.scaled_dot_product_attention.

FLOP convention (recorded in every record as flops_convention):
  forward  flops = 4 * b * s^2 * heads * head_dim / 2      (causal halves QK^T and PV)
  backward flops = 2.5 * forward                             (FlashAttention convention)
  fwd+bwd  flops = 3.5 * forward
Tensors are laid out as in a training step: q/k/v come from a [b, s, heads, d]
buffer transposed to [b, heads, s, d] (non-contiguous), bf16.
"""
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from common import Timer, log

SEQS = [512, 1024, 2048, 4096, 8192, 16384]
HEADS = [8, 16, 32, 64]
HEAD_DIMS = [64, 128]
TARGET_TOKENS = 16384

BACKENDS = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
}


def probe_gqa(backend):
    """Does the backend accept enable_gqa=True (kv heads < q heads)?"""
    dev = "cuda"
    q = torch.randn(1, 8, 128, 64, device=dev, dtype=torch.bfloat16)
    k = torch.randn(1, 1, 128, 64, device=dev, dtype=torch.bfloat16)
    try:
        with sdpa_kernel([BACKENDS[backend]]):
            F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
        torch.cuda.synchronize()
        return True, None
    except Exception as ex:  # noqa: BLE001
        return False, f"{type(ex).__name__}: {str(ex)[:300]}"


def run(quick=False, emit=None, backends=("flash", "cudnn")):
    dev = torch.device("cuda")
    timer = Timer(quick=quick, budget_s=0.05, max_samples=15)
    seqs = SEQS if not quick else [512, 1024]
    heads_l = HEADS if not quick else [8]
    hds = HEAD_DIMS if not quick else [64, 128]
    results = []
    meta = {"gqa_probe": {}}
    for be in backends:
        ok, err = probe_gqa(be)
        meta["gqa_probe"][be] = {"enable_gqa_supported": ok, "error": err}
    for be in backends:
        gqa_native = meta["gqa_probe"][be]["enable_gqa_supported"]
        for s in seqs:
            b = max(1, TARGET_TOKENS // s)
            for H in heads_l:
                for d in hds:
                    if be == "cudnn" and d != 128:
                        continue  # cudnn only for the common head_dim to bound run time
                    for kv_mode in ("mha", "gqa8"):
                        kvh = H if kv_mode == "mha" else max(1, H // 8)
                        if kv_mode == "gqa8" and kvh == H:
                            continue
                        fwd_flops = 4.0 * b * s * s * H * d / 2
                        base = {"kind": "attention", "backend": be, "dtype": "bf16", "causal": True,
                                "batch": b, "seq": s, "heads": H, "kv_heads": kvh, "head_dim": d,
                                "tokens": b * s,
                                "flops_convention": "fwd=4*b*s^2*H*d/2; bwd=2.5*fwd; fwd_bwd=3.5*fwd"}
                        gqa_impl = "none" if kvh == H else ("enable_gqa" if gqa_native else "repeat_interleave")
                        base["gqa_impl"] = gqa_impl
                        try:
                            qb = torch.randn(b, s, H, d, device=dev, dtype=torch.bfloat16)
                            kb = torch.randn(b, s, kvh, d, device=dev, dtype=torch.bfloat16)
                            vb = torch.randn(b, s, kvh, d, device=dev, dtype=torch.bfloat16)
                            do = torch.randn(b, H, s, d, device=dev, dtype=torch.bfloat16)
                            q = qb.transpose(1, 2)
                            k = kb.transpose(1, 2)
                            v = vb.transpose(1, 2)
                            kw = {}
                            if gqa_impl == "enable_gqa":
                                kw["enable_gqa"] = True

                            def prep(k, v):
                                if gqa_impl == "repeat_interleave":
                                    r = H // kvh
                                    return k.repeat_interleave(r, 1), v.repeat_interleave(r, 1)
                                return k, v

                            def fwd(i):
                                kk, vv = prep(k, v)
                                with sdpa_kernel([BACKENDS[be]]):
                                    return F.scaled_dot_product_attention(q, kk, vv, is_causal=True, **kw)

                            r = timer.run(fwd)
                            rec = dict(base, phase="fwd", flops=fwd_flops, **r)
                            rec["tflops"] = fwd_flops / r["time_s"] / 1e12
                            results.append(rec)

                            qg = q.detach().requires_grad_(True)
                            kg = k.detach().requires_grad_(True)
                            vg = v.detach().requires_grad_(True)

                            def fwdbwd(i):
                                kk, vv = prep(kg, vg)
                                with sdpa_kernel([BACKENDS[be]]):
                                    o = F.scaled_dot_product_attention(qg, kk, vv, is_causal=True, **kw)
                                return torch.autograd.grad(o, (qg, kg, vg), do)

                            r2 = timer.run(fwdbwd)
                            fb_flops = 3.5 * fwd_flops
                            rec2 = dict(base, phase="fwd_bwd", flops=fb_flops, **r2)
                            rec2["tflops"] = fb_flops / r2["time_s"] / 1e12
                            bwd_t = r2["time_s"] - r["time_s"]
                            rec2["bwd_time_derived_s"] = bwd_t
                            if bwd_t > 0:
                                rec2["bwd_tflops_derived"] = 2.5 * fwd_flops / bwd_t / 1e12
                            results.append(rec2)
                            del qb, kb, vb, do, q, k, v, qg, kg, vg
                        except Exception as ex:  # noqa: BLE001
                            results.append(dict(base, phase="fwd_and_fwd_bwd",
                                                error=f"{type(ex).__name__}: {str(ex)[:300]}"))
                            try:
                                torch.cuda.synchronize()
                            except Exception:  # noqa: BLE001
                                pass
            log(f"attention {be} seq {s}: {len(results)} records")
            if emit:
                emit(results)
        torch.cuda.empty_cache()
    return results, meta
