// Private to layer_ops.cpp: the per-rank dimensions of a micro-batch and the
// builder that appends the kernels of transformer blocks (norms, column- and
// row-parallel linears with their TP collectives, attention, activations,
// residuals) to forward and backward lists.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "layer_ops_steps.hpp"

namespace dtsim::models::layer_ops_detail {

// FLOPs per element of the memory-bound kernels. Their time is set by bytes,
// so these only need to be the right order: LayerNorm forward = mean, variance
// (2 per element), centre, scale by rstd, gamma, beta; RMSNorm drops the mean
// and beta. Backward roughly doubles the forward. GELU (tanh form) ~8,
// SiLU x up ~5 per output element.
inline constexpr double kLayerNormFwdFlops = 8.0;
inline constexpr double kRmsNormFwdFlops = 4.0;
inline constexpr double kLayerNormBwdFlops = 14.0;
inline constexpr double kRmsNormBwdFlops = 8.0;
inline constexpr double kGeluFwdFlops = 8.0;
inline constexpr double kGeluBwdFlops = 12.0;
inline constexpr double kSwiGluFwdFlops = 5.0;
inline constexpr double kSwiGluBwdFlops = 10.0;
inline constexpr double kRotaryFlops = 3.0;
// FlashAttention-2/3 count the backward as 2.5x the forward (5 matmuls of
// which one is recomputed, against 2 in the forward).
inline constexpr double kFlashBackwardFactor = 2.5;

// Per-rank sizes of one micro-batch.
struct Dims {
  std::int64_t b = 0;       // micro-batch sequences
  std::int64_t s = 0;       // sequence length
  std::int64_t tokens = 0;  // T = b s / cp: this rank's tokens
  std::int64_t cp = 1;      // context parallelism: the sequence split over cp ranks
  bool cp_ring = true;      // ring attention (K/V exchange overlapped) or all-gather first
  std::int64_t tp = 1;
  bool sp = false;               // sequence parallel in effect (tp > 1)
  std::int64_t tokens_sp = 0;    // T / tp under SP, else T
  std::int64_t h = 0;
  std::int64_t d = 0;            // head_dim: the QK head width
  std::int64_t d_v = 0;          // value head width (head_dim; MLA's v_head_dim)
  std::int64_t heads = 0;        // query heads on this rank
  std::int64_t kv_heads = 0;     // KV heads on this rank
  std::int64_t q_width = 0;      // heads x d
  std::int64_t qkv_width = 0;    // Q, K and V together: heads d + kv_heads (d + d_v) (MHA: (heads + 2 kv_heads) d)
  std::int64_t o_width = 0;      // heads x d_v: the attention output, the out-projection's input
  std::int64_t ffn = 0;          // f / tp
  std::int64_t up_width = 0;     // ffn (GELU) or 2 ffn (SwiGLU: gate and up)
  std::int64_t norm_params = 0;  // h (RMSNorm) or 2h (LayerNorm)
};

inline void require_positive(std::int64_t v, const char* path, const char* what) {
  if (v <= 0) throw InputError(path, std::string(what) + " must be positive, got " + std::to_string(v));
}

inline void require_divisible(std::int64_t v, std::int64_t tp, const char* what) {
  if (v % tp != 0) {
    throw InputError("/plan/tp", "tensor-parallel size " + std::to_string(tp) + " must divide " + what + " (" +
                                     std::to_string(v) + ")");
  }
}

inline Dims dims_of(const ModelSpec& m, const TrainingSpec& tr, const ParallelPlan& p) {
  require_positive(tr.seq_len, "/training/seq_len", "seq_len");
  require_positive(tr.micro_batch, "/training/micro_batch", "micro_batch");
  require_positive(p.tp, "/plan/tp", "tp");
  require_positive(m.hidden, "/model/hidden", "hidden");
  require_positive(m.num_heads, "/model/num_heads", "num_heads");
  require_positive(m.num_kv_heads, "/model/num_kv_heads", "num_kv_heads");
  require_positive(m.head_dim, "/model/head_dim", "head_dim");
  require_positive(m.ffn_hidden, "/model/ffn_hidden", "ffn_hidden");
  require_positive(m.vocab_size, "/model/vocab_size", "vocab_size");
  const std::int64_t tp = p.tp;
  require_divisible(m.num_heads, tp, "num_heads");
  require_divisible(m.num_kv_heads, tp, "num_kv_heads");
  require_divisible(m.ffn_hidden, tp, "ffn_hidden");
  Dims d;
  require_positive(p.cp, "/plan/cp", "cp");
  d.b = tr.micro_batch;
  d.s = tr.seq_len;
  d.cp = p.cp;
  if (tr.seq_len % d.cp != 0) {
    throw InputError("/plan/cp", "context parallelism needs seq_len (" + std::to_string(tr.seq_len) +
                                     ") divisible by cp (" + std::to_string(d.cp) + ")");
  }
  d.tokens = d.b * (d.s / d.cp);
  d.cp_ring = p.cp_comm == ContextComm::kRing;
  d.tp = tp;
  d.sp = p.sequence_parallel && tp > 1;
  if (d.sp && (tr.seq_len / d.cp) % tp != 0) {
    throw InputError("/plan/sequence_parallel", "sequence parallelism needs seq_len / cp (" +
                                                    std::to_string(tr.seq_len / d.cp) + ") divisible by tp (" +
                                                    std::to_string(tp) + ")");
  }
  d.tokens_sp = d.sp ? d.tokens / tp : d.tokens;
  d.h = m.hidden;
  d.d = m.head_dim;
  d.d_v = m.attention == AttentionKind::kMla ? m.mla.v_head_dim : m.head_dim;
  d.heads = m.num_heads / tp;
  d.kv_heads = m.num_kv_heads / tp;
  d.q_width = d.heads * d.d;
  d.qkv_width = d.heads * d.d + d.kv_heads * (d.d + d.d_v);
  d.o_width = d.heads * d.d_v;
  d.ffn = m.ffn_hidden / tp;
  d.up_width = m.mlp == MlpKind::kSwiGlu ? 2 * d.ffn : d.ffn;
  d.norm_params = m.norm == NormKind::kLayerNorm ? 2 * d.h : d.h;
  return d;
}

inline Bytes sum_saved(const std::vector<LayerStep>& steps) {
  Bytes total;
  for (const auto& s : steps) total += s.saved_for_backward;
  return total;
}

// Appends the kernels of one block of a layer (or of the embedding / head) to
// the forward and backward lists. Backward pieces are appended in the order
// they run, which the callers arrange by building the backward in reverse.
class OpsBuilder {
 public:
  OpsBuilder(const ModelSpec& m, const Dims& d, const Widths& w) : m_(m), d_(d), w_(w) {}

