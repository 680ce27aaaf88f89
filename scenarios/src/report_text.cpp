#include "dtsim/scenarios/report_text.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/version.hpp"
#include "scenario_tables.hpp"

namespace dtsim::scenarios {
namespace {

using detail::name_of;

constexpr std::size_t kLabelWidth = 13;

// 1234567 -> "1,234,567".
std::string grouped(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double part, double whole) {
  return whole > 0.0 ? fixed(100.0 * part / whole, 1) + " %" : "- %";
}

std::string pad_left(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string pad_right(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// A labelled block: the label in the first column, `text` wrapped after it.
std::string field(std::string_view label, std::string_view text) {
  std::string out;
  std::string line = pad_right(std::string(label), kLabelWidth);
  bool first_word = true;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(pos, end - pos);
    if (!first_word && line.size() + 1 + word.size() > 100) {
      out += line + '\n';
      line = std::string(kLabelWidth, ' ');
      first_word = true;
    }
    if (!first_word) line += ' ';
    line += word;
    first_word = false;
    pos = end + 1;
  }
  return out + line + '\n';
}

std::string model_text(const Scenario& s) {
  const models::ModelSpec& m = s.spec.model;
  std::string heads = std::to_string(m.num_heads) + " heads";
  if (m.num_kv_heads != m.num_heads) heads += " (" + std::to_string(m.num_kv_heads) + " KV)";
  if (const std::string a = models::attention_summary(m); !a.empty()) heads += ", " + a;
  return m.name + ": " + std::to_string(m.num_layers) + " layers, hidden " + std::to_string(m.hidden) + ", " + heads +
         ", FFN " + std::to_string(m.ffn_hidden) + ", vocab " + std::to_string(m.vocab_size) + "; " +
         fixed(static_cast<double>(models::parameter_count(m)) / 1e9, 2) + " B parameters";
}

// " (layernorm, mla_up_proj)" when the scenario lists recompute_modules.
std::string modules_text(const models::TrainingSpec& t) {
  if (t.recompute_modules.empty()) return "";
  std::string out = " (";
  for (std::size_t i = 0; i < t.recompute_modules.size(); ++i) {
    if (i > 0) out += ", ";
    out += name_of(detail::kRecomputeModuleChoices, t.recompute_modules[i]);
  }
  return out + ")";
}

std::string training_text(const Scenario& s, const sim::Report& r) {
  const models::TrainingSpec& t = s.spec.training;
  return "seq " + std::to_string(t.seq_len) + ", global batch " + std::to_string(t.global_batch) + " (" +
         grouped(r.tokens_per_step) + " tokens per step), micro-batch " + std::to_string(t.micro_batch) + "; " +
         std::string(name_of(detail::kPrecisionChoices, t.precision)) + ", recompute " +
         std::string(name_of(detail::kRecomputeChoices, t.recompute)) + modules_text(t);
}

std::string cluster_text(const Scenario& s) {
  const hardware::ClusterSpec& c = s.spec.cluster;
  const hardware::NodeSpec& n = c.node;
  std::string out = std::to_string(c.num_nodes) + " x " + n.name + " = " + std::to_string(c.num_gpus()) + " x " +
                    n.gpu.name + " (" + format_bytes(n.gpu.memory_capacity) + ", " +
                    format_flop_rate(n.gpu.peak_bf16) + " bf16); NVLink " + format_bandwidth(n.nvlink_bandwidth) +
                    " per GPU";
  if (c.num_nodes > 1) {
    out += "; " + std::to_string(n.nics_per_node) + " NICs x " + format_bandwidth(n.nic_bandwidth) +
           " per node; " + std::string(name_of(detail::kFabricChoices, c.fabric.kind)) + " fat tree, radix " +
           std::to_string(c.fabric.switch_radix);
    if (c.fabric.oversubscription > 1.0) out += ", oversubscribed " + fixed(c.fabric.oversubscription, 2) + ":1";
  }
  return out;
}

std::string plan_text(const Scenario& s, const sim::Report& r) {
  const models::ParallelPlan& p = s.spec.plan;
  std::string out = "TP " + std::to_string(p.tp) + " x PP " + std::to_string(p.pp) + " x DP " + std::to_string(p.dp);
  if (p.cp > 1) out += " x CP " + std::to_string(p.cp) + " (" + std::string(models::to_string(p.cp_comm)) + ")";
  if (p.ep > 1 || p.expert_tp > 0) {
    // The expert grouping of the same tp x dp ranks of a stage.
    out += " (experts: EP " + std::to_string(p.ep) + " x ETP " + std::to_string(p.expert_tensor_parallel()) +
           " x EDP " + std::to_string(p.expert_data_parallel()) + ")";
  }
  if (p.pp > 1) {
    out += "; " + std::string(name_of(detail::kScheduleChoices, p.schedule));
    if (p.virtual_stages > 1) out += ", " + std::to_string(p.virtual_stages) + " virtual stages";
  }
  if (p.ep_comm_overlap) out += "; expert all-to-alls overlapped (F&B pairs)";
  if (p.sequence_parallel) out += "; sequence parallel";
  if (p.zero_stage > 0) out += "; ZeRO-" + std::to_string(p.zero_stage);
  out += "; " + std::to_string(r.num_microbatches) + " micro-batches per replica";
  return out;
}

std::string calibration_text(const sim::Report& r) {
  std::string out = r.calibration_name == "datasheet-defaults"
                        ? "datasheet defaults (not fitted to measurements: efficiencies and latencies come from "
                          "datasheets and published figures)"
                        : r.calibration_name;
  if (r.host_slowdown != 1.0) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%.3g", r.host_slowdown);
    out += std::string("; host times x ") + factor + " (cluster.host_slowdown)";
  }
  return out;
}

std::string breakdown_text(const sim::Report& r) {
  const double total = r.step_time.seconds();
  const sim::Breakdown& b = r.breakdown;
  const std::pair<const char*, Duration> rows[] = {{"compute", b.compute},
                                                   {"exposed communication", b.exposed_comm},
                                                   {"pipeline bubble", b.bubble},
                                                   {"optimizer", b.optimizer},
                                                   {"waiting for the host", b.host_wait},
                                                   {"other", b.other}};
  std::string out = "Where the time goes (stage " + std::to_string(r.critical_stage) + ", which finishes last)\n";
  for (const auto& [name, d] : rows) {
    out += "  " + pad_right(name, 24) + pad_left(format_duration(d), 12) + pad_left(percent(d.seconds(), total), 10) +
           '\n';
  }
  out += "  " + pad_right("step", 24) + pad_left(format_duration(r.step_time), 12) + '\n';
  return out;
}

std::string memory_text(const sim::Report& r) {
  std::string out = "Memory per GPU (capacity " + format_bytes(r.memory_capacity) + ")\n";
  constexpr std::size_t w = 12;
  out += "  " + pad_left("stage", 5) + pad_left("weights", w) + pad_left("gradients", w) + pad_left("optimizer", w) +
         pad_left("activations", w) + pad_left("temporary", w) + pad_left("buffers", w) + pad_left("total", w) +
         "  verdict\n";
  for (const sim::StageMemory& st : r.memory) {
    const models::MemoryBreakdown& m = st.memory;
    out += "  " + pad_left(std::to_string(st.stage), 5) + pad_left(format_bytes(m.weights), w) +
           pad_left(format_bytes(m.gradients), w) + pad_left(format_bytes(m.optimizer_state), w) +
           pad_left(format_bytes(m.activations), w) + pad_left(format_bytes(m.temporary), w) +
           pad_left(format_bytes(m.communication_buffers), w) + pad_left(format_bytes(m.total()), w) +
           (st.fits ? "  fits" : "  OOM") + '\n';
  }
  if (!r.memory.empty() && r.memory.front().memory.gradients_replace_activations) {
    out += "  (PyTorch frees gradients every step: total = weights + optimizer + buffers + the larger of\n"
           "   activations + the larger of (the loss's buffers, the head's gradients + the other temporary),\n"
           "   and all gradients.)\n";
  }
  if (r.fits) {
    out += "  Peak " + format_bytes(r.peak_memory) + " of " + format_bytes(r.memory_capacity) + ": fits.\n";
  } else {
    out += "  OUT OF MEMORY: " + r.oom_message + "\n";
  }
  return out;
}

std::string critical_path_text(const sim::Report& r, int limit) {
  if (r.critical_path.empty() || limit <= 0) return {};
  std::vector<std::size_t> order(r.critical_path.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Longest first; ties keep path order so the listing is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return r.critical_path[a].duration > r.critical_path[b].duration;
  });
  const std::size_t shown = std::min(order.size(), static_cast<std::size_t>(limit));
  std::string out = "Critical path: the " + std::to_string(shown) + " longest of " +
                    std::to_string(r.critical_path.size()) + " segments\n";
  out += "  " + pad_left("start", 12) + pad_left("duration", 12) + pad_left("stage", 7) + "  " +
         pad_right("phase", 15) + "what\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const sim::CriticalPathSegment& seg = r.critical_path[order[i]];
    out += "  " + pad_left(format_duration(seg.start.since_start()), 12) + pad_left(format_duration(seg.duration), 12) +
           pad_left(std::to_string(seg.stage), 7) + "  " + pad_right(std::string(models::to_string(seg.phase)), 15) +
           seg.what + '\n';
  }
  return out;
}

