#include "dtsim/models/parallel_plan.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {
namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

std::string join(std::string_view base, std::string_view leaf) {
  std::string out(base);
  out += leaf;
  return out;
}

// Collects diagnostics under a plan path and a training path.
class Checker {
 public:
  Checker(std::string_view plan_path, std::string_view training_path)
      : plan_path_(plan_path), training_path_(training_path) {}

  void plan(std::string_view leaf, std::string message) {
    out_.push_back({join(plan_path_, leaf), std::move(message)});
  }
  void training(std::string_view leaf, std::string message) {
    out_.push_back({join(training_path_, leaf), std::move(message)});
  }
  void append(std::vector<Diagnostic> more) {
    for (Diagnostic& d : more) out_.push_back(std::move(d));
  }
  std::vector<Diagnostic> take() { return std::move(out_); }

 private:
  std::string_view plan_path_;
  std::string_view training_path_;
  std::vector<Diagnostic> out_;
};

bool at_least_one(Checker& c, std::string_view leaf, std::string_view name, std::int64_t value) {
  if (value >= 1) return true;
  c.plan(leaf, std::string(name) + " = " + str(value) + "; expected an integer >= 1");
  return false;
}

void check_order(Checker& c, const ParallelPlan& plan) {
  std::array<int, 3> seen{};
  for (const ParallelDim d : plan.order) {
    const auto i = static_cast<std::size_t>(d);
    if (i >= seen.size()) {
      c.plan("/order", "order holds an unknown dimension; expected tensor, data and pipeline once each");
      return;
    }
    ++seen[i];
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] != 1) {
      c.plan("/order", "order lists '" + std::string(to_string(static_cast<ParallelDim>(i))) + "' " +
                           str(seen[i]) + " times; expected tensor, data and pipeline once each");
    }
  }
}

void check_tp_divides(Checker& c, const ModelSpec& m, int tp) {
  const std::array<std::pair<const char*, std::int64_t>, 3> dims{
      {{"num_heads", m.num_heads}, {"num_kv_heads", m.num_kv_heads}, {"ffn_hidden", m.ffn_hidden}}};
  for (const auto& [name, value] : dims) {
    if (value % tp != 0) {
      c.plan("/tp", "tp = " + str(tp) + " does not divide " + name + " = " + str(value) + " of model '" + m.name +
                        "'; expected a divisor of num_heads, num_kv_heads and ffn_hidden");
    }
  }
}

void check_layers(Checker& c, const ModelSpec& m, const ParallelPlan& plan) {
  const std::int64_t chunks = std::int64_t{plan.pp} * plan.virtual_stages;
  const auto& lps = plan.layers_per_stage;
  if (lps.empty()) {
    if (m.num_layers % chunks != 0) {
      c.plan("/pp", "pp x virtual_stages = " + str(plan.pp) + " x " + str(plan.virtual_stages) + " = " + str(chunks) +
                        " does not divide num_layers = " + str(m.num_layers) +
                        "; expected a divisor, or give layers_per_stage");
    }
    return;
  }
  const auto n = static_cast<std::int64_t>(lps.size());
  if (n != plan.pp && n != chunks) {
    std::string expected = "expected pp = " + str(plan.pp) + " entries";
    if (plan.virtual_stages > 1) expected += " or pp x virtual_stages = " + str(chunks) + " entries (one per model chunk)";
    c.plan("/layers_per_stage", "layers_per_stage has " + str(n) + " entries; " + expected);
    return;
  }
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < lps.size(); ++i) {
    const std::string leaf = "/layers_per_stage/" + str(static_cast<std::int64_t>(i));
    if (lps[i] < 1) {
      c.plan(leaf, "layers_per_stage[" + str(static_cast<std::int64_t>(i)) + "] = " + str(lps[i]) +
                       "; expected an integer >= 1");
    } else if (n != chunks && lps[i] % plan.virtual_stages != 0) {
      c.plan(leaf, "layers_per_stage[" + str(static_cast<std::int64_t>(i)) + "] = " + str(lps[i]) +
                       " is not divisible by virtual_stages = " + str(plan.virtual_stages) +
                       "; expected each stage's layers to split evenly over its model chunks");
    }
    sum += lps[i];
  }
  if (sum != m.num_layers) {
    c.plan("/layers_per_stage", "layers_per_stage sums to " + str(sum) + "; expected num_layers = " +
                                    str(m.num_layers) + " of model '" + m.name + "'");
  }
}

