// Calibration files: a write/read round trip, every rejected input naming its
// JSON path, scenarios naming calibrations by name or path, and reading the
// committed microbenchmark profiles.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "dtsim/hardware/presets.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;
using namespace dtsim::literals;

namespace {

CalibrationFile sample_file() {
  const hardware::GpuSpec gpu = *hardware::builtin_hardware().find_gpu("h100-sxm");
  CalibrationFile f;
  f.gpu = "h100-sxm";
  f.calibration = hardware::datasheet_defaults(gpu);
  f.calibration.name = "test-cal";
  f.calibration.gemm_k_half = 123.5;
  f.calibration.params(OpClass::kOptimizer).bf16_memory_efficiency = 0.66;
  f.calibration.host.kernel_launch = Duration::from_ps(7'383'038);
  f.calibration.host.eager_kernel_gap = Duration::from_ps(2'345'678);
  f.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 0.95});
  f.calibration.host.blocks.push_back({hardware::EagerBlock::kMoe, false, 1.28});
  f.calibration.host.blocks.push_back({hardware::EagerBlock::kLlama, true, 2.6, true});
  f.calibration.host.forward_shares.push_back({hardware::EagerBlock::kGpt, true, true, 0.35});
  f.calibration.host.wrappers.push_back(
      {hardware::DataParallelWrapper::kFsdp2, hardware::WrapperPrecision::kFsdpMixed, 0.17, 0.82});
  f.calibration.attention_tails.push_back({AttentionKernel::kFlash2, true, 0.88});
  f.calibration.gemm_samples.push_back({GemmShape{8192, 6144, 2048, 1}, DType::kBf16, 0.71});
  f.calibration.attention_samples.push_back({AttentionKernel::kCudnn, 2048, 128, true, 0.25});
  f.calibration.collective.curves.push_back(
      {CollectiveKind::kAllReduce, 4, {{Bytes(1 << 20), 0.5}, {Bytes(1 << 30), 0.9}}});
  f.residuals.push_back({"gemm bf16", "in_sample", 10, 0.01, 0.05});
  return f;
}

std::vector<Diagnostic> read_problems(const Json& j) {
  try {
    read_calibration_json(j.dump(), "t.json");
  } catch (const InputError& e) {
    return e.diagnostics();
  }
  return {};
}

std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("dtsim-calibration-test-" + name);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a calibration file reads back what was written", "[scenarios][calibration]") {
  const CalibrationFile f = sample_file();
  const std::string text = write_calibration_json(f);
  const CalibrationFile g = read_calibration_json(text, "t.json");
  CHECK(g.gpu == "h100-sxm");
  CHECK(g.calibration.name == "test-cal");
  CHECK(g.calibration.host.kernel_launch == f.calibration.host.kernel_launch);  // picosecond-exact
  CHECK(g.calibration.host.eager_kernel_gap == f.calibration.host.eager_kernel_gap);
  CHECK(g.calibration.gemm_k_half == Approx(123.5));
  REQUIRE(g.calibration.attention_tails.size() == 1);
  CHECK(g.calibration.attention_tails[0].backward);
  CHECK(g.calibration.attention_tails[0].blocks_per_sm == Approx(0.88));
  REQUIRE(g.calibration.host.blocks.size() == 3);
  CHECK_FALSE(g.calibration.host.blocks[0].recompute);
  CHECK(g.calibration.host.blocks[2].recompute);
  CHECK(g.calibration.host.blocks[2].ratio == Approx(2.6));
  CHECK(g.calibration.host.blocks[0].block == hardware::EagerBlock::kGpt);
  CHECK(g.calibration.host.blocks[0].autocast);
  CHECK(g.calibration.host.blocks[0].ratio == Approx(0.95));
  CHECK(g.calibration.host.blocks[1].block == hardware::EagerBlock::kMoe);
  CHECK_FALSE(g.calibration.host.blocks[1].autocast);
  CHECK(g.calibration.host.blocks[1].ratio == Approx(1.28));
  REQUIRE(g.calibration.host.forward_shares.size() == 1);
  CHECK(g.calibration.host.forward_shares[0].block == hardware::EagerBlock::kGpt);
  CHECK(g.calibration.host.forward_shares[0].autocast);
  CHECK(g.calibration.host.forward_shares[0].recompute);
  CHECK(g.calibration.host.forward_shares[0].share == Approx(0.35));
  REQUIRE(g.calibration.host.wrappers.size() == 1);
  CHECK(g.calibration.host.wrappers[0].wrapper == hardware::DataParallelWrapper::kFsdp2);
  CHECK(g.calibration.host.wrappers[0].precision == hardware::WrapperPrecision::kFsdpMixed);
  CHECK(g.calibration.host.wrappers[0].all_gather == Approx(0.17));
  CHECK(g.calibration.host.wrappers[0].rest == Approx(0.82));
  REQUIRE(g.calibration.gemm_samples.size() == 1);
  CHECK(g.calibration.gemm_samples[0].shape.n == 6144);
  REQUIRE(g.calibration.collective.curves.size() == 1);
  CHECK(g.calibration.collective.curves[0].points[1].factor == Approx(0.9));
  CHECK(g.calibration.params(OpClass::kGemm).compute_efficiency ==
        Approx(f.calibration.params(OpClass::kGemm).compute_efficiency));
  REQUIRE(g.calibration.params(OpClass::kOptimizer).bf16_memory_efficiency.has_value());
  CHECK(*g.calibration.params(OpClass::kOptimizer).bf16_memory_efficiency == Approx(0.66));
  CHECK_FALSE(g.calibration.params(OpClass::kCast).bf16_memory_efficiency.has_value());
  REQUIRE(g.residuals.size() == 1);
  // Deterministic: writing what was read gives the same bytes.
  CHECK(write_calibration_json(g) == text);
}

