#include "dtsim/models/layer_ops.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "layer_ops_builder.hpp"
#include "layer_ops_mla.hpp"
#include "layer_ops_moe.hpp"
#include "layer_ops_steps.hpp"

namespace dtsim::models {

using namespace layer_ops_detail;

namespace {

// Adam ~14 FLOPs per parameter (two moment updates, sqrt, divide, decoupled
// weight decay, update).
constexpr double kAdamFlops = 14.0;
// Megatron's --make-vocab-size-divisible-by default.
constexpr std::int64_t kVocabDivisor = 128;
// multi_tensor_apply (apex and torch): 65536-element chunks, at most 320 chunks per launch.
constexpr std::int64_t kMultiTensorElementsPerLaunch = 320 * 65536;

// Selective recompute over a decoder layer's forward list built without
// recompute: which steps backward re-runs, and what the forward stops keeping.
// Steps are found by name (unique within one layer's forward). A re-run step
// carries, as its saved_for_backward, the bytes it re-materializes for the
// backward: what the forward no longer keeps because this step makes it again.
class SelectiveRecompute {
 public:
  explicit SelectiveRecompute(std::vector<LayerStep>& forward)
      : fwd_(forward), again_(forward.size(), false), carried_(forward.size()) {}

  std::optional<std::size_t> find(std::string_view name) const {
    for (std::size_t i = 0; i < fwd_.size(); ++i) {
      if (fwd_[i].name == name) return i;
    }
    return std::nullopt;
  }

  // Re-runs `name` (when the layer has it), its kept tensors staying kept:
  // a checkpoint's input, or a step whose output a later re-run step needs.
  void rerun(std::string_view name) {
    if (const auto i = find(name)) again_[*i] = true;
  }
  // Re-runs `name` inside a checkpoint: what it kept is made again instead.
  void rerun_unkept(std::string_view name) {
    const auto i = find(name);
    if (!i) return;
    again_[*i] = true;
    carried_[*i] += fwd_[*i].saved_for_backward;
    fwd_[*i].saved_for_backward = Bytes(0);
  }
  // Output-discarding recompute (Megatron's CheckpointWithoutOutput): the
  // consumers stop keeping their input, `producer`'s output, which the
  // re-run producer makes again. Under AMP a consumer's input is its own
  // bf16 cast of that output: the cast is re-run too.
  void discard_output(std::string_view producer, std::initializer_list<std::string_view> consumers) {
    const auto p = find(producer);
    if (!p) return;
    again_[*p] = true;
    for (const std::string_view c : consumers) {
      const auto i = find(c);
      if (!i) continue;
      carried_[*p] += fwd_[*i].saved_for_backward;
      fwd_[*i].saved_for_backward = Bytes(0);
      rerun(std::string(c) + "_input_cast");
    }
  }
  // The forward stops keeping `bytes` of `name`'s tensors, which the re-run
  // step `maker` makes again.
  void move_to(std::string_view name, Bytes bytes, std::string_view maker) {
    const auto i = find(name);
    const auto m = find(maker);
    DTSIM_CHECK(i && m && fwd_[*i].saved_for_backward >= bytes,
                "selective recompute: no step '" + std::string(name) + "' keeping what '" + std::string(maker) +
                    "' re-makes");
    fwd_[*i].saved_for_backward = fwd_[*i].saved_for_backward - bytes;
    again_[*m] = true;
    carried_[*m] += bytes;
  }
  // `name` re-runs and re-materializes `bytes` the forward keeps elsewhere
  // too (the attention output, which the out-projection keeps).
  void remake(std::string_view name, Bytes bytes) {
    const auto i = find(name);
    DTSIM_CHECK(i.has_value(), "selective recompute: no step '" + std::string(name) + "'");
    again_[*i] = true;
    carried_[*i] += bytes;
  }
  void keep_more(std::string_view name, Bytes bytes) {
    const auto i = find(name);
    DTSIM_CHECK(i.has_value(), "selective recompute: no step '" + std::string(name) + "'");
    fwd_[*i].saved_for_backward += bytes;
  }