std::string simulation_text(const sim::Report& r) {
  std::string out = r.symmetric ? "symmetric: " + std::to_string(r.simulated_ranks) +
                                      " ranks simulated (one per pipeline stage) for " + grouped(r.num_gpus) + " GPUs"
                                : "full: all " + grouped(r.simulated_ranks) + " ranks simulated";
  out += "; " + grouped(static_cast<std::int64_t>(r.events)) + " events, " +
         grouped(static_cast<std::int64_t>(r.tasks)) + " tasks";
  return out;
}

}  // namespace

std::string render_text_report(const Scenario& s, const sim::Report& r, const TextReportOptions& options) {
  std::string out = "dtsim " + std::string(version()) + ": one training step\n\n";
  out += field("Scenario", s.file.empty() ? s.name : s.name + " (" + s.file + ")");
  if (!s.description.empty()) out += field("", s.description);
  out += field("Model", model_text(s));
  out += field("Training", training_text(s, r));
  out += field("Cluster", cluster_text(s));
  out += field("Plan", plan_text(s, r));
  out += field("Calibration", calibration_text(r));
  out += '\n';
  out += field("Step time", format_duration(r.step_time));
  const double per_gpu = r.num_gpus > 0 ? r.tokens_per_second / r.num_gpus : 0.0;
  out += field("Throughput", grouped(static_cast<std::int64_t>(r.tokens_per_second + 0.5)) + " tokens/s (" +
                                 grouped(static_cast<std::int64_t>(per_gpu + 0.5)) + " per GPU)");
  out += field("MFU", fixed(100.0 * r.mfu, 1) + " % of " + format_flop_rate(s.spec.cluster.node.gpu.peak_bf16) +
                          " bf16 per GPU");
  out += '\n' + breakdown_text(r);
  out += '\n' + memory_text(r);
  const std::string path = critical_path_text(r, options.critical_path_segments);
  if (!path.empty()) out += '\n' + path;
  out += '\n' + field("Simulation", simulation_text(r));
  return out;
}

}  // namespace dtsim::scenarios