TEST_CASE("a bad calibration file names every problem's path", "[scenarios][calibration][reject]") {
  Json j = Json::parse(write_calibration_json(sample_file()));
  j["op"]["gemm"]["compute_efficiency"] = 2.0;
  j["collective"]["curves"][0]["points"][1][0] = 1;
  j["gemm"]["samples"][0][4] = "bf17";
  j["host"]["kernel_lanch"] = "1 us";
  j["host"]["wrappers"][0][0] = "zero3";
  j["host"]["eager_blocks"][1][0] = "mla";
  j["host"]["eager_blocks"][2][3] = "selective";
  const auto ds = read_problems(j);
  std::string all;
  for (const Diagnostic& d : ds) all += d.path + ": " + d.message + "\n";
  INFO(all);
  REQUIRE(ds.size() == 7);
  CHECK(all.find("/host/eager_blocks/2/3: expected \"full\" (recompute), got \"selective\"") != std::string::npos);
  CHECK(all.find("/host/eager_blocks/1/0: expected \"llama\", \"gpt\" or \"moe\", got \"mla\"") != std::string::npos);
  CHECK(all.find("/host/wrappers/0/0: expected \"ddp\" or \"fsdp2\", got \"zero3\"") != std::string::npos);
  CHECK(all.find("/op/gemm/compute_efficiency: expected a number in (0, 1.5], got 2.0 (number)") != std::string::npos);
  CHECK(all.find("/gemm/samples/0/4: unknown value 'bf17'; did you mean 'bf16'?") != std::string::npos);
  CHECK(all.find("/host/kernel_lanch: unknown key; did you mean 'kernel_launch'?") != std::string::npos);
  CHECK(all.find("/collective/curves/0/points/1/0: sizes must ascend: 1 follows 1048576") != std::string::npos);
}

TEST_CASE("a file of another kind is not taken for a calibration", "[scenarios][calibration][reject]") {
  Json j = Json::parse(write_calibration_json(sample_file()));
  j["kind"] = "dtsim-microbench-profile";
  const auto ds = read_problems(j);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].path == "/kind");
}