  // The re-run steps in forward order.
  std::vector<LayerStep> steps() const {
    std::vector<LayerStep> out;
    for (std::size_t i = 0; i < fwd_.size(); ++i) {
      if (!again_[i]) continue;
      LayerStep s = fwd_[i];
      s.saved_for_backward = carried_[i];
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  std::vector<LayerStep>& fwd_;
  std::vector<bool> again_;
  std::vector<Bytes> carried_;
};

// Applies the recompute mode to a decoder layer built without recompute.
//  - kSelective, per recompute_modules (training_spec.hpp; default core_attn):
//    - core_attn (Korthikanti et al.'s selective recompute): the checkpoint
//      keeps its inputs Q, K, V but not the LSE; backward first re-runs the
//      flash forward, which re-materializes O and the LSE.
//    - layernorm: the input and post-attention norms keep their input and
//      statistics, as without recompute; the GEMMs they feed (QKV or MLA's
//      down-projections, the MLP's up-projection or the router and shared
//      experts) no longer keep the norm's output: the norm re-runs.
//    - mla_up_proj (DeepSeek-V3 §3.2.3, Megatron's qkv_up_checkpoint): the
//      latent norms, [SP all-gathers,] up-projections and the MLA rotary
//      re-run from the compressed latents (kept by the latent norms, with the
//      rotary key now kept beside them); the up-projections no longer keep
//      the normed latents, and flash attention no longer keeps Q, K, V: the
//      rotary re-makes them. Without q_lora_rank the query projection re-runs
//      from the kept norm output.
//    - moe_act: the routed experts' down-projection no longer keeps the
//      activation's output; the activation re-runs from its kept input.
//    - mlp / shared_experts (a checkpoint of the block): only the block's
//      input is kept (by its first GEMM); the block re-runs, TP collectives
//      included, re-making its activation's input and output.
//  - kFull: the forward keeps only the layer input (T_sp x h); backward re-runs
//    the whole forward, TP collectives included, before the layer's backward.
void apply_recompute(const ModelSpec& m, const TrainingSpec& t, const Dims& d, const Widths& w, LayerOps& ops,
                     std::int64_t lse_bytes) {
  if (t.recompute == Recompute::kFull) {
    ops.recompute = ops.forward;
    for (auto& s : ops.forward) s.saved_for_backward = Bytes(0);
    ops.forward.front().saved_for_backward = Bytes(d.tokens_sp * d.h * w.residual);
    return;
  }
  if (t.recompute != Recompute::kSelective) return;
  if (std::vector<Diagnostic> bad = validate_recompute(m, t, "/training"); !bad.empty()) {
    throw InputError(std::move(bad));
  }
  SelectiveRecompute r(ops.forward);
  if (recomputes(t, RecomputeModule::kLayerNorm)) {
    r.discard_output("input_norm", {"qkv_proj", "q_proj", "q_down_proj", "kv_down_proj"});
    r.discard_output("post_attn_norm", {"mlp_up", "router", "shared_expert_up"});
  }
  if (recomputes(t, RecomputeModule::kMlaUpProjection) && m.attention == AttentionKind::kMla) {
    if (r.find("q_up_proj")) {
      r.discard_output("q_latent_norm", {"q_up_proj"});
      r.rerun("tp_all_gather_q_up_proj_latent");
      r.rerun("q_up_proj");
    } else {
      r.rerun("q_proj_input_cast");
      r.rerun("tp_all_gather_attn");
      r.rerun("q_proj");
    }
    r.discard_output("kv_latent_norm", {"kv_up_proj"});
    r.rerun("tp_all_gather_kv_up_proj_latent");
    r.rerun("kv_up_proj");
    // The rotary key leaves the KV down-projection beside the latent: kept
    // with it, for the rotary's re-run.
    r.keep_more("kv_latent_norm", Bytes(d.tokens_sp * m.mla.qk_rope_head_dim * w.act));
    r.move_to("attn_core", Bytes(d.tokens * d.qkv_width * w.act), "mla_rotary");
  }
  if (recomputes(t, RecomputeModule::kCoreAttention)) {
    r.move_to("attn_core", Bytes(lse_bytes), "attn_core");
    r.remake("attn_core", Bytes(d.tokens * d.o_width * w.act));
  }
  if (recomputes(t, RecomputeModule::kMoeActivation)) {
    r.discard_output("expert_swiglu", {"expert_down"});
    r.discard_output("expert_gelu", {"expert_down"});
  }
  const auto checkpoint_block = [&r](const std::string& up, const std::string& act_prefix, const std::string& down,
                                     const std::string& suffix) {
    r.rerun(up + "_input_cast");
    r.rerun("tp_all_gather_" + suffix);
    r.rerun(up);
    for (const char* a : {"_swiglu", "_gelu", "_bias_gelu"}) r.rerun_unkept(act_prefix + a);
    r.rerun_unkept(down);
    r.rerun("tp_reduce_scatter_" + suffix);
    r.rerun("tp_all_reduce_" + suffix);
  };
  if (recomputes(t, RecomputeModule::kMlp)) checkpoint_block("mlp_up", "mlp", "mlp_down", "mlp");
  if (recomputes(t, RecomputeModule::kSharedExperts)) {
    checkpoint_block("shared_expert_up", "shared_expert", "shared_expert_down", "shared_expert");
  }
  ops.recompute = r.steps();
}

// The attention half of a layer: MHA/GQA, or multi-head latent attention.
void attention_forward(OpsBuilder& ob) {
  if (ob.model().attention == AttentionKind::kMla) {
    mla_attention_block_forward(ob);
  } else {
    ob.attention_block_forward();
  }
}

void attention_backward(OpsBuilder& ob) {
  if (ob.model().attention == AttentionKind::kMla) {
    mla_attention_block_backward(ob);
  } else {
    ob.attention_block_backward();
  }
}

// This rank's attention parameters (TP shard; MLA's replicated
// down-projections whole) and the layer's two norms.
std::int64_t attention_rank_parameters(const ModelSpec& m, const Dims& d) {
  std::int64_t n = 2 * d.norm_params;
  if (m.attention == AttentionKind::kMla) return n + mla_rank_parameters(m, d);
  n += d.h * d.qkv_width + d.q_width * d.h;
  if (m.linear_bias) n += d.qkv_width + d.h;
  return n;
}

}  // namespace

std::int64_t padded_vocab_size(const ModelSpec& m, int tp) {
  const std::int64_t multiple = kVocabDivisor * (tp > 0 ? tp : 1);
  return (m.vocab_size + multiple - 1) / multiple * multiple;
}

LayerOps decoder_layer_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  const Dims d = dims_of(m, t, p);
  const Widths w = layer_widths_for(t, p);
  OpsBuilder ob(m, d, w);