  std::vector<LayerStep> fwd;
  std::vector<LayerStep> bwd;

  const Dims& dims() const { return d_; }
  const ModelSpec& model() const { return m_; }
  const Widths& widths() const { return w_; }

  // Norm over the SP region: reads its input (and weights), writes its output
  // and per-token statistics (mean and rstd for LayerNorm, rstd for RMSNorm,
  // fp32); keeps the input and the statistics for backward (KOR22 counts the
  // input, 2sbh; the statistics are 4-8 bytes per token).
  void norm_forward(const std::string& name) {
    const std::int64_t elems = d_.tokens_sp * d_.h;
    const std::int64_t stats = d_.tokens_sp * (layer_norm() ? 8 : 4);
    const double per = layer_norm() ? kLayerNormFwdFlops : kRmsNormFwdFlops;
    fwd.push_back(compute_step(name, OpClass::kNormalization, w_.residual_dtype(), per * as_double(elems),
                               elems * w_.residual + d_.norm_params * w_.param, elems * w_.residual + stats,
                               elems * w_.residual + stats));
  }

  // Reads the output gradient, the saved input and statistics and the weights;
  // writes the input gradient and accumulates the weight gradients (read and
  // write of gradient storage). Two kernels: the main pass and the reduction
  // of per-block weight-gradient partials.
  void norm_backward(const std::string& name) {
    const std::int64_t elems = d_.tokens_sp * d_.h;
    const std::int64_t stats = d_.tokens_sp * (layer_norm() ? 8 : 4);
    const double per = layer_norm() ? kLayerNormBwdFlops : kRmsNormBwdFlops;
    bwd.push_back(compute_step(name, OpClass::kNormalization, w_.residual_dtype(), per * as_double(elems),
                               2 * elems * w_.residual + stats + d_.norm_params * (w_.param + w_.grad),
                               elems * w_.residual + d_.norm_params * w_.grad, 0, 2));
  }