TEST_CASE("scenarios name calibrations by name or by path", "[scenarios][calibration]") {
  const auto dir = temp_dir("lookup");
  {
    std::ofstream(dir / "test-cal.json") << write_calibration_json(sample_file());
  }
  Catalogs c = builtin_catalogs();
  c.calibration_dirs = {dir};
  Json j = minimal_scenario();  // dgx-h100
  j["calibration"] = "test-cal";
  const Scenario s = load_scenario(j.dump(), c);
  CHECK(s.spec.calibration.name == "test-cal");
  CHECK(s.spec.calibration.gemm_samples.size() == 1);

  // A path is relative to the scenario file's folder.
  j["calibration"] = "test-cal.json";
  const Scenario by_path = load_scenario(j.dump(), builtin_catalogs(), (dir / "scenario.json").string());
  CHECK(by_path.spec.calibration.name == "test-cal");

  // Measured on another GPU: rejected.
  j["cluster"]["node"] = "dgx-h200";
  j["calibration"] = "test-cal";
  const auto ds = validate_scenario(j.dump(), c);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].path == "/calibration");
  CHECK(ds[0].message ==
        "calibration 'test-cal' was measured on 'h100-sxm' GPUs, but the cluster's GPU is 'h200'; fit one for it with "
        "`dtsim calibrate` or use \"datasheet-defaults\"");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a broken calibration file is reported through the scenario", "[scenarios][calibration][reject]") {
  const auto dir = temp_dir("broken");
  {
    std::ofstream(dir / "broken.json") << "{\"schema_version\": 1}";
  }
  Catalogs c = builtin_catalogs();
  c.calibration_dirs = {dir};
  Json j = minimal_scenario();
  j["calibration"] = "broken";
  const auto ds = validate_scenario(j.dump(), c);
  REQUIRE_FALSE(ds.empty());
  CHECK(ds[0].path == "/calibration");
  CHECK(ds[0].message.find("broken.json' at /kind: missing") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the committed H200 profile reads completely", "[scenarios][calibration][profile]") {
  const auto p = read_microbench_profile(read_text_file(source_path("hardware/calibration/data/h200-x4-microbench.json")),
                                         "h200-x4-microbench.json");
  CHECK(p.gpu_name == "NVIDIA H200");
  CHECK(p.gemm.size() == 1628);                // every bf16 and fp8 record
  CHECK(p.attention.size() == 96 * 2 + 48 * 2);  // flash (MHA, native GQA) and cuDNN, fwd and fwd+bwd
  CHECK(p.memory_bound.size() == 180 + 12);    // + fused AdamW
  // AdamW's records name their parameters' type; the other suites' do not.
  for (const hardware::MemoryBoundMeasurement& m : p.memory_bound) {
    CHECK(m.dtype.has_value() == (m.op_class == OpClass::kOptimizer));
  }
  CHECK(p.launch.size() == 6);                 // the launch-plus-synchronize round trip is not a launch cost
  CHECK(p.collectives.size() == 209);
  CHECK(p.versions.find("NCCL 2.28.9") != std::string::npos);
}

TEST_CASE("index_add records fit the scatter-add class on their source bytes", "[scenarios][calibration][profile]") {
  const auto p = read_microbench_profile(
      read_text_file(source_path("hardware/calibration/data/h200-s4-scatter-microbench.json")), "scatter.json");
  REQUIRE(p.memory_bound.size() == 32);  // 8 sizes x top-k 1, 2, 4, 8
  for (const hardware::MemoryBoundMeasurement& m : p.memory_bound) {
    CHECK(m.op_class == OpClass::kScatterAdd);
    CHECK(m.op == "index_add fwd");
  }
  // The largest: 2^28 source elements (512 MiB of bf16 rows), whatever the
  // destination: the atomic adds bound it.
  CHECK(p.memory_bound.back().bytes == Bytes(std::int64_t{1} << 29));
}

TEST_CASE("the loss suite's log-softmax kernels fit the log-softmax class on every pass's bytes",
          "[scenarios][calibration][profile]") {
  const auto p = read_microbench_profile(
      read_text_file(source_path("hardware/calibration/data/h100-x1-s6-loss.json")), "loss.json");
  REQUIRE(p.memory_bound.size() == 24);  // 3 token counts x 4 vocabularies, forward and backward
  const hardware::MemoryBoundMeasurement& fwd = p.memory_bound[0];
  const hardware::MemoryBoundMeasurement& bwd = p.memory_bound[1];
  CHECK(fwd.op_class == OpClass::kLogSoftmax);
  CHECK(fwd.op == "log_softmax_fp32 fwd");
  CHECK(bwd.op == "log_softmax_fp32 bwd");
  CHECK(fwd.bytes == Bytes(std::int64_t{2048} * 32000 * 16));  // 2,048 tokens x 32,000: 16 bytes a logit
  CHECK(bwd.bytes == fwd.bytes);
  CHECK(fwd.time > Duration::zero());
}

TEST_CASE("a loss record without its kernel times is an error", "[scenarios][calibration][reject]") {
  const Json doc = Json::parse(R"({"kind": "dtsim-microbench-profile", "suites": {"loss": {"results": [
      {"kind": "eager_loss", "n_logits": 1000, "log_softmax_fwd_s": 1e-5},
      {"kind": "membound", "n_logits": 1000, "log_softmax_fwd_s": 1e-5, "log_softmax_bwd_s": 1e-5}]}}})");
  try {
    read_microbench_profile(doc.dump(), "p.json");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].path == "/suites/loss/results/0/log_softmax_bwd_s");
    CHECK(e.diagnostics()[1].path == "/suites/loss/results/1/kind");
  }
}