  // Forward, in execution order.
  attention_forward(ob);
  ob.column_forward("mlp_up", "mlp", d.up_width);
  ob.activation_forward();
  ob.row_forward("mlp_down", "mlp", d.ffn);
  ob.residual_forward("mlp");

  // Backward, in execution order (the forward reversed).
  ob.residual_backward("mlp");
  ob.row_backward("mlp_down", "mlp", d.ffn);
  ob.activation_backward();
  ob.column_backward("mlp_up", d.up_width);
  attention_backward(ob);

  LayerOps ops;
  ops.forward = std::move(ob.fwd);
  ops.backward = std::move(ob.bwd);
  apply_recompute(m, t, d, w, ops, ob.lse_bytes());
  ops.saved_activations = sum_saved(ops.forward);

  // Column-parallel weights and biases are split over tp; norms and the
  // row-parallel biases are replicated on every TP rank.
  ops.parameters = attention_rank_parameters(m, d) + d.h * d.up_width + d.ffn * d.h;
  if (m.linear_bias) ops.parameters += d.up_width + d.h;
  return ops;
}

LayerOps moe_layer_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  const Dims d = dims_of(m, t, p);
  const MoeDims e = moe_dims_of(m, d, p);
  const Widths w = layer_widths_for(t, p);
  OpsBuilder ob(m, d, w);

  attention_forward(ob);
  moe_block_forward(ob, e);
  ob.residual_forward("mlp");

  ob.residual_backward("mlp");
  moe_block_backward(ob, e);
  attention_backward(ob);

  LayerOps ops;
  ops.forward = std::move(ob.fwd);
  ops.backward = std::move(ob.bwd);
  apply_recompute(m, t, d, w, ops, ob.lse_bytes());
  ops.saved_activations = sum_saved(ops.forward);