// The zero-bubble schedules' own rules (pipeline_schedule.hpp).
void check_split_backward_schedule(Checker& c, const ParallelPlan& plan, std::int64_t microbatches) {
  const std::string name(to_string(plan.schedule));
  if (plan.zero_stage >= 3) {
    c.plan("/zero_stage", "zero_stage = 3 with schedule '" + name +
                              "' is not modelled (its W passes would need their own parameter gathers); "
                              "expected 0, 1 or 2");
  }
  if (plan.schedule != PipelineSchedule::kDualPipe) return;
  if (plan.pp % 2 != 0) {
    c.plan("/pp", "schedule 'dualpipe' needs an even pp (stage s pairs with stage pp - 1 - s); got pp = " +
                      str(plan.pp));
    return;
  }
  if (microbatches > 0 && (microbatches % 2 != 0 || microbatches < 2 * (plan.pp - 1))) {
    c.plan("/schedule", "schedule 'dualpipe' needs an even micro-batch count (global_batch / (dp x micro_batch) = " +
                            str(microbatches) + "; half enter at each end of the pipeline) of at least 2 x (pp - 1) = " +
                            str(2 * (plan.pp - 1)));
  }
}

void check_schedule(Checker& c, const ParallelPlan& plan, std::int64_t microbatches) {
  const bool interleaved = plan.schedule == PipelineSchedule::kInterleavedOneFOneB;
  if (plan.schedule == PipelineSchedule::kZeroBubbleH1 || plan.schedule == PipelineSchedule::kDualPipe) {
    check_split_backward_schedule(c, plan, microbatches);
  }
  if (!interleaved) {
    if (plan.virtual_stages > 1) {
      c.plan("/virtual_stages", "virtual_stages = " + str(plan.virtual_stages) + " with schedule '" +
                                    std::string(to_string(plan.schedule)) +
                                    "'; expected 1, or the 'interleaved-1f1b' schedule");
    }
    return;
  }
  if (plan.virtual_stages < 2) {
    c.plan("/virtual_stages", "schedule 'interleaved-1f1b' needs virtual_stages > 1; got " +
                                  str(plan.virtual_stages));
  }
  if (plan.pp < 2) {
    c.plan("/pp", "schedule 'interleaved-1f1b' needs pp > 1; got " + str(plan.pp));
  } else if (microbatches > 0 && microbatches % plan.pp != 0) {
    c.plan("/schedule", "schedule 'interleaved-1f1b' needs the micro-batch count (global_batch / (dp x micro_batch) = " +
                            str(microbatches) + ") to be a multiple of pp = " + str(plan.pp) +
                            " (Megatron's rule)");
  }
}

void check_experts(Checker& c, const ModelSpec& m, const ParallelPlan& plan, bool tp_ok, bool dp_ok) {
  const bool ep_ok = at_least_one(c, "/ep", "ep", plan.ep);
  if (plan.expert_tp < 0) {
    c.plan("/expert_tp", "expert_tp = " + str(plan.expert_tp) + "; expected 0 (the same as tp) or an integer >= 1");
    return;
  }
  const MoeSpec& e = m.moe;
  if (!e.enabled()) {
    if (plan.ep > 1) {
      c.plan("/ep", "ep = " + str(plan.ep) + " but model '" + m.name + "' has no experts; expected ep = 1");
    }
    if (plan.expert_tp > 0) {
      c.plan("/expert_tp", "expert_tp = " + str(plan.expert_tp) + " but model '" + m.name +
                               "' has no experts; leave expert_tp out");
    }
    return;
  }
  if (!ep_ok || !tp_ok || !dp_ok) return;
  const int etp = plan.expert_tensor_parallel();
  if (e.num_experts >= 1 && e.num_experts % plan.ep != 0) {
    c.plan("/ep", "ep = " + str(plan.ep) + " does not divide num_experts = " + str(e.num_experts) + " of model '" +
                      m.name + "'; expected a divisor");
  }
  const std::int64_t stage_ranks = std::int64_t{plan.tp} * plan.dp * std::max(plan.cp, 1);
  const std::int64_t group = std::int64_t{plan.ep} * etp;
  if (stage_ranks % group != 0) {
    c.plan("/ep", "ep x expert_tp = " + str(plan.ep) + " x " + str(etp) + " = " + str(group) +
                      " does not divide tp x dp x cp = " + str(plan.tp) + " x " + str(plan.dp) + " x " +
                      str(std::max(plan.cp, 1)) + " = " + str(stage_ranks) +
                      " (the GPUs of a pipeline stage the experts are folded into); expected a divisor");
  }
  if (e.expert_ffn_hidden >= 1 && e.expert_ffn_hidden % etp != 0) {
    c.plan(plan.expert_tp > 0 ? "/expert_tp" : "/tp",
           "expert_tp = " + str(etp) + " does not divide expert_ffn_hidden = " + str(e.expert_ffn_hidden) +
               "; expected a divisor");
  }
  const std::int64_t shared = e.num_shared_experts * e.shared_expert_ffn_hidden;
  if (shared > 0 && shared % plan.tp != 0) {
    c.plan("/tp", "tp = " + str(plan.tp) + " does not divide the shared experts' width num_shared_experts x "
                                           "shared_expert_ffn_hidden = " + str(shared) + "; expected a divisor");
  }
  if (plan.tp > 1 && !plan.sequence_parallel) {
    c.plan("/sequence_parallel", "an MoE model with tp = " + str(plan.tp) +
                                     " needs sequence_parallel = true (Megatron's rule: the router and token "
                                     "dispatch work on the sequence-parallel shard)");
  }
  if (plan.zero_stage >= 3) {
    c.plan("/zero_stage", "zero_stage = 3 with an MoE model is not modelled; expected 0, 1 or 2");
  }
}

