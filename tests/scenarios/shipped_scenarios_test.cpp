// End to end on the scenarios shipped in scenarios/: each loads, simulates,
// and gives a sane, self-consistent, deterministic report.
#include <catch2/catch.hpp>

#include "dtsim/models/memory.hpp"
#include "dtsim/scenarios/report_json.hpp"
#include "dtsim/scenarios/report_text.hpp"
#include "dtsim/scenarios/trace.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;

namespace {

struct Shipped {
  const char* file;
  int gpus;
  // The 405B run relies on buffer freeing dtsim does not model; DeepSeek-V3's
  // stages 1-14 need 125 GiB with the report's recompute modules and bf16
  // activations (the report's run caches FP8 activations).
  bool must_fit;
  bool simulate = true;  // every shipped scenario runs in about a second or less (docs/performance.md)
};

constexpr Shipped kShipped[] = {
    {"scenarios/llama3-8b-8xh100-fsdp.json", 8, true},
    {"scenarios/llama3-70b-64xh100-tp8pp2dp4.json", 64, true},
    {"scenarios/gpt3-175b-1024xa100-tp8pp8dp16.json", 1024, true},
    {"scenarios/llama3-405b-16384xh100-tp8pp16dp128.json", 16384, false},
    {"scenarios/mixtral-8x7b-64xh100-pp4ep8.json", 64, true},
    {"scenarios/qwen3-235b-a22b-256xh100-tp2pp8ep32.json", 256, true},
    {"scenarios/deepseek-v3-2048xh800-pp16ep64.json", 2048, false},
    {"scenarios/llama3-70b-128k-256xh100-tp8cp8pp4.json", 256, true},
    {"scenarios/llama3-405b-128k-16384xh100-tp8cp16pp16dp8.json", 16384, true},
};

Scenario load_shipped(const char* file) { return load_scenario_file(source_path(file), catalogs()); }

}  // namespace

TEST_CASE("every shipped scenario loads", "[scenarios][shipped]") {
  for (const Shipped& s : kShipped) {
    INFO(s.file);
    const Scenario sc = load_shipped(s.file);
    CHECK(sc.spec.cluster.num_gpus() == s.gpus);
    CHECK(sc.spec.plan.world_size() == s.gpus);
    CHECK_FALSE(sc.description.empty());
    CHECK(sc.spec.calibration.name == "datasheet-defaults");
  }
}

TEST_CASE("every shipped scenario simulates to a consistent report", "[scenarios][shipped][e2e]") {
  for (const Shipped& s : kShipped) {
    if (!s.simulate) continue;
    INFO(s.file);
    const Scenario sc = load_shipped(s.file);
    const sim::Report r = sim::simulate(sc.spec);
    CHECK(r.step_time > Duration::zero());
    CHECK(r.tokens_per_second > 0.0);
    CHECK(r.mfu > 0.0);
    CHECK(r.mfu < 1.0);
    CHECK(r.num_gpus == s.gpus);
    // The breakdown's parts add up to the step.
    const sim::Breakdown& b = r.breakdown;
    CHECK((b.compute + b.exposed_comm + b.bubble + b.optimizer + b.host_wait + b.other) == r.step_time);
    CHECK(b.compute > Duration::zero());
    CHECK(r.memory.size() == static_cast<std::size_t>(sc.spec.plan.pp));
    bool all_fit = true;
    for (const auto& m : r.memory) all_fit = all_fit && m.fits;
    CHECK(r.fits == all_fit);
    if (s.must_fit) CHECK(r.fits);
    CHECK_FALSE(r.critical_path.empty());
    CHECK(r.symmetric);
    CHECK(r.simulated_ranks == sc.spec.plan.pp);
    CHECK_FALSE(render_text_report(sc, r).empty());
  }
}

TEST_CASE("the JSON report of a simulation is byte-identical run to run", "[scenarios][shipped][e2e]") {
  const Scenario sc = load_shipped("scenarios/llama3-70b-64xh100-tp8pp2dp4.json");
  const std::string a = render_json_report(sc, sim::simulate(sc.spec));
  const std::string b = render_json_report(sc, sim::simulate(sc.spec));
  CHECK(a == b);
  const Json j = Json::parse(a);
  CHECK(j["step_time_s"].get<double>() > 0.0);
  CHECK(j["memory"]["stages"].size() == 2);
}