  // Attention as a dense layer (TP shard), the router replicated on every TP
  // rank, this rank's experts (E / ep, each / expert_tp), the shared experts' TP shard.
  ops.parameters = attention_rank_parameters(m, d) + d.h * e.experts;
  ops.expert_parameters = e.local_experts * (d.h * e.expert_up_width + e.expert_ffn * d.h);
  if (m.linear_bias) ops.expert_parameters += e.local_experts * (e.expert_up_width + d.h);
  ops.parameters += ops.expert_parameters;
  if (e.shared_ffn > 0) {
    ops.parameters += d.h * e.shared_up_width + e.shared_ffn * d.h;
    if (m.linear_bias) ops.parameters += e.shared_up_width + d.h;
  }
  return ops;
}

// Megatron's VocabParallelEmbedding and LanguageModelEmbedding:
//  forward: [tp > 1: mask token ids outside this rank's vocab shard] lookup
//  (and zero the rows of masked tokens) [token + learned position add]; the
//  partial embeddings are reduce-scattered straight into the SP layout when
//  there are no learned positions, else all-reduced (then, under SP, each rank
//  keeps its T/tp slice: a view, no kernel); Megatron transposes [b, s, h] to
//  [s, b, h] (one copy); hidden dropout on the SP region.
//  backward: dropout, [SP all-gather of the gradient], the transpose back,
//  then torch's dense embedding backward (zero a shard-sized gradient, sort
//  the ids and scatter-add the rows) and, under Megatron, the add into
//  main_grad (the PyTorch modes: the sum of a tied weight's two gradients;
//  the lowering adds later micro-batches into .grad).
// Embedding weights and outputs are bf16, except under AMP (fp32: autocast
// does not cast embeddings, so the residual stream starts in fp32).
LayerOps embedding_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  const Dims d = dims_of(m, t, p);
  const Widths w = layer_widths_for(t, p);
  const std::int64_t e = w.param;  // bytes of an embedding element
  const DType e_dtype = e == 4 ? DType::kFp32 : DType::kBf16;
  const std::int64_t vocab_rows = padded_vocab_size(m, p.tp) / d.tp;
  const bool learned = m.position == PositionKind::kLearned;
  const bool megatron = t.precision == PrecisionMode::kMegatronBf16;
  const std::int64_t full = d.tokens * d.h;     // elements of the embedding output
  const std::int64_t sharded = d.tokens_sp * d.h;
  const std::int64_t ids = d.tokens * 8;        // int64 token ids
  // Rows of tokens that fall in other ranks' shards: zeroed in forward and in
  // the gradient ((tp-1)/tp of the tokens on average).
  const std::int64_t foreign_rows = full * (d.tp - 1) / d.tp;
  LayerOps ops;
  auto& f = ops.forward;
  auto& b = ops.backward;

