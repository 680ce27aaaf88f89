// Measured training runs -> scenarios -> predictions (training_runs.hpp).
#include "dtsim/scenarios/training_runs.hpp"

#include <tbb/parallel_for.h>

#include <cmath>

#include "json_reader.hpp"
#include "record_reader.hpp"

namespace dtsim::scenarios {

namespace {

using detail::child_path;
using detail::describe;
using detail::Diagnostics;
using detail::Json;

using ConfigReader = detail::RecordReader;

models::ModelSpec model_of(ConfigReader& c) {
  models::ModelSpec m;
  m.name = c.text("name");
  m.num_layers = c.integer("n_layers", 1);
  m.hidden = c.integer("hidden", 1);
  m.num_heads = c.integer("n_heads", 1);
  m.num_kv_heads = c.integer("n_kv_heads", 1);
  m.head_dim = m.num_heads > 0 ? m.hidden / m.num_heads : 0;
  m.ffn_hidden = c.integer("ffn_hidden", 1);
  m.vocab_size = c.integer("vocab", 1);
  m.tied_embeddings = c.boolean("tied");
  m.max_seq_len = c.integer("seq_len", 1);
  const std::string arch = c.text("arch");
  if (arch == "llama") {
    m.mlp = models::MlpKind::kSwiGlu;
    m.norm = models::NormKind::kRmsNorm;
    m.position = models::PositionKind::kRotary;
  } else if (arch == "gpt") {
    m.mlp = models::MlpKind::kGelu;
    m.norm = models::NormKind::kLayerNorm;
    m.position = models::PositionKind::kLearned;
    m.linear_bias = true;
  } else {
    c.problem("arch", "expected \"llama\" or \"gpt\", got \"" + arch + "\"");
  }
  // MoE layers (model.MoE; runs recorded before it existed have no such keys):
  // every layer's MLP is n_experts routed SwiGLU experts, top_k per token,
  // softmax gate, balanced routing, no shared expert.
  if (const auto experts = c.optional_integer("n_experts"); experts && *experts > 0) {
    m.moe.num_experts = *experts;
    m.moe.top_k = c.integer("top_k", 1);
    m.moe.expert_ffn_hidden = c.integer("moe_ffn_hidden", 1);
    m.moe.gate = models::GateKind::kSoftmax;
  }
  m.source = "hardware/calibration/training/model.py";
  return m;
}

void training_and_plan(ConfigReader& c, models::TrainingSpec& t, models::ParallelPlan& p) {
  p.tp = static_cast<int>(c.integer("tp", 1));
  p.pp = static_cast<int>(c.integer("pp", 1));
  p.dp = static_cast<int>(c.integer("dp", 1));
  p.sequence_parallel = c.boolean("sp");
  if (const auto ep = c.optional_integer("ep"); ep && *ep > 1) p.ep = static_cast<int>(*ep);
  t.seq_len = c.integer("seq_len", 1);
  t.micro_batch = c.integer("micro_batch", 1);
  const std::int64_t micro_batches = p.pp > 1 ? c.integer("n_microbatches", 1) : c.integer("grad_accum", 1);
  t.global_batch = t.micro_batch * micro_batches * p.dp;
  t.clip_grad_norm = false;
  const std::string precision = c.text("precision");
  if (precision == "bf16") {
    t.precision = models::PrecisionMode::kPureBf16;
  } else if (precision == "amp_bf16") {
    t.precision = models::PrecisionMode::kAmpBf16;
  } else if (precision == "fsdp_mp_bf16") {
    t.precision = models::PrecisionMode::kFsdpMixedBf16;
  } else {
    c.problem("precision", "expected bf16, amp_bf16 or fsdp_mp_bf16, got \"" + precision + "\"");
  }
  const std::string ac = c.text("activation_checkpointing");
  t.recompute = ac == "full" ? models::Recompute::kFull : models::Recompute::kNone;
  if (ac != "full" && ac != "none") c.problem("activation_checkpointing", "expected none or full, got \"" + ac + "\"");
  t.framework = c.boolean("compile") ? models::Framework::kPyTorchCompile : models::Framework::kPyTorchEager;
  const std::string optimizer = c.text("optimizer");
  if (optimizer == "adamw_fused") {
    t.optimizer = models::OptimizerImpl::kFused;
  } else if (optimizer == "adamw_foreach") {
    t.optimizer = models::OptimizerImpl::kForeach;
  } else {
    c.problem("optimizer", "expected adamw_fused or adamw_foreach, got \"" + optimizer + "\"");
  }
  if (p.pp > 1) {
    const std::string s = c.text("pp_schedule");
    if (s == "gpipe") {
      p.schedule = models::PipelineSchedule::kGPipe;
    } else if (s == "1f1b") {
      p.schedule = models::PipelineSchedule::kOneFOneB;
    } else {
      c.problem("pp_schedule", "expected gpipe or 1f1b, got \"" + s + "\"");
    }
  }
  if (p.dp > 1) {
    const std::string impl = c.text("dp_impl");
    if (impl == "fsdp2") {
      p.zero_stage = 3;
    } else if (impl == "ddp") {
      p.zero_stage = 0;
      p.dp_bucket_size = Bytes(c.integer("ddp_bucket_mb", 1) << 20);
    } else {
      c.problem("dp_impl", "expected ddp or fsdp2 with dp > 1, got \"" + impl + "\"");
    }
  }
}

// Why a run of the harness's one-rank wrappers has no scenario (empty for
// any other run): DDP or FSDP2 over dp = 1, a pipelining schedule over pp = 1.
std::string one_rank_wrapper(const Json& config) {
  const auto number = [&](const char* key) {
    const auto it = config.find(key);
    return it != config.end() && it->is_number_integer() ? it->get<std::int64_t>() : std::int64_t{0};
  };
  const auto text = [&](const char* key) {
    const auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (number("dp") == 1 && (text("dp_impl") == "ddp" || text("dp_impl") == "fsdp2")) {
    return text("dp_impl") + " over one rank (a plan with dp = 1 has no data-parallel wrapper)";
  }
  if (number("pp") == 1 && !text("pp_schedule").empty()) {
    return "a one-stage " + text("pp_schedule") + " schedule (a plan with pp = 1 has no pipelining schedule)";
  }
  return {};
}

// One node of `node`'s kind with `gpus` GPUs, as the harness ran.
hardware::ClusterSpec one_node_of(const hardware::NodeSpec& node, int gpus) {
  hardware::ClusterSpec c;
  c.node = node;
  c.node.gpus_per_node = gpus;
  c.node.nics_per_node = std::min(std::max(node.nics_per_node, 1), gpus);
  c.num_nodes = 1;
  return c;
}

}  // namespace

TrainingRuns read_training_runs(std::string_view json_text, const hardware::NodeSpec& node,
                                const hardware::Calibration& calibration) {
  const Json doc = detail::parse_json_document(json_text);
  if (!doc.is_object()) throw InputError("", "expected a training-validation object, got " + describe(doc));
  const auto kind = doc.find("kind");
  if (kind == doc.end() || *kind != "dtsim-training-validation") {
    throw InputError("/kind", "expected \"dtsim-training-validation\" (hardware/calibration/training/run_training.py)");
  }
  Diagnostics d;
  TrainingRuns out;
  if (const auto sys = doc.find("system"); sys != doc.end() && sys->is_object()) {
    if (const auto g = sys->find("gpu_name"); g != sys->end() && g->is_string()) out.gpu_name = g->get<std::string>();
  }
  const auto runs = doc.find("runs");
  if (runs == doc.end() || !runs->is_array()) throw InputError("/runs", "missing; expected an array of runs");
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const Json& run = (*runs)[i];
    const std::string path = child_path("/runs", i);
    if (!run.is_object()) {
      d.add(path, "expected an object, got " + describe(run));
      continue;
    }
    ConfigReader r(run, path, d);
    if (r.text("status") != "ok") {
      ++out.not_ok;
      continue;
    }
    const Json* config = r.get("config");
    const Json* stats = r.get("step_time");
    if (config == nullptr || stats == nullptr || !config->is_object() || !stats->is_object()) continue;
    if (const std::string why = one_rank_wrapper(*config); !why.empty()) {
      const auto name = config->find("name");
      out.not_modelled.push_back((name != config->end() && name->is_string() ? name->get<std::string>()
                                                                              : child_path(path, "config")) +
                                 ": " + why);
      continue;
    }
    ConfigReader c(*config, child_path(path, "config"), d);
    ConfigReader s(*stats, child_path(path, "step_time"), d);
    MeasuredRun m;
    m.spec.model = model_of(c);
    m.name = m.spec.model.name;
    training_and_plan(c, m.spec.training, m.spec.plan);
    m.gpus = m.spec.plan.world_size();
    m.spec.cluster = one_node_of(node, m.gpus);
    m.spec.calibration = calibration;
    m.step_time = s.seconds("time_s");
    m.step_p10 = s.seconds("time_p10_s");
    m.step_p90 = s.seconds("time_p90_s");
    m.peak_memory = Bytes(r.integer("peak_alloc_steady_bytes_max_over_ranks", 1));
    // 0: every rank's probe failed (each rank records host_probe_error instead).
    if (const Json* probe = r.has("host_probe_layer_s_max_over_ranks") ? r.get("host_probe_layer_s_max_over_ranks")
                                                                        : nullptr) {
      if (!probe->is_number() || !std::isfinite(probe->get<double>()) || probe->get<double>() < 0.0) {
        r.problem("host_probe_layer_s_max_over_ranks", "expected a number of seconds >= 0, got " + describe(*probe));
      } else if (probe->get<double>() > 0.0) {
        m.host_probe = seconds_to_duration(probe->get<double>());
      }
    }
    out.runs.push_back(std::move(m));
  }
  d.throw_if_any();
  return out;
}

int use_host_probes(TrainingRuns& runs) {
  int scaled = 0;
  for (MeasuredRun& m : runs.runs) {
    if (!m.host_probe) continue;
    const hardware::LayerHost* plain = hardware::find_layer_host(m.spec.calibration.host, 1, false, m.gpus);
    if (plain == nullptr || plain->layer <= Duration::zero()) continue;
    const double factor = m.host_probe->seconds() / plain->layer.seconds();
    m.spec.cluster.host_slowdown = factor;
    m.host_scale = factor;
    ++scaled;
  }
  return scaled;
}

std::vector<RunComparison> predict_step_host(const std::vector<hardware::StepHostMeasurement>& steps,
                                             const hardware::NodeSpec& node, const hardware::Calibration& calibration) {
  TrainingRuns runs;
  Diagnostics d;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const hardware::StepHostMeasurement& m = steps[i];
    // The benchmark's model as a harness config (train.py's keys).
    const Json config{{"name", "step_host " + m.precision + " L" + std::to_string(m.layers) + " ga" +
                                   std::to_string(m.grad_accum)},
                      {"arch", "llama"},
                      {"n_layers", m.layers},
                      {"hidden", m.hidden},
                      {"n_heads", m.heads},
                      {"n_kv_heads", m.kv_heads},
                      {"ffn_hidden", m.ffn_hidden},
                      {"vocab", m.vocab},
                      {"tied", m.tied},
                      {"seq_len", m.seq_len},
                      {"micro_batch", m.micro_batch},
                      {"grad_accum", m.grad_accum},
                      {"precision", m.precision},
                      {"activation_checkpointing", "none"},
                      {"compile", false},
                      {"optimizer", "adamw_fused"},
                      {"tp", 1},
                      {"pp", 1},
                      {"dp", 1},
                      {"sp", false}};
    ConfigReader c(config, child_path("/step_host", i), d);
    MeasuredRun run;
    run.spec.model = model_of(c);
    run.name = run.spec.model.name;
    training_and_plan(c, run.spec.training, run.spec.plan);
    run.spec.cluster = one_node_of(node, 1);
    run.spec.calibration = calibration;
    run.step_time = run.step_p10 = run.step_p90 = m.step;
    runs.runs.push_back(std::move(run));
  }
  d.throw_if_any();
  return compare_runs(runs);
}

