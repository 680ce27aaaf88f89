#include "layer_ops_moe.hpp"

#include <string>

#include "dtsim/core/error.hpp"

namespace dtsim::models::layer_ops_detail {
namespace {

// Gate FLOPs per router logit: exp (or sigmoid), the normalization and the
// top-k selection (~5); memory-bound either way.
constexpr double kGateFlops = 5.0;

LayerStep expert_collective(std::string name, CollectiveKind kind, std::int64_t bytes, LayerStep::Kind group) {
  LayerStep s = tp_collective_step(std::move(name), kind, bytes);
  s.kind = group;
  return s;
}

// A grouped GEMM: one m x n x k product per local expert, m the rows each
// expert gets (rounded up), FLOPs over the exact row total.
LayerStep grouped_gemm(std::string name, std::int64_t rows, std::int64_t n, std::int64_t k, std::int64_t groups,
                       std::int64_t read, std::int64_t written, std::int64_t saved = 0) {
  LayerStep s = gemm_step(std::move(name), rows, n, k, read, written, saved);
  const std::int64_t per_group = (rows + groups - 1) / groups;
  s.work.gemm = GemmShape{per_group, n, k, groups};
  return s;
}

// wgrad of a grouped GEMM: dW[n x k] per expert = dY^T X over its rows,
// delivered to gradient storage as Widths::wgrad says (OpsBuilder::wgrad):
// the GEMM, then under AMP the cast of its bf16 output to the fp32 .grad.
void grouped_wgrad(std::vector<LayerStep>& out, const std::string& name, std::int64_t rows, std::int64_t n,
                   std::int64_t k, std::int64_t groups, const Widths& w) {
  const bool into_storage = w.wgrad == Widths::WgradOutput::kIntoStorage;
  const std::int64_t weights = groups * n * k;
  const std::int64_t read = (rows * n + rows * k) * w.act + (into_storage ? weights * w.grad : 0);
  LayerStep s = gemm_step(name, n, k, rows, read, weights * (into_storage ? w.grad : w.act));
  const std::int64_t per_group = (rows + groups - 1) / groups;
  s.work.gemm = GemmShape{n, k, per_group, groups};
  out.push_back(weight_grad(std::move(s)));
  if (w.wgrad == Widths::WgradOutput::kCastToFp32) {
    out.push_back(weight_grad(compute_step(name + "_cast", OpClass::kCast, DType::kFp32, as_double(weights),
                                           weights * w.act, weights * w.grad)));
  }
}

LayerStep activation(const std::string& name, const ModelSpec& m, std::int64_t rows, std::int64_t width,
                     const Widths& w, bool backward) {
  const std::int64_t out = rows * width;
  if (m.mlp == MlpKind::kGelu) {
    return backward ? compute_step(name + "_gelu_bwd", OpClass::kElementwise, DType::kBf16,
                                   kGeluBwdFlops * as_double(out), 2 * out * w.act, out * w.act)
                    : compute_step(name + "_gelu", OpClass::kElementwise, DType::kBf16, kGeluFwdFlops * as_double(out),
                                   out * w.act, out * w.act, out * w.act);
  }
  return backward ? compute_step(name + "_swiglu_bwd", OpClass::kElementwise, DType::kBf16,
                                 kSwiGluBwdFlops * as_double(out), 3 * out * w.act, 2 * out * w.act)
                  : compute_step(name + "_swiglu", OpClass::kElementwise, DType::kBf16,
                                 kSwiGluFwdFlops * as_double(out), 2 * out * w.act, out * w.act, 2 * out * w.act);
}

std::int64_t a2a_bytes(const MoeDims& e, std::int64_t h, const Widths& w) {
  return e.load.hottest_rank_assignments * h * w.act;
}

}  // namespace

MoeDims moe_dims_of(const ModelSpec& m, const Dims& d, const ParallelPlan& p) {
  const MoeSpec& s = m.moe;
  if (!s.enabled()) throw InputError("/model/num_experts", "an MoE layer needs num_experts >= 2");
  MoeDims e;
  e.experts = s.num_experts;
  e.top_k = s.top_k;
  e.ep = p.ep;
  e.etp = p.expert_tensor_parallel();
  require_positive(e.ep, "/plan/ep", "ep");
  require_positive(e.etp, "/plan/expert_tp", "expert_tp");
  require_positive(s.expert_ffn_hidden, "/model/expert_ffn_hidden", "expert_ffn_hidden");
  if (s.num_experts % e.ep != 0) {
    throw InputError("/plan/ep", "ep = " + std::to_string(e.ep) + " must divide num_experts = " +
                                     std::to_string(s.num_experts));
  }
  if (s.expert_ffn_hidden % e.etp != 0) {
    throw InputError("/plan/expert_tp", "expert_tp = " + std::to_string(e.etp) + " must divide expert_ffn_hidden = " +
                                            std::to_string(s.expert_ffn_hidden));
  }
  if (d.tp > 1 && !d.sp) {
    throw InputError("/plan/sequence_parallel", "an MoE layer with tp > 1 needs sequence_parallel");
  }
  e.local_experts = s.num_experts / e.ep;
  e.expert_ffn = s.expert_ffn_hidden / e.etp;
  e.expert_up_width = m.mlp == MlpKind::kSwiGlu ? 2 * e.expert_ffn : e.expert_ffn;
  const std::int64_t shared = s.num_shared_experts * s.shared_expert_ffn_hidden;
  if (shared > 0) {
    if (shared % d.tp != 0) {
      throw InputError("/plan/tp", "tp = " + std::to_string(d.tp) + " must divide the shared experts' width " +
                                       std::to_string(shared));
    }
    e.shared_ffn = shared / d.tp;
    e.shared_up_width = m.mlp == MlpKind::kSwiGlu ? 2 * e.shared_ffn : e.shared_ffn;
  }
  e.tokens = d.tokens_sp;
  e.load = expert_load(s, e.tokens, static_cast<int>(e.ep));
  e.expert_rows = e.load.hottest_rank_assignments * e.etp;
  e.gate = s.gate;
  return e;
}

// Expert parallelism's exchange toward the experts: the all-to-all, then
// (several local experts) Megatron's sort of the received chunks by expert.
// The forward's dispatch, and the backward's combine gradient.
void exchange_to_experts(std::vector<LayerStep>& out, const MoeDims& e, std::int64_t h, const Widths& w,
                         const std::string& all_to_all, const std::string& sort) {
  if (e.ep == 1) return;
  out.push_back(expert_collective(all_to_all, CollectiveKind::kAllToAll, a2a_bytes(e, h, w),
                                  LayerStep::Kind::kExpertCollective));
  if (e.local_experts > 1) {
    const std::int64_t received = e.load.hottest_rank_assignments * h * w.act;
    out.push_back(compute_step(sort, OpClass::kMemcpy, DType::kBf16, 0.0, received, received));
  }
}

// The way back: the chunks unsorted to source-rank order, then the
// all-to-all. The forward's combine, and the backward's dispatch gradient.
void exchange_from_experts(std::vector<LayerStep>& out, const MoeDims& e, std::int64_t h, const Widths& w,
                           const std::string& unsort, const std::string& all_to_all) {
  if (e.ep == 1) return;
  if (e.local_experts > 1) {
    const std::int64_t received = e.load.hottest_rank_assignments * h * w.act;
    out.push_back(compute_step(unsort, OpClass::kMemcpy, DType::kBf16, 0.0, received, received));
  }
  out.push_back(expert_collective(all_to_all, CollectiveKind::kAllToAll, a2a_bytes(e, h, w),
                                  LayerStep::Kind::kExpertCollective));
}

void moe_block_forward(OpsBuilder& ob, const MoeDims& e) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  auto& f = ob.fwd;
  const std::int64_t t = e.tokens;
  const std::int64_t h = d.h;
  const std::int64_t logits = t * e.experts;
  const std::int64_t kept = e.load.kept_assignments;
  const std::int64_t routing_map = t * e.top_k * (8 + 4);  // expert index and gate weight per assignment
  const std::int64_t rows = e.expert_rows;