  if (d.tp > 1) {
    // Keeps the shifted ids and the out-of-shard mask for backward.
    f.push_back(compute_step("embedding_index_mask", OpClass::kElementwise, DType::kBf16, as_double(d.tokens), ids,
                             ids + d.tokens, ids + d.tokens, 3));
  }
  f.push_back(compute_step("embedding_lookup", OpClass::kEmbedding, e_dtype, 0.0,
                           ids + full * e + (d.tp > 1 ? d.tokens : 0), full * e + foreign_rows * e,
                           d.tp > 1 ? 0 : ids, d.tp > 1 ? 2 : 1));
  const bool reduce_scatter = d.sp && !learned;
  if (reduce_scatter) {
    if (megatron) f.push_back(compute_step("embedding_transpose", OpClass::kMemcpy, e_dtype, 0.0, full * e, full * e));
    f.push_back(tp_collective_step("tp_reduce_scatter_embedding", CollectiveKind::kReduceScatter, full * e));
  } else {
    if (d.tp > 1) f.push_back(tp_collective_step("tp_all_reduce_embedding", CollectiveKind::kAllReduce, full * e));
    if (learned) {
      f.push_back(compute_step("position_lookup", OpClass::kEmbedding, e_dtype, 0.0, ids + full * e, full * e));
      f.push_back(compute_step("position_add", OpClass::kElementwise, e_dtype, as_double(full), 2 * full * e, full * e));
    }
    if (megatron) f.push_back(compute_step("embedding_transpose", OpClass::kMemcpy, e_dtype, 0.0, full * e, full * e));
  }
  if (m.dropout) {
    f.push_back(compute_step("embedding_dropout", OpClass::kElementwise, e_dtype, 2.0 * as_double(sharded),
                             sharded * e, sharded * e + sharded, sharded));
    b.push_back(compute_step("embedding_dropout_bwd", OpClass::kElementwise, e_dtype, 2.0 * as_double(sharded),
                             sharded * e + sharded, sharded * e));
  }
  if (d.sp) b.push_back(tp_collective_step("tp_all_gather_embedding_grad", CollectiveKind::kAllGather, full * e));
  if (megatron) b.push_back(compute_step("embedding_grad_transpose", OpClass::kMemcpy, e_dtype, 0.0, full * e, full * e));
  // Megatron adds the gradient into its main_grad buffer every micro-batch.
  // Under PyTorch, AccumulateGrad takes the dense backward's output as .grad
  // on the first micro-batch and the lowering adds later ones
  // (gradient_accumulation_ops); a tied weight's two gradients are summed
  // first. A profile of an AMP step with a 128K vocabulary on H100 has the
  // table's zero fill and no table-sized add.
  const bool adds_into_main_grad = megatron || t.framework == Framework::kMegatron;
  const bool tied_sum = m.tied_embeddings && p.pp == 1;
  auto dense_backward = [&](const std::string& name, std::int64_t rows, std::int64_t zeroed_rows_elems) {
    const std::int64_t table = rows * d.h;
    b.push_back(weight_grad(compute_step(name + "_grad_zero", OpClass::kMemcpy, e_dtype, 0.0, 0, table * e)));
    // Sort the ids, then add each token's gradient row into its table row
    // (reading and writing the row): ~4 launches (sort, segment offsets,
    // partial sums, final sums), one more to zero the masked rows' gradient.
    b.push_back(weight_grad(compute_step(name + "_grad_scatter_add", OpClass::kEmbedding, e_dtype, as_double(full),
                                         ids + 2 * full * e + zeroed_rows_elems * e, full * e + zeroed_rows_elems * e,
                                         0, zeroed_rows_elems > 0 ? 5 : 4)));
    if (adds_into_main_grad) {
      b.push_back(weight_grad(compute_step(name + "_grad_accumulate", OpClass::kElementwise, DType::kFp32,
                                           as_double(table), table * (e + w.grad), table * w.grad)));
    } else if (tied_sum && name == "embedding") {
      // Autograd sums the tied weight's two gradients (the head's, computed
      // first, and this one) before AccumulateGrad takes the sum.
      b.push_back(weight_grad(compute_step("embedding_tied_grad_sum", OpClass::kElementwise,
                                           w.grad == 4 ? DType::kFp32 : DType::kBf16, as_double(table),
                                           2 * table * w.grad, table * w.grad)));
    }
  };
  if (learned) dense_backward("position_embedding", m.max_seq_len, 0);
  dense_backward("embedding", vocab_rows, foreign_rows);

  ops.saved_activations = sum_saved(ops.forward);
  ops.parameters = vocab_rows * d.h + (learned ? m.max_seq_len * d.h : 0);
  return ops;
}