std::vector<RunComparison> compare_runs(const TrainingRuns& runs) {
  std::vector<RunComparison> out(runs.runs.size());
  tbb::parallel_for(std::size_t{0}, runs.runs.size(), [&](std::size_t i) {
    const MeasuredRun& m = runs.runs[i];
    const sim::Report r = sim::simulate(m.spec);
    sim::SimulationSpec slower = m.spec;
    slower.cluster.host_slowdown *= 1.5;
    RunComparison& c = out[i];
    c.predicted_slower_host = sim::simulate(slower).step_time;
    c.name = m.name;
    c.gpus = m.gpus;
    c.measured = m.step_time;
    c.measured_p10 = m.step_p10;
    c.measured_p90 = m.step_p90;
    c.predicted = r.step_time;
    c.predicted_host_wait = r.breakdown.host_wait;
    c.step_error = r.step_time.seconds() / m.step_time.seconds() - 1.0;
    c.measured_memory = m.peak_memory;
    c.predicted_memory = r.peak_memory;
    // No memory measured (predict_step_host's steps): no error to give.
    c.memory_error = m.peak_memory > Bytes(0) ? r.peak_memory.as_double() / m.peak_memory.as_double() - 1.0 : 0.0;
  });
  return out;
}

}  // namespace dtsim::scenarios
