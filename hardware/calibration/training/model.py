"""A small self-contained decoder-only transformer for dtsim validation runs.

Two flavours, selected by cfg["arch"]:
  "llama": RMSNorm, SwiGLU MLP (w1=gate, w3=up, w2=down), GQA attention with
           rotary embeddings, no biases, untied input/output embeddings.
  "gpt"  : LayerNorm (with bias), GELU(tanh) 4h MLP (fc, proj), multi-head
           attention, learned absolute positions, biases, tied embeddings.
Attention uses F.scaled_dot_product_attention(is_causal=True); which SDPA
backends are enabled is decided by the caller (train.py enables flash only).

The model can be built as a pipeline stage: `first` (owns the embeddings),
`last` (owns the final norm and output projection), and `layer_ids`.
Module names follow the usual TP plans: layers.<i>.attention.{wq,wk,wv,wo},
layers.<i>.feed_forward.{w1,w2,w3} (llama) or {fc,proj} (gpt),
layers.<i>.attention_norm, layers.<i>.ffn_norm, tok_embeddings, norm, output.
"""
import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

# set by train.py after probing the flash backend
SDPA_ENABLE_GQA = True


def param_count(cfg):
    """Analytic parameter count of the full (unsharded) model."""
    h, L, V = cfg["hidden"], cfg["n_layers"], cfg["vocab"]
    hd = h // cfg["n_heads"]
    kvd = cfg["n_kv_heads"] * hd
    f = cfg["ffn_hidden"]
    if cfg["arch"] == "llama":
        attn = h * h + 2 * h * kvd + h * h
        mlp = 3 * h * f
        if cfg.get("n_experts", 0) > 0:
            mlp = h * cfg["n_experts"] + cfg["n_experts"] * 3 * h * cfg["moe_ffn_hidden"]
        norms = 2 * h
        emb = V * h * (1 if cfg.get("tied", False) else 2)
        return L * (attn + mlp + norms) + emb + h
    # gpt: biases and layernorm (weight+bias)
    attn = h * h + 2 * h * kvd + h * h + (h + 2 * kvd + h)
    mlp = 2 * h * f + f + h
    norms = 4 * h
    emb = V * h * (1 if cfg.get("tied", True) else 2) + cfg["seq_len"] * h
    return L * (attn + mlp + norms) + emb + 2 * h


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden"]
        self.n_heads = cfg["n_heads"]
        self.n_kv = cfg["n_kv_heads"]
        self.hd = h // self.n_heads
        bias = cfg["arch"] == "gpt"
        self.wq = nn.Linear(h, self.n_heads * self.hd, bias=bias)
        self.wk = nn.Linear(h, self.n_kv * self.hd, bias=bias)
        self.wv = nn.Linear(h, self.n_kv * self.hd, bias=bias)
        self.wo = nn.Linear(self.n_heads * self.hd, h, bias=bias)
        self.rope = cfg["arch"] == "llama"
        if self.rope:
            s = cfg["seq_len"]
            inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, self.hd, 2).float() / self.hd))
            ang = torch.outer(torch.arange(s).float(), inv)  # [s, hd/2]
            self.register_buffer("cos", ang.cos(), persistent=False)
            self.register_buffer("sin", ang.sin(), persistent=False)

    def _rope(self, x):
        # x: [b, s, heads, hd] (rotate-half formulation)
        s = x.shape[1]
        half = self.hd // 2
        cos = self.cos[:s].to(x.dtype)[None, :, None, :]
        sin = self.sin[:s].to(x.dtype)[None, :, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def forward(self, x):
        b, s = x.shape[0], x.shape[1]
        q = self.wq(x).view(b, s, -1, self.hd)
        k = self.wk(x).view(b, s, -1, self.hd)
        v = self.wv(x).view(b, s, -1, self.hd)
        if self.rope:
            q, k = self._rope(q), self._rope(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        kw = {}
        if k.shape[1] != q.shape[1]:
            if SDPA_ENABLE_GQA:
                kw["enable_gqa"] = True
            else:
                r = q.shape[1] // k.shape[1]
                k = k.repeat_interleave(r, dim=1)
                v = v.repeat_interleave(r, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True, **kw)
        o = o.transpose(1, 2).reshape(b, s, -1)
        return self.wo(o)


class SwiGLU(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, f = cfg["hidden"], cfg["ffn_hidden"]
        self.w1 = nn.Linear(h, f, bias=False)
        self.w3 = nn.Linear(h, f, bias=False)
        self.w2 = nn.Linear(f, h, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class GeluMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, f = cfg["hidden"], cfg["ffn_hidden"]
        self.fc = nn.Linear(h, f, bias=True)
        self.proj = nn.Linear(f, h, bias=True)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


# set by train.py: the expert-parallel process group when cfg["ep"] > 1
EP_GROUP = None


class MoE(nn.Module):
    """Routed SwiGLU experts behind a top-k softmax router (Mixtral-style, no
    shared expert), with expert parallelism over EP_GROUP: the cfg["ep"] ranks
    of the group hold n_experts / ep experts each and exchange tokens with two
    all-to-alls (dispatch and combine).

    Routing is forced balanced so that the measurement isolates the cost of
    the layer from the router's (random, untrained) imbalance: the router's
    GEMM, fp32 softmax and top-k run as usual, but assignment j of token t
    goes to expert (t k + j) mod E, with the softmax weight of that expert.
    Every expert then gets exactly T k / E tokens, which is dtsim's default
    (balanced) routing. Tokens are permuted by expert with a stable argsort
    and an index_select, the experts run as three batched GEMMs (one batch
    entry per local expert), and the combine scatters back with index_add."""

    def __init__(self, cfg):
        super().__init__()
        h, f, E = cfg["hidden"], cfg["moe_ffn_hidden"], cfg["n_experts"]
        self.E, self.k, self.ep = E, cfg["top_k"], cfg.get("ep", 1)
        assert E % self.ep == 0, "ep must divide n_experts"
        self.local = E // self.ep
        self.router = nn.Linear(h, E, bias=False)
        self.w1 = nn.Parameter(torch.randn(self.local, h, f) * 0.02)
        self.w3 = nn.Parameter(torch.randn(self.local, h, f) * 0.02)
        self.w2 = nn.Parameter(torch.randn(self.local, f, h) * 0.02)

    def _exchange(self, t):
        from torch.distributed.nn.functional import all_to_all_single
        return all_to_all_single(torch.empty_like(t), t, group=EP_GROUP)

    def forward(self, x):
        b, s, h = x.shape
        T, k, E = b * s, self.k, self.E
        assert (T * k) % E == 0, "tokens x top_k must divide by n_experts"
        n = T * k // E
        xt = x.reshape(T, h)
        probs = F.softmax(self.router(xt).float(), dim=-1)
        probs.topk(k, dim=-1)  # the router's top-k, replaced below by a balanced assignment
        ids = (torch.arange(T, device=x.device)[:, None] * k + torch.arange(k, device=x.device)) % E
        weights = probs.gather(1, ids).to(x.dtype).flatten()
        order = ids.flatten().argsort(stable=True)
        token = order // k
        xs = xt.index_select(0, token)  # [T k, h], grouped by expert
        if self.ep > 1:
            recv = self._exchange(xs)  # [ep sources, local experts, n, h]
            xe = recv.view(self.ep, self.local, n, h).transpose(0, 1).reshape(self.local, self.ep * n, h)
        else:
            xe = xs.view(self.local, n, h)
        y = torch.bmm(F.silu(torch.bmm(xe, self.w1)) * torch.bmm(xe, self.w3), self.w2)
        if self.ep > 1:
            y = y.view(self.local, self.ep, n, h).transpose(0, 1).reshape(T * k, h)
            y = self._exchange(y)
        else:
            y = y.reshape(T * k, h)
        out = torch.zeros_like(xt).index_add_(0, token, y * weights.index_select(0, order)[:, None])
        return out.view(b, s, h)


def make_ffn(cfg):
    if cfg.get("n_experts", 0) > 0:
        assert cfg["arch"] == "llama", "MoE layers are built for the llama arch"
        return MoE(cfg)
    return SwiGLU(cfg) if cfg["arch"] == "llama" else GeluMLP(cfg)


def make_norm(cfg):
    h = cfg["hidden"]
    if cfg["arch"] == "llama":
        return nn.RMSNorm(h, eps=1e-5)
    return nn.LayerNorm(h, eps=1e-5)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = make_norm(cfg)
        self.attention = Attention(cfg)
        self.ffn_norm = make_norm(cfg)
        self.feed_forward = make_ffn(cfg)
        self.activation_checkpoint = cfg.get("activation_checkpointing", "none") == "full"

    def _inner(self, x):
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.ffn_norm(x))

    def forward(self, x):
        if self.activation_checkpoint and torch.is_grad_enabled():
            return checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


class Transformer(nn.Module):
    def __init__(self, cfg, first=True, last=True, layer_ids=None, autocast_bf16=False):
        super().__init__()
        self.cfg = cfg
        self.first, self.last = first, last
        self.autocast_bf16 = autocast_bf16
        h, V = cfg["hidden"], cfg["vocab"]
        if layer_ids is None:
            layer_ids = list(range(cfg["n_layers"]))
        self.tok_embeddings = nn.Embedding(V, h) if first else None
        self.pos_embeddings = nn.Embedding(cfg["seq_len"], h) if (first and cfg["arch"] == "gpt") else None
        self.layers = nn.ModuleDict({str(i): Block(cfg) for i in layer_ids})
        self.norm = make_norm(cfg) if last else None
        self.output = nn.Linear(h, V, bias=False) if last else None
        self.tied = bool(cfg.get("tied", cfg["arch"] == "gpt")) and first and last
        if self.tied:
            self.output.weight = self.tok_embeddings.weight

    def forward(self, x):
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast_bf16 else contextlib.nullcontext()
        with ctx:
            if self.first:
                hdn = self.tok_embeddings(x)
                if self.pos_embeddings is not None:
                    pos = torch.arange(x.shape[1], device=x.device)
                    hdn = hdn + self.pos_embeddings(pos)[None]
            else:
                hdn = x
            for layer in self.layers.values():
                hdn = layer(hdn)
            if self.last:
                hdn = self.norm(hdn)
                return self.output(hdn)
            return hdn


def loss_fn(logits, targets):
    """Mean token cross-entropy; logits are upcast to fp32 first."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(0, 1))