namespace {
// Megatron's vocab-parallel cross-entropy in fp32 (megatron/core/
// tensor_parallel/cross_entropy.py, unfused), after the cast to fp32: max
// over the shard, all-reduce(max), subtract in place, gather the target
// logit, exp in place, sum, all-reduce(predicted logit) and
// all-reduce(sum of exp) (three T x 4-byte all-reduces), normalize in place to
// the softmax it keeps for backward. Backward: subtract one at the targets and
// scale by the loss gradient in place.
void megatron_loss_steps(OpsBuilder& ob, const Dims& d, std::int64_t logits) {
  const std::int64_t per_token = d.tokens * 4;        // one fp32 per token
  const std::int64_t targets = d.tokens * 8;          // int64 ids
  auto& f = ob.fwd;
  f.push_back(compute_step("ce_max", OpClass::kSoftmax, DType::kFp32, as_double(logits), logits * 4, per_token));
  if (d.tp > 1) f.push_back(tp_collective_step("tp_all_reduce_ce_max", CollectiveKind::kAllReduce, per_token));
  // Subtract (r/w), target masking and gather (small), exp (r/w), sum (r).
  f.push_back(compute_step("ce_exp_sum", OpClass::kSoftmax, DType::kFp32, 3.0 * as_double(logits),
                           3 * logits * 4 + per_token + targets, 2 * logits * 4 + targets + d.tokens + 2 * per_token,
                           0, 8));
  if (d.tp > 1) {
    f.push_back(tp_collective_step("tp_all_reduce_ce_predicted", CollectiveKind::kAllReduce, per_token));
    f.push_back(tp_collective_step("tp_all_reduce_ce_sum_exp", CollectiveKind::kAllReduce, per_token));
  }
  // Divide in place (r/w) and the per-token loss log(sum) - predicted; keeps
  // the softmax, the target mask and the shifted targets.
  f.push_back(compute_step("ce_normalize", OpClass::kSoftmax, DType::kFp32, as_double(logits) + 2.0 * as_double(d.tokens),
                           logits * 4 + 3 * per_token, logits * 4 + per_token, logits * 4 + d.tokens + targets, 3));

  auto& b = ob.bwd;
  b.push_back(compute_step("ce_grad", OpClass::kSoftmax, DType::kFp32, as_double(logits),
                           logits * 4 + targets + d.tokens + per_token, logits * 4, 0, 3));
}

// PyTorch's F.cross_entropy on the fp32 logits (the training harness's
// loss_fn; torchtitan's): log_softmax, one kernel that keeps its fp32 output
// for backward, then nll_loss picking each token's target (keeps the
// targets). Backward: nll_loss's gradient is a zero-filled fp32 tensor of the
// logits' size with one value scattered per token, then log_softmax's
// backward. The log-softmax kernels (cunn_SoftMaxForward / Backward,
// OpClass::kLogSoftmax) make one pass over the row per reduction: forward
// reads it for the max, for the sum of exponentials and to write the output
// (16 bytes per logit), backward reads the gradient for its sum, then the
// gradient and the output to write the input gradient (16 bytes per logit).
void eager_loss_steps(OpsBuilder& ob, std::int64_t logits, std::int64_t tokens) {
  const std::int64_t per_token = tokens * 4;  // one fp32 per token
  const std::int64_t targets = tokens * 8;    // int64 ids
  auto& f = ob.fwd;
  f.push_back(compute_step("ce_log_softmax", OpClass::kLogSoftmax, DType::kFp32, 3.0 * as_double(logits),
                           3 * logits * 4, logits * 4, logits * 4));
  f.push_back(compute_step("ce_nll_loss", OpClass::kElementwise, DType::kFp32, as_double(tokens),
                           targets + per_token, 4, targets));
  auto& b = ob.bwd;
  b.push_back(compute_step("ce_grad_zero_fill", OpClass::kElementwise, DType::kFp32, 0.0, 0, logits * 4));
  b.push_back(compute_step("ce_nll_loss_bwd", OpClass::kElementwise, DType::kFp32, as_double(tokens),
                           targets + 4, per_token));
  b.push_back(compute_step("ce_log_softmax_bwd", OpClass::kLogSoftmax, DType::kFp32, 3.0 * as_double(logits),
                           3 * logits * 4, logits * 4));
}
}  // namespace

// Final norm, the column-parallel logits GEMM over this rank's vocab shard,
// the cast of the logits to fp32 and the cross-entropy: PyTorch's
// F.cross_entropy under the PyTorch frameworks without TP (the block compiled
// or not, the loss runs eager), Megatron's vocab-parallel kernels otherwise
// (also for DTensor's loss_parallel, which reduces over the vocabulary shards
// the same way). Backward: the loss's kernels, the gradient's cast back to
// bf16, then the logits dgrad / wgrad and the final norm's backward.
LayerOps head_and_loss_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  const Dims d = dims_of(m, t, p);
  const Widths w = layer_widths_for(t, p);
  const std::int64_t vocab_rows = padded_vocab_size(m, p.tp) / d.tp;
  const std::int64_t logits = d.tokens * vocab_rows;  // elements on this rank
  OpsBuilder ob(m, d, w);
  auto& f = ob.fwd;

  ob.norm_forward("final_norm");
  ob.column_forward("logits", "logits", vocab_rows);
  f.push_back(compute_step("logits_to_fp32", OpClass::kCast, DType::kBf16, as_double(logits), logits * w.act,
                           logits * 4));
  if (t.framework != Framework::kMegatron && d.tp == 1) {
    eager_loss_steps(ob, logits, d.tokens);
  } else {
    megatron_loss_steps(ob, d, logits);
  }
  auto& b = ob.bwd;
  b.push_back(compute_step("logits_grad_to_bf16", OpClass::kCast, DType::kFp32, as_double(logits), logits * 4,
                           logits * w.act));
  ob.column_backward("logits", vocab_rows);
  ob.norm_backward("final_norm_bwd");

  LayerOps ops;
  ops.forward = std::move(ob.fwd);
  ops.backward = std::move(ob.bwd);
  ops.saved_activations = sum_saved(ops.forward);
  ops.parameters = (m.tied_embeddings ? 0 : vocab_rows * d.h) + d.norm_params;
  return ops;
}