// Overlapping expert all-to-alls needs all-to-alls, and a second pass to hide them behind.
void check_ep_comm_overlap(Checker& c, const ModelSpec& m, const ParallelPlan& plan, std::int64_t microbatches) {
  if (!plan.ep_comm_overlap) return;
  if (!m.moe.enabled() || plan.ep < 2) {
    c.plan("/ep_comm_overlap", "ep_comm_overlap = true needs an MoE model with ep > 1 (model '" + m.name +
                                   "', ep = " + str(plan.ep) + "): there is no expert all-to-all to overlap; "
                                   "expected false");
    return;
  }
  if (plan.pp > 1) {
    // A pair's forward output leaves only when the pair ends; without the
    // interleaved schedule's other chunks (or DualPipe's second direction) to
    // work on meanwhile, every later stage waits for it (Megatron-Core offers
    // the combined schedule only without pipelining or with virtual stages).
    if (plan.schedule != PipelineSchedule::kInterleavedOneFOneB && plan.schedule != PipelineSchedule::kDualPipe) {
      c.plan("/ep_comm_overlap", "ep_comm_overlap = true with pp = " + str(plan.pp) +
                                     " needs schedule 'interleaved-1f1b' or 'dualpipe'; got '" +
                                     std::string(to_string(plan.schedule)) +
                                     "' (its pairs would hold each forward's output back from the next stage)");
    }
    return;
  }
  if (plan.schedule != PipelineSchedule::kOneFOneB) {
    c.plan("/ep_comm_overlap", "ep_comm_overlap = true at pp = 1 runs forward i + 1 with backward i (Megatron's "
                                   "combined 1F1B without pipelining); expected schedule '1f1b', got '" +
                                   std::string(to_string(plan.schedule)) + "'");
  } else if (microbatches > 0 && microbatches < 2) {
    c.plan("/ep_comm_overlap", "ep_comm_overlap = true at pp = 1 pairs forward i + 1 with backward i; the step "
                                   "has " + str(microbatches) + " micro-batch (global_batch / (dp x micro_batch)); "
                                   "expected at least 2");
  }
}

std::string module_list(const TrainingSpec& t) {
  std::string out = "[";
  for (std::size_t i = 0; i < t.recompute_modules.size(); ++i) {
    if (i > 0) out += ", ";
    // Appended piece by piece here and below: GCC 12's -Wrestrict misfires
    // on a one-character literal + std::string.
    out.append("\"").append(to_string(t.recompute_modules[i])).append("\"");
  }
  return out + "]";
}

bool has_dense_layer(const ModelSpec& m) {
  if (!m.moe.enabled()) return true;
  for (std::int64_t l = 0; l < m.num_layers; ++l) {
    if (!is_moe_layer(m, l)) return true;
  }
  return false;
}