  // The attention half of a decoder layer, forward: input norm, QKV, rotary,
  // flash attention, out-projection, residual, and the post-attention norm
  // whose output feeds the MLP or MoE block.
  void attention_block_forward() {
    norm_forward("input_norm");
    column_forward("qkv_proj", "attn", d_.qkv_width);
    if (m_.linear_bias) qkv_bias_forward();
    if (m_.position == PositionKind::kRotary) rotary(false);
    context_exchange(fwd, false);
    fwd.push_back(attention_forward_step());
    row_forward("attn_out_proj", "attn", d_.q_width);
    residual_forward("attn");
    norm_forward("post_attn_norm");
  }

  // Its backward, from the post-attention norm to the layer input's gradient.
  void attention_block_backward() {
    norm_backward("post_attn_norm_bwd");
    residual_grad_add("attn_residual_grad_add");
    residual_backward("attn");
    row_backward("attn_out_proj", "attn", d_.q_width);
    attention_backward();
    if (m_.position == PositionKind::kRotary) rotary(true);
    if (m_.linear_bias) bias_grad("qkv_bias_grad", d_.tokens, d_.qkv_width);
    column_backward("qkv_proj", d_.qkv_width);
    norm_backward("input_norm_bwd");
    residual_grad_add("input_residual_grad_add");
  }

  // Autograd sums the two gradients reaching a residual-stream tensor (the
  // skip path and the path through the norm): one add kernel.
  void residual_grad_add(const std::string& name) {
    const std::int64_t elems = d_.tokens_sp * d_.h;
    bwd.push_back(compute_step(name, OpClass::kElementwise, w_.residual_dtype(), as_double(elems),
                               2 * elems * w_.residual, elems * w_.residual));
  }

  // Column-parallel linear, forward: [AMP cast of the input to bf16]
  // [SP all-gather] GEMM. The GEMM keeps its input as it was before the
  // all-gather (the sharded T/tp rows under SP, re-gathered in backward).
  void column_forward(const std::string& name, const std::string& collective_suffix, std::int64_t n) {
    const std::int64_t k = d_.h;
    if (w_.autocast) {
      const std::int64_t elems = d_.tokens_sp * k;
      fwd.push_back(compute_step(name + "_input_cast", OpClass::kCast, DType::kFp32, as_double(elems), elems * 4,
                                 elems * w_.act));
    }
    if (d_.sp) {
      fwd.push_back(tp_collective_step("tp_all_gather_" + collective_suffix, CollectiveKind::kAllGather,
                                       d_.tokens * k * w_.act));
    }
    fwd.push_back(gemm_step(name, d_.tokens, n, k, (d_.tokens * k + n * k) * w_.act, d_.tokens * n * w_.act,
                            d_.tokens_sp * k * w_.act));
  }

  // Column-parallel linear, backward, in Megatron's issue order: [SP
  // all-gather of the saved input, for the wgrad] dgrad, [all-reduce (no SP)
  // or reduce-scatter (SP) of the input gradient, overlapping the wgrad in
  // Megatron] wgrad [AMP: cast of the input gradient back to fp32].
  void column_backward(const std::string& name, std::int64_t n) {
    const std::int64_t k = d_.h;
    if (d_.sp) {
      bwd.push_back(tp_collective_step("tp_all_gather_" + name + "_input", CollectiveKind::kAllGather,
                                       d_.tokens * k * w_.act));
    }
    bwd.push_back(gemm_step(name + "_dgrad", d_.tokens, k, n, (d_.tokens * n + n * k) * w_.act, d_.tokens * k * w_.act));
    if (d_.tp > 1) {
      bwd.push_back(d_.sp ? tp_collective_step("tp_reduce_scatter_" + name + "_dgrad", CollectiveKind::kReduceScatter,
                                               d_.tokens * k * w_.act)
                          : tp_collective_step("tp_all_reduce_" + name + "_dgrad", CollectiveKind::kAllReduce,
                                               d_.tokens * k * w_.act));
    }
    wgrad(name, n, k);
    if (w_.autocast) {
      const std::int64_t elems = d_.tokens_sp * k;
      bwd.push_back(compute_step(name + "_input_grad_cast", OpClass::kCast, DType::kFp32, as_double(elems),
                                 elems * w_.act, elems * 4));
    }
  }