TEST_CASE("the long-context scenario splits each sequence over 8 GPUs with ring attention", "[scenarios][shipped][cp]") {
  const Scenario s = load_shipped("scenarios/llama3-70b-128k-256xh100-tp8cp8pp4.json");
  CHECK(s.spec.plan.cp == 8);
  CHECK(s.spec.plan.cp_comm == models::ContextComm::kRing);
  CHECK(s.spec.training.seq_len == 131072);
  CHECK(s.spec.plan.world_size() == 256);
}

TEST_CASE("context parallelism: the symmetric replay equals the full one", "[scenarios][cp][symmetry]") {
  // 2 nodes x 4 GPUs: TP 2 inside a node, CP 2 across the two nodes' halves, DP 2; both exchanges.
  for (const char* comm : {"ring", "all-gather"}) {
    const std::string base = std::string(R"({"schema_version": 1, "model": "llama3-8b",
      "training": {"seq_len": 8192, "global_batch": 4, "micro_batch": 1},
      "plan": {"tp": 2, "cp": 2, "dp": 2, "sequence_parallel": true, "cp_comm": ")") + comm + R"("},
      "cluster": {"node": {"base": "dgx-h100", "gpus_per_node": 4, "nics_per_node": 4}, "num_nodes": 2},
      "simulation": {"symmetry": )";
    const Scenario sym = load_scenario(base + "true}}", catalogs());
    const Scenario full = load_scenario(base + "false}}", catalogs());
    INFO(comm);
    CHECK(sim::simulate(sym.spec).step_time == sim::simulate(full.spec).step_time);
  }
}

TEST_CASE("the MoE scenarios hold what their descriptions say", "[scenarios][shipped][moe]") {
  const Scenario mixtral = load_shipped("scenarios/mixtral-8x7b-64xh100-pp4ep8.json");
  CHECK(mixtral.spec.model.moe.num_experts == 8);
  CHECK(mixtral.spec.plan.ep == 8);
  CHECK(mixtral.spec.plan.expert_data_parallel() == 2);
  const Scenario v3 = load_shipped("scenarios/deepseek-v3-2048xh800-pp16ep64.json");
  CHECK(v3.spec.plan.pp == 16);
  CHECK(v3.spec.plan.ep == 64);
  CHECK(v3.spec.plan.zero_stage == 1);
  CHECK(v3.spec.cluster.node.gpu.name == "h800");
  // DualPipe: rank s holds 1F1B's stages s and 15 - s (weights x 2 overall) and pp + 1 micro-batches.
  CHECK(v3.spec.plan.schedule == models::PipelineSchedule::kDualPipe);
  // Its F&B pairs overlap their all-to-alls (1F1B at pp 16 cannot).
  CHECK(v3.spec.plan.ep_comm_overlap);
  models::ParallelPlan one = v3.spec.plan;
  one.schedule = models::PipelineSchedule::kOneFOneB;
  one.ep_comm_overlap = false;
  const auto dual_mem = models::estimate_memory(v3.spec.model, v3.spec.training, v3.spec.plan);
  const auto one_mem = models::estimate_memory(v3.spec.model, v3.spec.training, one);
  REQUIRE(dual_mem.size() == 16);
  for (std::size_t s = 0; s < 16; ++s) {
    CHECK(dual_mem[s].microbatches_in_flight == 17);
    CHECK(dual_mem[s].weights == one_mem[s].weights + one_mem[15 - s].weights);
  }
  const Scenario qwen = load_shipped("scenarios/qwen3-235b-a22b-256xh100-tp2pp8ep32.json");
  CHECK(qwen.spec.plan.expert_tensor_parallel() == 1);
  CHECK(qwen.spec.plan.expert_data_parallel() == 1);
}

TEST_CASE("the default scenario's trace opens as a Chrome trace", "[scenarios][shipped][e2e]") {
  Scenario sc = load_shipped("scenarios/llama3-8b-8xh100-fsdp.json");
  sc.spec.options.record_timeline = true;
  const sim::Report r = sim::simulate(sc.spec);
  const Json j = Json::parse(render_trace(sc, r));
  std::size_t complete = 0;
  double last_end_us = 0.0;
  for (const Json& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++complete;
    CHECK(e["dur"].get<double>() >= 0.0);
    last_end_us = std::max(last_end_us, e["ts"].get<double>() + e["dur"].get<double>());
  }
  CHECK(complete == r.timeline.size());
  CHECK(last_end_us == Approx(r.step_time.microseconds()).epsilon(1e-9));
}
