#include "layer_ops_mla.hpp"

#include <string>

namespace dtsim::models::layer_ops_detail {

namespace {

// Per-rank widths of the MLA projections.
struct MlaDims {
  std::int64_t r_q = 0;      // q_lora_rank (0: no query compression)
  std::int64_t r_kv = 0;     // kv_lora_rank
  std::int64_t rope = 0;     // qk_rope_head_dim
  std::int64_t q_out = 0;    // a_t d_qk: the query up-projection's output
  std::int64_t kv_out = 0;   // a_t (nope + v): the KV up-projection's output
  std::int64_t kv_down = 0;  // r_kv + rope: the KV down-projection's output
};

MlaDims mla_dims(const ModelSpec& m, const Dims& d) {
  MlaDims l;
  l.r_q = m.mla.q_lora_rank;
  l.r_kv = m.mla.kv_lora_rank;
  l.rope = m.mla.qk_rope_head_dim;
  l.q_out = d.heads * d.d;
  l.kv_out = d.heads * (m.mla.qk_nope_head_dim + d.d_v);
  l.kv_down = l.r_kv + l.rope;
  return l;
}

bool layer_norm(const OpsBuilder& ob) { return ob.model().norm == NormKind::kLayerNorm; }

std::int64_t norm_weights(const OpsBuilder& ob, std::int64_t width) { return layer_norm(ob) ? 2 * width : width; }

// A down-projection on the rank's T_sp rows with weights every TP rank holds
// whole: [AMP cast of the h-wide input] GEMM T_sp x h -> n. `saves_input`:
// whether this GEMM's input is a tensor no earlier GEMM of the block keeps.
void down_forward(OpsBuilder& ob, const std::string& name, std::int64_t n, bool saves_input) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const std::int64_t rows = d.tokens_sp;
  if (w.autocast) {
    ob.fwd.push_back(compute_step(name + "_input_cast", OpClass::kCast, DType::kFp32, as_double(rows * d.h),
                                  rows * d.h * 4, rows * d.h * w.act));
  }
  ob.fwd.push_back(gemm_step(name, rows, n, d.h, (rows * d.h + n * d.h) * w.act, rows * n * w.act,
                             saves_input ? rows * d.h * w.act : 0));
}

// dgrad (T_sp x n -> h) and wgrad over T_sp rows; [AMP: the input gradient's cast to fp32].
void down_backward(OpsBuilder& ob, const std::string& name, std::int64_t n) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const std::int64_t rows = d.tokens_sp;
  ob.bwd.push_back(gemm_step(name + "_dgrad", rows, d.h, n, (rows * n + n * d.h) * w.act, rows * d.h * w.act));
  ob.wgrad(name, n, d.h, rows);
  if (w.autocast) {
    ob.bwd.push_back(compute_step(name + "_input_grad_cast", OpClass::kCast, DType::kFp32, as_double(rows * d.h),
                                  rows * d.h * w.act, rows * d.h * 4));
  }
}

// RMSNorm (or LayerNorm) of a latent, `width` wide, on T_sp rows: keeps its
// input and per-token statistics, like the layer norms.
void latent_norm_forward(OpsBuilder& ob, const std::string& name, std::int64_t width) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const std::int64_t elems = d.tokens_sp * width;
  const std::int64_t stats = d.tokens_sp * (layer_norm(ob) ? 8 : 4);
  const double per = layer_norm(ob) ? kLayerNormFwdFlops : kRmsNormFwdFlops;
  ob.fwd.push_back(compute_step(name, OpClass::kNormalization, DType::kBf16, per * as_double(elems),
                                elems * w.act + norm_weights(ob, width) * w.param, elems * w.act + stats,
                                elems * w.act + stats));
}

void latent_norm_backward(OpsBuilder& ob, const std::string& name, std::int64_t width) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const std::int64_t elems = d.tokens_sp * width;
  const std::int64_t stats = d.tokens_sp * (layer_norm(ob) ? 8 : 4);
  const std::int64_t weights = norm_weights(ob, width);
  const double per = layer_norm(ob) ? kLayerNormBwdFlops : kRmsNormBwdFlops;
  ob.bwd.push_back(compute_step(name, OpClass::kNormalization, DType::kBf16, per * as_double(elems),
                                2 * elems * w.act + stats + weights * (w.param + w.grad),
                                elems * w.act + weights * w.grad, 0, 2));
}

// Column-parallel up-projection of a latent k wide to n: [SP all-gather of
// the `gathered`-wide latent (the rope key rides along with the KV latent)]
// GEMM T x k -> n, keeping its input as the T_sp rows before the gather.
void up_forward(OpsBuilder& ob, const std::string& name, std::int64_t gathered, std::int64_t k, std::int64_t n) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  if (d.sp) {
    ob.fwd.push_back(tp_collective_step("tp_all_gather_" + name + "_latent", CollectiveKind::kAllGather,
                                        d.tokens * gathered * w.act));
  }
  ob.fwd.push_back(gemm_step(name, d.tokens, n, k, (d.tokens * k + n * k) * w.act, d.tokens * n * w.act,
                             d.tokens_sp * k * w.act));
}