  // Row-parallel linear, forward: GEMM (keeps its input), then the partial
  // sums are all-reduced (no SP) or reduce-scattered to T/tp rows (SP).
  void row_forward(const std::string& name, const std::string& collective_suffix, std::int64_t k) {
    const std::int64_t n = d_.h;
    fwd.push_back(gemm_step(name, d_.tokens, n, k, (d_.tokens * k + n * k) * w_.act, d_.tokens * n * w_.act,
                            d_.tokens * k * w_.act));
    if (d_.tp > 1) {
      fwd.push_back(d_.sp ? tp_collective_step("tp_reduce_scatter_" + collective_suffix, CollectiveKind::kReduceScatter,
                                               d_.tokens * n * w_.act)
                          : tp_collective_step("tp_all_reduce_" + collective_suffix, CollectiveKind::kAllReduce,
                                               d_.tokens * n * w_.act));
    }
  }

  // Row-parallel linear, backward: [SP all-gather of the output gradient (the
  // reduce-scatter's backward); without SP the all-reduce's backward is the
  // identity] dgrad, wgrad.
  void row_backward(const std::string& name, const std::string& collective_suffix, std::int64_t k) {
    const std::int64_t n = d_.h;
    if (d_.sp) {
      bwd.push_back(tp_collective_step("tp_all_gather_" + collective_suffix + "_grad", CollectiveKind::kAllGather,
                                       d_.tokens * n * w_.act));
    }
    bwd.push_back(gemm_step(name + "_dgrad", d_.tokens, k, n, (d_.tokens * n + n * k) * w_.act, d_.tokens * k * w_.act));
    wgrad(name, n, k);
  }

  // dW[n x k] = dY^T X over `tokens` rows (default T; T_sp for the weights
  // MLA replicates over TP and runs on the sequence shard), delivered to
  // gradient storage as Widths::wgrad says: accumulated by the GEMM
  // (Megatron's fp32 main_grad; bf16 with beta = 1), cast to the fp32 .grad
  // by one kernel (AMP), or written in the compute dtype (FSDP2 mixed
  // precision, which casts when it reduces).
  void wgrad(const std::string& name, std::int64_t n, std::int64_t k, std::int64_t tokens = -1) {
    if (tokens < 0) tokens = d_.tokens;
    const std::int64_t operands = (tokens * n + tokens * k) * w_.act;
    switch (w_.wgrad) {
      case Widths::WgradOutput::kIntoStorage:
        bwd.push_back(weight_grad(gemm_step(name + "_wgrad", n, k, tokens, operands + n * k * w_.grad, n * k * w_.grad)));
        break;
      case Widths::WgradOutput::kCastToFp32:
        bwd.push_back(weight_grad(gemm_step(name + "_wgrad", n, k, tokens, operands, n * k * w_.act)));
        bwd.push_back(weight_grad(compute_step(name + "_wgrad_cast", OpClass::kCast, DType::kFp32, as_double(n * k),
                                               n * k * w_.act, n * k * w_.grad)));
        break;
      case Widths::WgradOutput::kComputeDtype:
        bwd.push_back(weight_grad(gemm_step(name + "_wgrad", n, k, tokens, operands, n * k * w_.act)));
        break;
    }
  }

  // The end of a block on the SP region: Megatron's fused bias-dropout-add
  // (row-parallel bias, hidden dropout keeping a 1-byte mask, residual add),
  // or a plain residual add when the model has neither.
  void residual_forward(const std::string& block) {
    const std::int64_t elems = d_.tokens_sp * d_.h;
    const bool bias = m_.linear_bias;
    const bool drop = m_.dropout;
    const std::string name = (bias || drop) ? block + "_bias_dropout_add" : block + "_residual_add";
    const double flops = as_double(elems) * (1.0 + (bias ? 1.0 : 0.0) + (drop ? 2.0 : 0.0));
    const std::int64_t mask = drop ? elems : 0;
    fwd.push_back(compute_step(name, OpClass::kElementwise, w_.residual_dtype(), flops,
                               elems * w_.act + elems * w_.residual + (bias ? d_.h * w_.param : 0),
                               elems * w_.residual + mask, mask));
  }

  // Backward of residual_forward: the skip path passes the gradient through;
  // the branch gets it through the dropout mask (or, under AMP, cast to bf16
  // for the bf16 GEMM output); the bias gradient is a reduction over tokens.
  void residual_backward(const std::string& block) {
    const std::int64_t elems = d_.tokens_sp * d_.h;
    if (m_.dropout) {
      bwd.push_back(compute_step(block + "_dropout_bwd", OpClass::kElementwise, w_.residual_dtype(), 2.0 * as_double(elems),
                                 elems * w_.residual + elems, elems * w_.act));
    } else if (w_.autocast) {
      bwd.push_back(compute_step(block + "_out_grad_cast", OpClass::kCast, DType::kFp32, as_double(elems),
                                 elems * w_.residual, elems * w_.act));
    }
    if (m_.linear_bias) bias_grad(block + "_out_bias_grad", d_.tokens_sp, d_.h);
  }