// Why `module` does not apply to model `m`, or "" when it does.
std::string inapplicable(RecomputeModule module, const ModelSpec& m) {
  const std::string model = "model '" + m.name + "'";
  switch (module) {
    case RecomputeModule::kMlaUpProjection:
      if (m.attention != AttentionKind::kMla) {
        return "mla_up_proj recomputes multi-head latent attention's up-projections, but " + model +
               " has attention = mha; expected a model with attention = mla";
      }
      break;
    case RecomputeModule::kMoeActivation:
      if (!m.moe.enabled()) {
        return "moe_act recomputes the routed experts' activation, but " + model +
               " has no experts (num_experts = 0); expected an MoE model";
      }
      break;
    case RecomputeModule::kSharedExperts:
      if (!m.moe.enabled() || m.moe.num_shared_experts == 0) {
        return "shared_experts recomputes an MoE layer's shared experts, but " + model +
               " has none (num_shared_experts = 0); expected a model with shared experts";
      }
      break;
    case RecomputeModule::kMlp:
      if (!has_dense_layer(m)) {
        return "mlp recomputes a dense layer's MLP, but every layer of " + model +
               " is an MoE layer; expected a model with dense layers (for experts: moe_act, shared_experts)";
      }
      break;
    case RecomputeModule::kCoreAttention:
    case RecomputeModule::kLayerNorm: break;
  }
  return "";
}

}  // namespace

std::vector<Diagnostic> validate_recompute(const ModelSpec& model, const TrainingSpec& training,
                                           std::string_view training_path) {
  Checker c("", training_path);
  const auto& modules = training.recompute_modules;
  if (modules.empty()) return c.take();
  if (training.recompute != Recompute::kSelective) {
    std::string message = "recompute_modules = " + module_list(training);
    message.append(" needs recompute = \"selective\", got \"").append(to_string(training.recompute));
    message.append("\"; expected recompute = \"selective\", or no recompute_modules");
    c.training("/recompute_modules", std::move(message));
    return c.take();
  }
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const std::string leaf = "/recompute_modules/" + str(static_cast<std::int64_t>(i));
    const auto first = std::find(modules.begin(), modules.end(), modules[i]);
    if (first != modules.begin() + static_cast<std::ptrdiff_t>(i)) {
      std::string message(1, '\'');
      message.append(to_string(modules[i])).append("' is listed twice (first at index ");
      message.append(str(first - modules.begin())).append("); expected each module once");
      c.training(leaf, std::move(message));
      continue;
    }
    std::string why = inapplicable(modules[i], model);
    if (!why.empty()) c.training(leaf, std::move(why));
  }
  return c.take();
}

std::vector<Diagnostic> validate_plan(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan,
                                      std::string_view plan_path, std::string_view training_path) {
  Checker c(plan_path, training_path);
  // Each size is checked first; rules that divide by a size run only when it is valid.
  const bool tp_ok = at_least_one(c, "/tp", "tp", plan.tp);
  const bool pp_ok = at_least_one(c, "/pp", "pp", plan.pp);
  const bool dp_ok = at_least_one(c, "/dp", "dp", plan.dp);
  const bool v_ok = at_least_one(c, "/virtual_stages", "virtual_stages", plan.virtual_stages);
  const bool cp_ok = at_least_one(c, "/cp", "cp", plan.cp);
  if (plan.zero_stage < 0 || plan.zero_stage > 3) {
    c.plan("/zero_stage", "zero_stage = " + str(plan.zero_stage) + "; expected 0, 1, 2 or 3");
  }
  if (plan.dp_bucket_size.count() <= 0) {
    c.plan("/dp_bucket_size", "dp_bucket_size = " + str(plan.dp_bucket_size.count()) + " B; expected more than 0 B");
  }
  check_order(c, plan);

  bool batch_ok = true;
  if (training.seq_len < 1) {
    c.training("/seq_len", "seq_len = " + str(training.seq_len) + "; expected an integer >= 1");
  }
  if (training.micro_batch < 1) {
    c.training("/micro_batch", "micro_batch = " + str(training.micro_batch) + "; expected an integer >= 1");
    batch_ok = false;
  }
  if (training.global_batch < 1) {
    c.training("/global_batch", "global_batch = " + str(training.global_batch) + "; expected an integer >= 1");
    batch_ok = false;
  }
  std::int64_t microbatches = 0;
  if (batch_ok && dp_ok) {
    const std::int64_t per_step = std::int64_t{plan.dp} * training.micro_batch;
    if (training.global_batch % per_step != 0) {
      c.training("/global_batch", "global_batch = " + str(training.global_batch) +
                                      " is not divisible by dp x micro_batch = " + str(plan.dp) + " x " +
                                      str(training.micro_batch) + " = " + str(per_step) +
                                      "; expected a multiple of it");
    } else {
      microbatches = training.global_batch / per_step;
    }
  }

  c.append(validate_recompute(model, training, training_path));
  if (tp_ok) check_tp_divides(c, model, plan.tp);
  check_experts(c, model, plan, tp_ok, dp_ok);
  if (pp_ok && v_ok && model.num_layers >= 1) check_layers(c, model, plan);
  if (pp_ok && v_ok) check_schedule(c, plan, microbatches);
  if (pp_ok && plan.ep >= 1) check_ep_comm_overlap(c, model, plan, microbatches);

  if (cp_ok && plan.cp > 1 && training.seq_len >= 1) {
    // Load-balanced causal attention gives each rank chunks i and 2 cp - 1 - i.
    if (training.seq_len % (2 * plan.cp) != 0) {
      c.plan("/cp", "cp = " + str(plan.cp) + " splits seq_len = " + str(training.seq_len) +
                        " into 2 x cp load-balanced chunks; expected seq_len divisible by 2 x cp = " +
                        str(2 * plan.cp));
    } else if (plan.sequence_parallel && tp_ok && plan.tp > 1 && (training.seq_len / plan.cp) % plan.tp != 0) {
      c.plan("/sequence_parallel", "sequence_parallel splits each rank's seq_len / cp = " +
                                       str(training.seq_len / plan.cp) + " tokens over tp = " + str(plan.tp) +
                                       "; expected it divisible by tp");
    }
  }
  if (plan.sequence_parallel && tp_ok) {
    if (plan.tp < 2) {
      c.plan("/sequence_parallel", "sequence_parallel needs tp > 1; got tp = " + str(plan.tp));
    } else if (training.seq_len >= 1 && training.seq_len % plan.tp != 0) {
      c.plan("/sequence_parallel", "sequence_parallel splits seq_len = " + str(training.seq_len) + " over tp = " +
                                       str(plan.tp) + "; expected seq_len divisible by tp");
    }
  }
  return c.take();
}