TEST_CASE("a profile record the fit cannot use is an error, not skipped", "[scenarios][calibration][reject]") {
  const Json doc = Json::parse(R"({"kind": "dtsim-microbench-profile", "suites": {"gemm": {"results": [
      {"dtype": "bf16", "M": 64, "N": 64, "K": 64, "time_s": 1e-6},
      {"dtype": "int8", "M": 64, "N": 64, "K": 64, "time_s": 1e-6},
      {"dtype": "bf16", "M": 64, "N": 64, "K": 64, "error": "OOM"}]}}})");
  try {
    read_microbench_profile(doc.dump(), "p.json");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].path == "/suites/gemm/results/1/dtype");
  }
}

TEST_CASE("the wrapper benchmark's records read: DDP and FSDP2 layers, pipelining steps",
          "[scenarios][calibration][profile]") {
  const auto p = read_microbench_profile(
      read_text_file(source_path("hardware/calibration/data/h100-x1-s7-wrapper-framework.json")), "wrappers.json");
  REQUIRE(p.wrapper_host.size() == 6);
  CHECK(p.wrapper_host[0].wrapper == "ddp");
  CHECK(p.wrapper_host[0].plain_precision == "bf16");
  CHECK(p.wrapper_host[0].layer > p.wrapper_host[0].plain_layer);
  CHECK(p.pipeline_host.size() == 4);  // GPipe and 1F1B over 2 and 8 micro-batches
}

TEST_CASE("a wrapper record of an unknown wrapper is an error with its path", "[scenarios][calibration][reject]") {
  const Json doc = Json::parse(R"({"kind": "dtsim-framework-profile", "runs": [{"results": [
      {"kind": "wrapper_host", "wrapper": "zero2", "precision": "bf16", "plain_precision": "bf16",
       "processes": 1, "host_layer_s": 3e-3, "host_layer_plain_s": 2e-3},
      {"kind": "pipeline_host", "schedule": "interleaved", "microbatches": 2, "host_step_s": 1e-2,
       "host_step_plain_s": 1e-2}]}]})");
  try {
    read_microbench_profile(doc.dump(), "p.json");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].path == "/runs/0/results/0/wrapper");
    CHECK(e.diagnostics()[1].path == "/runs/0/results/1/schedule");
  }
}

TEST_CASE("eager layer records read their recompute, and reject an unknown one with its path",
          "[scenarios][calibration][profile]") {
  const auto doc = [](const std::string& recompute) {
    return R"({"kind": "dtsim-framework-profile", "runs": [{"results": [
      {"kind": "eager_layer_host", "arch": "llama", "precision": "bf16", "processes": 1, "host_layer_s": 2e-3},
      {"kind": "eager_layer_host", "arch": "llama", "precision": "bf16", "processes": 1, "host_layer_s": 5e-3,
       "recompute": ")" +
           recompute + R"("}]}]})";
  };
  const hardware::MicrobenchProfile p = read_microbench_profile(doc("full"), "p.json");
  REQUIRE(p.eager_layer_host.size() == 2);
  CHECK(p.eager_layer_host[0].recompute == "none");
  CHECK(p.eager_layer_host[1].recompute == "full");
  try {
    read_microbench_profile(doc("selective"), "p.json");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].path == "/runs/0/results/1/recompute");
  }
}

TEST_CASE("whole-step host records read the benchmark's shape, and reject what dtsim cannot predict with its path",
          "[scenarios][calibration][profile]") {
  const auto doc = [](const std::string& arch, int layers) {
    return R"({"kind": "dtsim-framework-profile", "runs": [{"results": [
      {"kind": "step_host", "arch": ")" +
           arch + R"(", "precision": "amp_bf16", "layers": )" + std::to_string(layers) +
           R"(, "grad_accum": 3, "micro_batch": 1, "hidden": 256, "n_heads": 8, "n_kv_heads": 2,
       "ffn_hidden": 512, "vocab": 1024, "tied": false, "seq_len": 64, "host_step_s": 4e-2, "host_layer_s": 2e-3}]}]})";
  };
  const hardware::MicrobenchProfile p = read_microbench_profile(doc("llama", 6), "p.json");
  REQUIRE(p.step_host.size() == 1);
  const hardware::StepHostMeasurement& m = p.step_host[0];
  CHECK(m.precision == "amp_bf16");
  CHECK(m.layers == 6);
  CHECK(m.grad_accum == 3);
  CHECK(m.kv_heads == 2);
  CHECK(m.vocab == 1024);
  CHECK_FALSE(m.tied);
  CHECK(m.step.seconds() == Approx(4e-2));
  CHECK(m.layer.seconds() == Approx(2e-3));
  try {
    read_microbench_profile(doc("gpt", 0), "p.json");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].path == "/runs/0/results/0/arch");
    CHECK(e.diagnostics()[1].path == "/runs/0/results/0/layers");
  }
}
