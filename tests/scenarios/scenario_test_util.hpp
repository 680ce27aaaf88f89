// Shared helpers for the scenarios tests: a small valid scenario to mutate,
// and loading that reports the diagnostics instead of throwing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios::testing {

using Json = nlohmann::json;

// Built once per test binary and never changed.
inline const Catalogs& catalogs() {
  static const Catalogs c = builtin_catalogs();
  return c;
}

// Llama-3 8B, TP 8 on one DGX H100: valid, every optional key left out.
inline Json minimal_scenario() {
  return Json::parse(R"({
    "schema_version": 1,
    "name": "t",
    "model": "llama3-8b",
    "training": {"seq_len": 4096, "global_batch": 16},
    "plan": {"tp": 8},
    "cluster": {"node": "dgx-h100", "num_nodes": 1}
  })");
}

inline std::vector<Diagnostic> problems(const std::string& text) { return validate_scenario(text, catalogs()); }
inline std::vector<Diagnostic> problems(const Json& j) { return problems(j.dump()); }

inline Scenario load(const Json& j) { return load_scenario(j.dump(), catalogs()); }

inline std::string source_path(const std::string& relative) { return std::string(DTSIM_SOURCE_DIR) + "/" + relative; }


// A hand-made report for a 2-stage plan (TP 4 x PP 2 on one node): the
// renderers are tested on it without running the simulator.
inline sim::Report sample_report(bool fits = true) {
  sim::Report r;
  r.model_name = "llama3-8b";
  r.gpu_name = "h100-sxm";
  r.calibration_name = "datasheet-defaults";
  r.num_gpus = 8;
  r.tp = 4;
  r.pp = 2;
  r.dp = 1;
  r.num_microbatches = 16;
  r.tokens_per_step = 16 * 4096;
  r.step_time = Duration::from_ps(1'234'567'890'123);  // 1.234567890123 s
  r.tokens_per_second = static_cast<double>(r.tokens_per_step) / r.step_time.seconds();
  r.mfu = 0.4123456789;
  r.model_flops = Flops(3.1e15);
  r.breakdown.compute = Duration::from_ps(1'000'000'000'000);
  r.breakdown.exposed_comm = Duration::from_ps(100'000'000'000);
  r.breakdown.bubble = Duration::from_ps(100'000'000'000);
  r.breakdown.optimizer = Duration::from_ps(30'000'000'000);
  r.breakdown.host_wait = Duration::from_ps(2'000'000'000);
  r.breakdown.other = Duration::from_ps(2'567'890'123);
  r.critical_stage = 1;
  for (int s = 0; s < 2; ++s) {
    sim::StageMemory m;
    m.stage = s;
    m.memory.weights = Bytes(4LL << 30);
    m.memory.gradients = Bytes(8LL << 30);
    m.memory.optimizer_state = Bytes(24LL << 30);
    m.memory.activations = Bytes((s == 0 ? 30LL : 10LL) << 30);
    m.memory.temporary = Bytes(2LL << 30);
    m.memory.communication_buffers = Bytes(1LL << 30);
    m.memory.microbatches_in_flight = s == 0 ? 2 : 1;
    m.memory.activations_per_microbatch = Bytes(10LL << 30);
    m.fits = fits || s == 1;
    r.memory.push_back(m);
  }
  r.peak_memory = r.memory[0].memory.total();
  r.memory_capacity = Bytes(85'017'493'504);
  r.fits = fits;
  if (!fits) r.oom_message = "out of memory: stage 0 needs 69.00 GiB per GPU, more than the 79.18 GiB of one h100-sxm";
  const char* whats[] = {"forward mb 0 layers 0-15", "forward mb 0 layers 16-31", "backward mb 0 layers 16-31"};
  const std::int64_t durations[] = {200'000'000'000, 300'000'000'000, 300'000'000'000};
  std::int64_t t = 0;
  for (int i = 0; i < 3; ++i) {
    sim::CriticalPathSegment seg;
    seg.stage = i == 0 ? 0 : 1;
    seg.phase = i == 2 ? models::Phase::kBackward : models::Phase::kForward;
    seg.what = whats[i];
    seg.start = TimePoint::from_ps(t);
    seg.duration = Duration::from_ps(durations[i]);
    t += durations[i];
    r.critical_path.push_back(seg);
  }
  r.symmetric = true;
  r.simulated_ranks = 2;
  r.events = 123456;
  r.tasks = 7890;
  r.labels = {"qkv_proj", "tp_all_reduce", "send_activation"};
  const auto entry = [](int rank, int stage, models::StreamKind stream, models::Phase phase, std::uint32_t label,
                        int mb, int layer, std::int64_t start_ps, std::int64_t end_ps) {
    sim::TimelineEntry e;
    e.rank = rank;
    e.stage = stage;
    e.stream = stream;
    e.phase = phase;
    e.label = label;
    e.microbatch = mb;
    e.layer = layer;
    e.start = TimePoint::from_ps(start_ps);
    e.end = TimePoint::from_ps(end_ps);
    return e;
  };
  r.timeline.push_back(entry(0, 0, models::StreamKind::kCompute, models::Phase::kForward, 0, 0, 0, 0, 1'500'000));
  r.timeline.push_back(entry(0, 0, models::StreamKind::kTensorComm, models::Phase::kTensorComm, 1, 0, 0, 1'500'000,
                             2'000'001));
  r.timeline.push_back(entry(0, 0, models::StreamKind::kSendForward, models::Phase::kPipelineComm, 2, 0, -1,
                             2'000'001, 3'000'000));
  r.timeline.push_back(entry(4, 1, models::StreamKind::kCompute, models::Phase::kForward, 0, 0, 16, 3'000'000,
                             4'000'000));
  return r;
}

// The scenario sample_report() stands for.
inline Scenario sample_scenario() {
  Json j = minimal_scenario();
  j["name"] = "sample";
  j["description"] = "A \"quoted\" description.";
  j["plan"] = Json{{"tp", 4}, {"pp", 2}};
  return load(j);
}

}  // namespace dtsim::scenarios::testing