  // Router: logits = X W_r^T (keeps X for its wgrad), then the gate (softmax or
  // sigmoid, top-k, renormalization; keeps the scores for its backward).
  f.push_back(gemm_step("router", t, e.experts, h, (t * h + e.experts * h) * w.act, logits * w.act, t * h * w.act));
  f.push_back(compute_step(e.gate == GateKind::kSoftmax ? "router_gate_softmax" : "router_gate_sigmoid",
                           OpClass::kSoftmax, DType::kFp32, kGateFlops * as_double(logits), logits * w.act,
                           logits * 4 + routing_map, logits * 4 + routing_map, 3));
  // Permutation: gather each kept assignment's token row, expert-major (index
  // computation + gather).
  f.push_back(compute_step("moe_permute", OpClass::kMemcpy, DType::kBf16, 0.0, t * h * w.act + routing_map,
                           kept * h * w.act, 0, 2));
  exchange_to_experts(f, e, h, w, "ep_all_to_all_dispatch", "moe_sort_chunks");
  if (e.etp > 1) {
    f.push_back(expert_collective("etp_all_gather_experts", CollectiveKind::kAllGather, rows * h * w.act,
                                  LayerStep::Kind::kExpertTensorCollective));
  }
  const std::int64_t g = e.local_experts;
  f.push_back(grouped_gemm("expert_up", rows, e.expert_up_width, h, g, (rows * h + g * e.expert_up_width * h) * w.act,
                           rows * e.expert_up_width * w.act, rows * h * w.act));
  f.push_back(activation("expert", ob.model(), rows, e.expert_ffn, w, false));
  f.push_back(grouped_gemm("expert_down", rows, h, e.expert_ffn, g, (rows * e.expert_ffn + g * e.expert_ffn * h) * w.act,
                           rows * h * w.act, rows * e.expert_ffn * w.act));
  if (e.etp > 1) {
    f.push_back(expert_collective("etp_reduce_scatter_experts", CollectiveKind::kReduceScatter, rows * h * w.act,
                                  LayerStep::Kind::kExpertTensorCollective));
  }
  exchange_from_experts(f, e, h, w, "moe_unsort_chunks", "ep_all_to_all_combine");
  // Un-permutation: scale each expert output by its gate weight and sum a
  // token's k rows. Keeps the expert outputs (the gate weights' gradient is
  // their dot product with the output gradient).
  f.push_back(compute_step("moe_unpermute", OpClass::kElementwise, DType::kBf16, 2.0 * as_double(kept * h),
                           kept * h * w.act + routing_map, t * h * w.act, kept * h * w.act, 2));
  if (e.shared_ffn > 0) {
    ob.column_forward("shared_expert_up", "shared_expert", e.shared_up_width);
    // Its saved input is the router's: the same normed T_sp x h tensor, kept
    // once. Under autocast each GEMM keeps its own bf16 cast of it.
    if (!w.autocast) ob.fwd.back().saved_for_backward = Bytes(0);
    ob.fwd.push_back(activation("shared_expert", ob.model(), d.tokens, e.shared_ffn, w, false));
    ob.row_forward("shared_expert_down", "shared_expert", e.shared_ffn);
    ob.fwd.push_back(compute_step("moe_shared_add", OpClass::kElementwise, DType::kBf16, as_double(t * h),
                                  2 * t * h * w.act, t * h * w.act));
  }
}