  // Sum of a [tokens x width] bf16 gradient over tokens, added into the bias gradient.
  void bias_grad(const std::string& name, std::int64_t tokens, std::int64_t width) {
    bwd.push_back(weight_grad(compute_step(name, OpClass::kElementwise, DType::kBf16, as_double(tokens * width),
                                           tokens * width * w_.act + width * w_.grad, width * w_.grad)));
  }

  // Megatron adds the QKV bias in a separate kernel after the GEMM.
  void qkv_bias_forward() {
    const std::int64_t elems = d_.tokens * d_.qkv_width;
    fwd.push_back(compute_step("qkv_bias_add", OpClass::kElementwise, DType::kBf16, as_double(elems),
                               elems * w_.act + d_.qkv_width * w_.param, elems * w_.act));
  }

  // Rotary on q and k (fused RoPE, one kernel each): reads the heads and the
  // fp32 cos/sin table (s x d/2 each), writes the rotated heads. Keeps nothing
  // (the table is a constant buffer; flash attention keeps the rotated q, k).
  void rotary(bool backward) {
    const std::int64_t elems = d_.tokens * (d_.heads + d_.kv_heads) * d_.d;
    const std::int64_t table = d_.s * d_.d * 4;
    auto step = compute_step(backward ? "rotary_qk_bwd" : "rotary_qk", OpClass::kElementwise, DType::kBf16,
                             kRotaryFlops * as_double(elems), elems * w_.act + table, elems * w_.act, 0, 2);
    (backward ? bwd : fwd).push_back(std::move(step));
  }

  // Causal flash attention. Forward reads Q, K, V and writes O and the fp32
  // log-sum-exp per (token, head); it keeps Q, K, V and the LSE (O is kept as
  // the out-projection's input). Causal FLOPs: QK^T and PV at 2 b s^2 a d
  // each, halved: 2 b s^2 (a/t) d. Under context parallelism with causal
  // load balancing (rank i holds chunks i and 2 cp - 1 - i) every rank does
  // 1/cp of it.
  // A sliding window keeps causal_attention_pairs(s, w) of the s (s + 1) / 2
  // causal pairs. With a value width d_v other than d (MLA) QK^T does
  // 2 b s^2 (a/t) d / 2 and PV 2 b s^2 (a/t) d_v / 2: (a/t) (d + d_v) / 2
  // stands for (a/t) d.
  double attention_forward_flops() const {
    const double window_share =
        causal_attention_pairs(d_.s, m_.sliding_window) / causal_attention_pairs(d_.s, 0);
    const double width = as_double(d_.heads) * as_double(d_.d + d_.d_v) / 2.0;
    return 2.0 * as_double(d_.b) * as_double(d_.s) * as_double(d_.s) * width * window_share / as_double(d_.cp);
  }
  // This rank's K and V (bytes): what context parallelism moves around.
  std::int64_t local_kv_bytes() const { return d_.tokens * d_.kv_heads * (d_.d + d_.d_v) * w_.act; }

  // Context parallelism's K/V exchange over the CP group, as an all-gather of
  // every rank's K and V (S = cp x local K,V; each rank receives (cp - 1)/cp
  // of it, cp - 1 ring steps). Ring attention overlaps it with the attention
  // kernel; the all-gather variant waits for it. `gradients`: the backward's
  // dK, dV travelling back, a reduce-scatter of the same size.
  void context_exchange(std::vector<LayerStep>& steps, bool gradients) const {
    if (d_.cp <= 1) return;
    LayerStep s;
    s.kind = LayerStep::Kind::kContextCollective;
    s.name = gradients ? "cp_reduce_scatter_dkv" : "cp_all_gather_kv";
    s.collective = gradients ? CollectiveKind::kReduceScatter : CollectiveKind::kAllGather;
    s.collective_bytes = Bytes(local_kv_bytes() * d_.cp);
    s.overlaps_next = d_.cp_ring;
    steps.push_back(std::move(s));
  }
  std::int64_t lse_bytes() const { return d_.tokens * d_.heads * 4; }