// [SP all-gather of the saved latent for the wgrad] dgrad, [the latent's
// (and rope key's) input gradient all-reduced (no SP) or reduce-scattered
// (SP) over TP] wgrad.
void up_backward(OpsBuilder& ob, const std::string& name, std::int64_t gathered, std::int64_t k, std::int64_t n) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  if (d.sp) {
    ob.bwd.push_back(tp_collective_step("tp_all_gather_" + name + "_input", CollectiveKind::kAllGather,
                                        d.tokens * k * w.act));
  }
  ob.bwd.push_back(gemm_step(name + "_dgrad", d.tokens, k, n, (d.tokens * n + n * k) * w.act, d.tokens * k * w.act));
  if (d.tp > 1) {
    const std::int64_t bytes = d.tokens * gathered * w.act;
    ob.bwd.push_back(d.sp ? tp_collective_step("tp_reduce_scatter_" + name + "_dgrad", CollectiveKind::kReduceScatter, bytes)
                          : tp_collective_step("tp_all_reduce_" + name + "_dgrad", CollectiveKind::kAllReduce, bytes));
  }
  ob.wgrad(name, n, k);
}

// The fused MLA rotary: reads the query, the KV up-projection's output and
// the rope key (and the fp32 cos/sin table, s x rope), rotates the a_t + 1
// rope vectors of each token and writes Q, K (the rope key broadcast to
// every head) and V. Backward reads their gradients and writes the query's,
// the up-projection output's and the rope key's (summed over the heads).
void mla_rotary(OpsBuilder& ob, const MlaDims& l, bool backward) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const std::int64_t rotated = d.tokens * (d.heads + 1) * l.rope;
  const std::int64_t table = d.s * l.rope * 4;
  const std::int64_t inputs = d.tokens * (l.q_out + l.kv_out + l.rope) * w.act;
  const std::int64_t qkv = d.tokens * d.qkv_width * w.act;
  auto step = compute_step(backward ? "mla_rotary_bwd" : "mla_rotary", OpClass::kElementwise, DType::kBf16,
                           kRotaryFlops * as_double(rotated), (backward ? qkv : inputs) + table,
                           backward ? inputs : qkv, 0, 2);
  (backward ? ob.bwd : ob.fwd).push_back(std::move(step));
}

}  // namespace

void mla_attention_block_forward(OpsBuilder& ob) {
  const Dims& d = ob.dims();
  const MlaDims l = mla_dims(ob.model(), d);
  ob.norm_forward("input_norm");
  if (l.r_q > 0) {
    down_forward(ob, "q_down_proj", l.r_q, true);
    latent_norm_forward(ob, "q_latent_norm", l.r_q);
    up_forward(ob, "q_up_proj", l.r_q, l.r_q, l.q_out);
  } else {
    ob.column_forward("q_proj", "attn", l.q_out);
  }
  // The KV down-projection reads the tensor the query's first GEMM kept,
  // except under AMP, where each GEMM keeps its own bf16 cast.
  down_forward(ob, "kv_down_proj", l.kv_down, ob.widths().autocast);
  latent_norm_forward(ob, "kv_latent_norm", l.r_kv);
  up_forward(ob, "kv_up_proj", l.kv_down, l.r_kv, l.kv_out);
  mla_rotary(ob, l, false);
  ob.context_exchange(ob.fwd, false);
  ob.fwd.push_back(ob.attention_forward_step());
  ob.row_forward("attn_out_proj", "attn", d.o_width);
  ob.residual_forward("attn");
  ob.norm_forward("post_attn_norm");
}

void mla_attention_block_backward(OpsBuilder& ob) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  const MlaDims l = mla_dims(ob.model(), d);
  ob.norm_backward("post_attn_norm_bwd");
  ob.residual_grad_add("attn_residual_grad_add");
  ob.residual_backward("attn");
  ob.row_backward("attn_out_proj", "attn", d.o_width);
  ob.attention_backward();
  mla_rotary(ob, l, true);
  up_backward(ob, "kv_up_proj", l.kv_down, l.r_kv, l.kv_out);
  if (l.r_q > 0) {
    up_backward(ob, "q_up_proj", l.r_q, l.r_q, l.q_out);
  } else {
    ob.column_backward("q_proj", l.q_out);
  }
  latent_norm_backward(ob, "kv_latent_norm_bwd", l.r_kv);
  down_backward(ob, "kv_down_proj", l.kv_down);
  if (l.r_q > 0) {
    latent_norm_backward(ob, "q_latent_norm_bwd", l.r_q);
    down_backward(ob, "q_down_proj", l.r_q);
  }
  // Autograd sums the query and KV paths' gradients of the norm output.
  const std::int64_t elems = d.tokens_sp * d.h;
  ob.bwd.push_back(compute_step("attn_input_grad_add", OpClass::kElementwise, w.residual_dtype(), as_double(elems),
                                2 * elems * w.residual, elems * w.residual));
  ob.norm_backward("input_norm_bwd");
  ob.residual_grad_add("input_residual_grad_add");
}

std::int64_t mla_rank_parameters(const ModelSpec& m, const Dims& d) {
  const MlaDims l = mla_dims(m, d);
  const std::int64_t q_up = (l.r_q > 0 ? l.r_q : d.h) * l.q_out;
  return mla_replicated_parameter_count(m) + q_up + l.r_kv * l.kv_out + d.o_width * d.h;
}

}  // namespace dtsim::models::layer_ops_detail