namespace {
std::int32_t multi_tensor_launches(std::int64_t parameters) {
  const std::int64_t n = (parameters + kMultiTensorElementsPerLaunch - 1) / kMultiTensorElementsPerLaunch;
  return static_cast<std::int32_t>(n < 1 ? 1 : n);
}
}  // namespace

// Megatron (apex / TE fused optimizer path): multi_tensor_l2norm over the fp32
// main gradients (+1 cleanup kernel), fused Adam on fp32 master weights,
// gradients and moments, multi_tensor_scale copying the master weights into
// the bf16 model weights, and zeroing the contiguous main-gradient buffer for
// the next step. The gradient rescale for clipping runs only when the norm
// exceeds the threshold, which this model cannot know; it is left out.
// PyTorch (AMP, pure bf16): clip_grad_norm_ (foreach norm + foreach scale by
// the clamped coefficient, always applied), fused or foreach AdamW in the
// parameters' dtype, zero_grad(set_to_none=True) which launches nothing.
std::vector<LayerStep> optimizer_ops(std::int64_t parameters, const TrainingSpec& t,
                                     std::int64_t grad_buffer_elements) {
  if (parameters < 0) throw InputError("/plan", "optimizer over a negative parameter count " + std::to_string(parameters));
  std::vector<LayerStep> out;
  if (parameters == 0) return out;
  const double n = as_double(parameters);
  const std::int32_t launches = multi_tensor_launches(parameters);
  const Widths w = widths_for(t.precision);
  const std::int64_t state = t.precision == PrecisionMode::kPureBf16 ? 2 : 4;  // master / moment bytes
  const DType dtype = state == 4 ? DType::kFp32 : DType::kBf16;
  if (t.clip_grad_norm) {
    out.push_back(compute_step("grad_norm", OpClass::kOptimizer, dtype, 2.0 * n, parameters * w.grad,
                               launches * 320 * 4 + 4, 0, launches + 1));
    if (t.precision != PrecisionMode::kMegatronBf16) {
      out.push_back(compute_step("grad_clip_scale", OpClass::kOptimizer, dtype, n, parameters * w.grad,
                                 parameters * w.grad, 0, launches));
    }
  }
  if (t.optimizer == OptimizerImpl::kForeach) {
    // PyTorch's multi-tensor AdamW (torch/optim/adamw.py, _multi_tensor_adamw;
    // no amsgrad, not capturable: the step counts and bias corrections stay on
    // the host): eight foreach kernels, each a pass over its tensor lists, with
    // S the parameters' and moments' bytes and G the gradients': weight decay
    // (p: 2S), lerp of m towards g (m, g -> m: 2S + G), v scaled by beta2 (2S)
    // and addcmul of g^2 (v, g -> v: 2S + G), sqrt of v into a temporary (2S),
    // its division by the bias correction (2S) and + eps (2S), addcdiv into p
    // (p, m, tmp -> p: 4S). 18 S + 2 G a parameter, as streaming elementwise
    // kernels.
    const std::int64_t read = parameters * (10 * state + 2 * w.grad);
    const std::int64_t written = parameters * 8 * state;
    out.push_back(compute_step("adam_foreach", OpClass::kElementwise, dtype, kAdamFlops * n, read, written, 0,
                               8 * launches));
    return out;
  }
  // Reads weight, gradient, m, v; writes weight, m, v.
  out.push_back(compute_step("adam_update", OpClass::kOptimizer, dtype, kAdamFlops * n,
                             parameters * (state + w.grad + 2 * state), parameters * 3 * state, 0, launches));
  if (t.precision == PrecisionMode::kMegatronBf16) {
    out.push_back(compute_step("copy_master_to_bf16", OpClass::kCast, DType::kFp32, n, parameters * 4, parameters * 2,
                               0, launches));
    const std::int64_t buffer = grad_buffer_elements < 0 ? parameters : grad_buffer_elements;
    out.push_back(compute_step("zero_main_grads", OpClass::kMemcpy, DType::kFp32, 0.0, 0, buffer * w.grad));
  }
  return out;
}

std::vector<LayerStep> weight_cast_ops(std::int64_t parameters, const TrainingSpec& t, std::int32_t tensors) {
  std::vector<LayerStep> out;
  const bool autocast = t.precision == PrecisionMode::kAmpBf16 || t.precision == PrecisionMode::kFsdpMixedBf16;
  if (!autocast || parameters <= 0) return out;
  out.push_back(compute_step("weight_cast_bf16", OpClass::kCast, DType::kFp32, as_double(parameters), parameters * 4,
                             parameters * 2, parameters * 2, tensors < 1 ? 1 : tensors));
  return out;
}