  LayerStep attention_forward_step() const {
    const std::int64_t qkv = d_.tokens * d_.qkv_width * w_.act;
    const std::int64_t o = d_.tokens * d_.o_width * w_.act;
    // Under context parallelism the kernel also reads the other ranks' K and V.
    const std::int64_t remote_kv = local_kv_bytes() * (d_.cp - 1);
    auto step = compute_step("attn_core", OpClass::kAttention, DType::kBf16, attention_forward_flops(),
                             qkv + remote_kv, o + lse_bytes(), qkv + lse_bytes());
    step.work.attention = attention_shape(false);
    return step;
  }

  // Backward: FlashAttention-2/3 run a preprocessing kernel (D = rowsum(dO o O),
  // reading dO and O), the main kernel (reads Q, K, V, O, dO, LSE, D; writes
  // dQ, dK, dV and accumulates dQ in fp32) and a conversion of the fp32 dQ
  // accumulator to bf16: 3 kernels, 2.5x the forward FLOPs.
  void attention_backward() {
    const std::int64_t qkv = d_.tokens * d_.qkv_width * w_.act;
    const std::int64_t o = d_.tokens * d_.o_width * w_.act;
    const std::int64_t dq_accum = d_.tokens * d_.q_width * 4;
    const std::int64_t rowsum = d_.tokens * d_.heads * 4;
    const std::int64_t read = 2 * o + (qkv + 2 * o + lse_bytes() + rowsum) + dq_accum + local_kv_bytes() * (d_.cp - 1);
    const std::int64_t written = rowsum + dq_accum + qkv;
    auto step = compute_step("attn_core_bwd", OpClass::kAttention, DType::kBf16,
                             kFlashBackwardFactor * attention_forward_flops(), read, written, 0, 3);
    step.work.attention = attention_shape(true);
    // K and V come round again, and dK, dV go back to their owners: during
    // the kernel (ring) or around it (all-gather, then reduce-scatter).
    context_exchange(bwd, false);
    if (d_.cp_ring) context_exchange(bwd, true);
    bwd.push_back(std::move(step));
    if (!d_.cp_ring) context_exchange(bwd, true);
  }

  // GELU (Megatron fuses the column-parallel bias into it) keeps its input;
  // SwiGLU reads gate and up and keeps both (one fused tensor of 2 f/t).
  void activation_forward() {
    const std::int64_t out = d_.tokens * d_.ffn;
    if (m_.mlp == MlpKind::kGelu) {
      const bool bias = m_.linear_bias;
      fwd.push_back(compute_step(bias ? "mlp_bias_gelu" : "mlp_gelu", OpClass::kElementwise, DType::kBf16,
                                 (kGeluFwdFlops + (bias ? 1.0 : 0.0)) * as_double(out),
                                 out * w_.act + (bias ? d_.ffn * w_.param : 0), out * w_.act, out * w_.act));
    } else {
      fwd.push_back(compute_step("mlp_swiglu", OpClass::kElementwise, DType::kBf16, kSwiGluFwdFlops * as_double(out),
                                 2 * out * w_.act, out * w_.act, 2 * out * w_.act));
    }
  }

  void activation_backward() {
    const std::int64_t out = d_.tokens * d_.ffn;
    if (m_.mlp == MlpKind::kGelu) {
      bwd.push_back(compute_step("mlp_gelu_bwd", OpClass::kElementwise, DType::kBf16, kGeluBwdFlops * as_double(out),
                                 2 * out * w_.act, out * w_.act));
      if (m_.linear_bias) bias_grad("mlp_up_bias_grad", d_.tokens, d_.ffn);
    } else {
      bwd.push_back(compute_step("mlp_swiglu_bwd", OpClass::kElementwise, DType::kBf16, kSwiGluBwdFlops * as_double(out),
                                 3 * out * w_.act, 2 * out * w_.act));
    }
  }

 private:
  bool layer_norm() const { return m_.norm == NormKind::kLayerNorm; }

  AttentionShape attention_shape(bool backward) const {
    AttentionShape a;
    a.batch = d_.b;
    a.seq_q = d_.s / d_.cp;
    a.seq_kv = m_.sliding_window > 0 ? std::min(d_.s, m_.sliding_window) : d_.s;  // keys per query, at most
    a.heads = d_.heads;
    a.kv_heads = d_.kv_heads;
    a.head_dim = d_.d;
    a.head_dim_v = d_.d_v;
    a.causal = true;
    a.backward = backward;
    return a;
  }

  const ModelSpec& m_;
  Dims d_;
  Widths w_;
};

}  // namespace dtsim::models::layer_ops_detail