std::int64_t num_microbatches(const TrainingSpec& training, const ParallelPlan& plan) {
  if (plan.dp < 1) throw InputError("/plan/dp", "dp = " + str(plan.dp) + "; expected an integer >= 1");
  if (training.micro_batch < 1) {
    throw InputError("/training/micro_batch",
                     "micro_batch = " + str(training.micro_batch) + "; expected an integer >= 1");
  }
  return training.global_batch / (std::int64_t{plan.dp} * training.micro_batch);
}

std::vector<std::int64_t> layers_per_model_chunk(const ModelSpec& model, const ParallelPlan& plan) {
  if (plan.pp < 1 || plan.virtual_stages < 1) {
    throw InputError("/plan/pp", "pp = " + str(plan.pp) + ", virtual_stages = " + str(plan.virtual_stages) +
                                     "; expected integers >= 1");
  }
  Checker c("/plan", "/training");
  check_layers(c, model, plan);
  std::vector<Diagnostic> problems = c.take();
  if (!problems.empty()) throw InputError(std::move(problems));

  const int pp = plan.pp;
  const int v = plan.virtual_stages;
  const std::size_t chunks = static_cast<std::size_t>(pp) * static_cast<std::size_t>(v);
  const auto& lps = plan.layers_per_stage;
  if (lps.empty()) return std::vector<std::int64_t>(chunks, model.num_layers / static_cast<std::int64_t>(chunks));
  if (lps.size() == chunks) return std::vector<std::int64_t>(lps.begin(), lps.end());
  // pp entries: stage s's layers split evenly over its chunks c, model chunk c * pp + s.
  std::vector<std::int64_t> out(chunks, 0);
  for (int s = 0; s < pp; ++s) {
    for (int ch = 0; ch < v; ++ch) {
      out[static_cast<std::size_t>(ch * pp + s)] = lps[static_cast<std::size_t>(s)] / v;
    }
  }
  return out;
}

std::string_view to_string(PipelineSchedule s) {
  switch (s) {
    case PipelineSchedule::kGPipe: return "gpipe";
    case PipelineSchedule::kOneFOneB: return "1f1b";
    case PipelineSchedule::kInterleavedOneFOneB: return "interleaved-1f1b";
    case PipelineSchedule::kZeroBubbleH1: return "zb-h1";
    case PipelineSchedule::kDualPipe: return "dualpipe";
  }
  return "?";
}

std::string_view to_string(ContextComm c) {
  switch (c) {
    case ContextComm::kRing: return "ring";
    case ContextComm::kAllGather: return "all-gather";
  }
  return "?";
}

std::string_view to_string(ParallelDim d) {
  switch (d) {
    case ParallelDim::kTensor: return "tensor";
    case ParallelDim::kData: return "data";
    case ParallelDim::kPipeline: return "pipeline";
  }
  return "?";
}

}  // namespace dtsim::models