std::vector<LayerStep> gradient_accumulation_ops(std::int64_t parameters, std::int32_t tensors, const TrainingSpec& t,
                                                 const ParallelPlan& plan) {
  std::vector<LayerStep> out;
  if (t.framework == Framework::kMegatron || t.precision == PrecisionMode::kMegatronBf16 || parameters <= 0) {
    return out;
  }
  // .grad's width: the fp32 parameter's under AMP (and FSDP2's mixed
  // precision without ZeRO-3, which is AMP); the bf16 parameter's in pure
  // bf16 and under FSDP2's mixed precision with ZeRO-3 (its unsharded
  // parameters).
  const std::int64_t width = layer_widths_for(t, plan).wgrad == Widths::WgradOutput::kCastToFp32 ? 4 : 2;
  const std::int64_t grads = parameters * width;
  out.push_back(compute_step("grad_accumulate", OpClass::kElementwise, width == 4 ? DType::kFp32 : DType::kBf16,
                             as_double(parameters), 2 * grads, grads, 0, tensors < 1 ? 1 : tensors));
  return out;
}

std::vector<LayerStep> pipelining_step_end_ops(std::int64_t parameters, std::int32_t tensors,
                                               std::int64_t merged_output_bytes, const TrainingSpec& t) {
  std::vector<LayerStep> out;
  if (t.framework == Framework::kMegatron) return out;
  if (parameters > 0) {
    const std::int64_t width = widths_for(t.precision).grad;
    const std::int64_t grads = parameters * width;
    out.push_back(compute_step("pipeline_grad_scale", OpClass::kElementwise, width == 4 ? DType::kFp32 : DType::kBf16,
                               as_double(parameters), grads, grads, 0, tensors < 1 ? 1 : tensors));
  }
  if (merged_output_bytes > 0) {
    out.push_back(compute_step("pipeline_output_merge", OpClass::kMemcpy, DType::kBf16, 0.0, merged_output_bytes,
                               merged_output_bytes, 0, 1));
  }
  return out;
}

std::vector<LayerStep> data_parallel_copy_ops(DataParallelCopy which, std::int64_t elements, const TrainingSpec& t,
                                              std::int32_t tensors) {
  std::vector<LayerStep> out;
  if (t.framework == Framework::kMegatron || elements <= 0) return out;
  const std::int32_t kernels = tensors < 1 ? 1 : tensors;
  const std::int64_t stored = parameter_bytes(t.precision).weights;
  const std::int64_t gathered = gathered_weight_bytes(t.precision);
  const std::int64_t reduced = parameter_bytes(t.precision).gradients;
  // The unsharded gradient autograd produces: the parameter's dtype (FSDP's
  // mixed precision computes with bf16 parameters).
  const std::int64_t unsharded_grad = t.precision == PrecisionMode::kFsdpMixedBf16 ? 2 : reduced;
  // `passes` reads of `from`-byte elements, each written back as `to` bytes.
  const auto step = [&](std::string name, std::int64_t from, std::int64_t to, std::int32_t n, std::int64_t passes) {
    const OpClass op = from == to ? OpClass::kMemcpy : OpClass::kCast;
    const DType dtype = std::max(from, to) >= 4 ? DType::kFp32 : DType::kBf16;
    out.push_back(compute_step(std::move(name), op, dtype, from == to ? 0.0 : as_double(elements),
                               passes * elements * from, passes * elements * to, 0, n));
  };
  switch (which) {
    case DataParallelCopy::kFsdpGatherCopyIn:
      step("fsdp_gather_copy_in", stored, gathered, multi_tensor_launches(elements), 1);
      break;
    case DataParallelCopy::kFsdpGatherCopyOut:
      step("fsdp_gather_copy_out", gathered, gathered, 1, 1);
      break;
    case DataParallelCopy::kFsdpReduceCopyIn:
      step("fsdp_reduce_copy_in", unsharded_grad, reduced, 1, 1);
      break;
    case DataParallelCopy::kDdpBucketCopy:
      step("ddp_bucket_copy_scale", reduced, reduced, kernels + 1, 2);
      break;
  }
  return out;
}

}  // namespace dtsim::models