void moe_block_backward(OpsBuilder& ob, const MoeDims& e) {
  const Dims& d = ob.dims();
  const Widths& w = ob.widths();
  auto& b = ob.bwd;
  const std::int64_t t = e.tokens;
  const std::int64_t h = d.h;
  const std::int64_t logits = t * e.experts;
  const std::int64_t kept = e.load.kept_assignments;
  const std::int64_t routing_map = t * e.top_k * (8 + 4);
  const std::int64_t rows = e.expert_rows;
  const std::int64_t g = e.local_experts;

  if (e.shared_ffn > 0) {
    ob.row_backward("shared_expert_down", "shared_expert", e.shared_ffn);
    b.push_back(activation("shared_expert", ob.model(), d.tokens, e.shared_ffn, w, true));
    ob.column_backward("shared_expert_up", e.shared_up_width);
  }
  // Un-permutation backward: each kept row gets its token's gradient x gate
  // weight; each gate weight the dot product with the saved expert output.
  b.push_back(compute_step("moe_unpermute_bwd", OpClass::kElementwise, DType::kBf16, 2.0 * as_double(kept * h),
                           t * h * w.act + kept * h * w.act + routing_map, kept * h * w.act + t * e.top_k * 4, 0, 2));
  exchange_to_experts(b, e, h, w, "ep_all_to_all_combine_bwd", "moe_sort_chunks_bwd");
  if (e.etp > 1) {
    b.push_back(expert_collective("etp_all_gather_experts_grad", CollectiveKind::kAllGather, rows * h * w.act,
                                  LayerStep::Kind::kExpertTensorCollective));
  }
  b.push_back(grouped_gemm("expert_down_dgrad", rows, e.expert_ffn, h, g, (rows * h + g * e.expert_ffn * h) * w.act,
                           rows * e.expert_ffn * w.act));
  grouped_wgrad(b, "expert_down_wgrad", rows, h, e.expert_ffn, g, w);
  b.push_back(activation("expert", ob.model(), rows, e.expert_ffn, w, true));
  b.push_back(grouped_gemm("expert_up_dgrad", rows, h, e.expert_up_width, g,
                           (rows * e.expert_up_width + g * e.expert_up_width * h) * w.act, rows * h * w.act));
  grouped_wgrad(b, "expert_up_wgrad", rows, e.expert_up_width, h, g, w);
  if (e.etp > 1) {
    b.push_back(expert_collective("etp_reduce_scatter_experts_grad", CollectiveKind::kReduceScatter, rows * h * w.act,
                                  LayerStep::Kind::kExpertTensorCollective));
  }
  exchange_from_experts(b, e, h, w, "moe_unsort_chunks_bwd", "ep_all_to_all_dispatch_bwd");
  // Permutation backward: scatter-add each token's k row gradients.
  b.push_back(compute_step("moe_permute_bwd", OpClass::kElementwise, DType::kBf16, as_double(kept * h),
                           kept * h * w.act + routing_map, t * h * w.act, 0, 2));
  b.push_back(compute_step(e.gate == GateKind::kSoftmax ? "router_gate_softmax_bwd" : "router_gate_sigmoid_bwd",
                           OpClass::kSoftmax, DType::kFp32, kGateFlops * as_double(logits),
                           logits * 4 + t * e.top_k * 4 + routing_map, logits * w.act, 0, 2));
  b.push_back(gemm_step("router_dgrad", t, h, e.experts, (logits + e.experts * h) * w.act, t * h * w.act));
  b.push_back(weight_grad(gemm_step("router_wgrad", e.experts, h, t,
                                    (logits + t * h) * w.act + e.experts * h * w.grad, e.experts * h * w.grad)));
  // The block input's gradient: the router path, the permutation path and
  // (with shared experts) the shared path summed.
  const std::int64_t paths = e.shared_ffn > 0 ? 3 : 2;
  b.push_back(compute_step("moe_input_grad_add", OpClass::kElementwise, DType::kBf16,
                           as_double((paths - 1) * t * h), paths * t * h * w.act, t * h * w.act));
}

}  // namespace dtsim::models::layer_ops_detail
