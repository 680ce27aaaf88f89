#include "dtsim/hardware/calibration.hpp"

#include <catch2/catch.hpp>

#include "dtsim/hardware/presets.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinRel;

namespace {

Calibration defaults_for(const char* gpu) { return datasheet_defaults(*builtin_hardware().find_gpu(gpu)); }

constexpr OpClass kAllClasses[] = {OpClass::kGemm,          OpClass::kAttention, OpClass::kElementwise,
                                   OpClass::kNormalization, OpClass::kSoftmax,   OpClass::kEmbedding,
                                   OpClass::kCast,          OpClass::kOptimizer, OpClass::kMemcpy};

}  // namespace

TEST_CASE("datasheet defaults are efficiencies above 0 and at most 1 for every preset", "[calibration]") {
  for (const auto& name : builtin_hardware().gpu_names()) {
    INFO(name);
    const Calibration cal = defaults_for(name.c_str());
    CHECK(cal.name == "datasheet-defaults");
    CHECK_THAT(cal.source, Contains("hardware-and-collectives.md"));
    for (const OpClass c : kAllClasses) {
      const OpClassParams& p = cal.params(c);
      CHECK(p.compute_efficiency > 0.0);
      CHECK(p.compute_efficiency <= 1.0);
      CHECK(p.memory_efficiency > 0.0);
      CHECK(p.memory_efficiency <= 1.0);
      if (p.fp8_compute_efficiency) {
        CHECK(*p.fp8_compute_efficiency > 0.0);
        CHECK(*p.fp8_compute_efficiency <= 1.0);
      }
      CHECK(p.kernel_overhead == 2_us);  // [EST]
    }
    CHECK(cal.collective.nvlink_efficiency > 0.0);
    CHECK(cal.collective.nvlink_efficiency <= 1.0);
    CHECK(cal.collective.network_efficiency > 0.0);
    CHECK(cal.collective.network_efficiency <= 1.0);
    CHECK(validate_calibration(cal).empty());
  }
}

TEST_CASE("GEMM efficiency is the measured MAMF over the dense peak (§3a)", "[calibration]") {
  // bf16: A100 271.2/312, H100 794.5/989.4, H200 783.5/989.4 (middle of
  // 769-798), B200 1745/2250, GB200 1822/2500.
  CHECK_THAT(defaults_for("a100-80gb").params(OpClass::kGemm).compute_efficiency, WithinRel(271.2 / 312, 1e-12));
  CHECK_THAT(defaults_for("h100-sxm").params(OpClass::kGemm).compute_efficiency, WithinRel(794.5 / 989.4, 1e-12));
  CHECK_THAT(defaults_for("h200").params(OpClass::kGemm).compute_efficiency, WithinRel(783.5 / 989.4, 1e-12));
  CHECK_THAT(defaults_for("b200").params(OpClass::kGemm).compute_efficiency, WithinRel(1745.0 / 2250, 1e-12));
  CHECK_THAT(defaults_for("gb200").params(OpClass::kGemm).compute_efficiency, WithinRel(1822.0 / 2500, 1e-12));
  // fp8: H100 1402.6/1978.9, H200 1453.4/1978.9, B200 3432.5/4500, GB200 3615.6/5000; A100 none.
  CHECK_THAT(*defaults_for("h100-sxm").params(OpClass::kGemm).fp8_compute_efficiency,
             WithinRel(1402.6 / 1978.9, 1e-12));
  CHECK_THAT(*defaults_for("h200").params(OpClass::kGemm).fp8_compute_efficiency, WithinRel(1453.4 / 1978.9, 1e-12));
  CHECK_THAT(*defaults_for("b200").params(OpClass::kGemm).fp8_compute_efficiency, WithinRel(3432.5 / 4500, 1e-12));
  CHECK_THAT(*defaults_for("gb200").params(OpClass::kGemm).fp8_compute_efficiency, WithinRel(3615.6 / 5000, 1e-12));
  CHECK_FALSE(defaults_for("a100-80gb").params(OpClass::kGemm).fp8_compute_efficiency.has_value());
}

TEST_CASE("attention efficiency: FA2 on A100, FA3's ratio to MAMF elsewhere (§3a)", "[calibration]") {
  // A100: middle of FA2's 50-73%. H100: FA3 661 TF/s of 989.4 peak, i.e.
  // (794.5/989.4) x (661/794.5). B200: its GEMM fraction x 661/794.5.
  CHECK_THAT(defaults_for("a100-80gb").params(OpClass::kAttention).compute_efficiency, WithinRel(0.615, 1e-12));
  CHECK_THAT(defaults_for("h100-sxm").params(OpClass::kAttention).compute_efficiency, WithinRel(661 / 989.4, 1e-12));
  CHECK_THAT(defaults_for("b200").params(OpClass::kAttention).compute_efficiency,
             WithinRel(1745.0 / 2250 * 661 / 794.5, 1e-12));
  // fp8 attention keeps the attention-to-GEMM ratio: (1402.6/1978.9) x (661/794.5).
  CHECK_THAT(*defaults_for("h100-sxm").params(OpClass::kAttention).fp8_compute_efficiency,
             WithinRel(1402.6 / 1978.9 * 661 / 794.5, 1e-12));
}

TEST_CASE("memory-bound classes stream at 90% of HBM and compute at the SIMT peak", "[calibration]") {
  const Calibration cal = defaults_for("h100-sxm");
  for (const OpClass c : kAllClasses) {
    CHECK(cal.params(c).memory_efficiency == 0.90);
    if (c != OpClass::kGemm && c != OpClass::kAttention) {
      CHECK(cal.params(c).compute_efficiency == 1.0);
      CHECK_FALSE(cal.params(c).fp8_compute_efficiency.has_value());
    }
  }
  CHECK(cal.gemm_tile_m == 128);
  CHECK(cal.gemm_tile_n == 256);
}

TEST_CASE("collective defaults: NCCL-visible NVLink, NDR NIC, LL128 latencies (§3b, §4)", "[calibration][collective]") {
  // NVLink: A100 12 x 20 / 300, H100/H200 18 x 20.6 / 450, B200/GB200 18 x 40.1 / 900.
  CHECK_THAT(defaults_for("a100-80gb").collective.nvlink_efficiency, WithinRel(240.0 / 300, 1e-12));
  CHECK_THAT(defaults_for("h100-sxm").collective.nvlink_efficiency, WithinRel(18 * 20.6 / 450, 1e-12));
  CHECK_THAT(defaults_for("h200").collective.nvlink_efficiency, WithinRel(18 * 20.6 / 450, 1e-12));
  CHECK_THAT(defaults_for("b200").collective.nvlink_efficiency, WithinRel(18 * 40.1 / 900, 1e-12));
  CHECK_THAT(defaults_for("gb200").collective.nvlink_efficiency, WithinRel(18 * 40.1 / 900, 1e-12));
  const CollectiveParams c = defaults_for("h100-sxm").collective;
  CHECK_THAT(c.network_efficiency, WithinRel(48.5 / 50, 1e-12));  // 48-49 of 50 GB/s
  CHECK(c.base_latency == 14_us);
  CHECK(c.intra_hop_latency == Duration::from_ps(1'900'000));
  CHECK(c.inter_hop_latency == 4_us);
  CHECK(c.tree_intra() == Duration::from_ps(1'250'000));
  CHECK(c.tree_inter() == Duration::from_ps(8'500'000));
  // The LL128 ring constants give the 8-GPU small-message floor, 14 + 14 x 1.9
  // = 40.6 us, inside the 40-48 us measured (§2c).
  const Duration floor8 = c.base_latency + c.intra_hop_latency * 14;
  CHECK(floor8.microseconds() >= 40.0);
  CHECK(floor8.microseconds() <= 48.0);
}

TEST_CASE("a GPU that is not a preset gets its architecture's figures", "[calibration]") {
  GpuSpec custom = *builtin_hardware().find_gpu("a100-80gb");
  custom.name = "a100-custom";
  const Calibration cal = datasheet_defaults(custom);
  CHECK_THAT(cal.params(OpClass::kGemm).compute_efficiency, WithinRel(271.2 / 312, 1e-12));
  CHECK_THAT(cal.source, Contains("'a100-custom' (ampere architecture)"));
  custom.arch = GpuArch::kGeneric;  // taken as Hopper-like
  CHECK_THAT(datasheet_defaults(custom).params(OpClass::kGemm).compute_efficiency, WithinRel(794.5 / 989.4, 1e-12));
  custom.arch = GpuArch::kBlackwell;
  CHECK_THAT(datasheet_defaults(custom).collective.nvlink_efficiency, WithinRel(18 * 40.1 / 900, 1e-12));
}

TEST_CASE("unset tree latencies fall back to the ring's", "[calibration][collective]") {
  CollectiveParams c;
  c.intra_hop_latency = 3_us;
  c.inter_hop_latency = 7_us;
  CHECK(c.tree_intra() == 3_us);
  CHECK(c.tree_inter() == 7_us);
  OpClassParams p;
  p.compute_efficiency = 0.5;
  CHECK(p.compute_efficiency_for(DType::kFp8) == 0.5);
  p.fp8_compute_efficiency = 0.25;
  CHECK(p.compute_efficiency_for(DType::kFp8) == 0.25);
  CHECK(p.compute_efficiency_for(DType::kBf16) == 0.5);
}

TEST_CASE("validate_calibration rejects impossible values with paths", "[calibration][errors]") {
  Calibration cal = defaults_for("h100-sxm");
  cal.params(OpClass::kSoftmax).memory_efficiency = 0.0;
  cal.params(OpClass::kGemm).compute_efficiency = 2.0;  // a unit mistake, not a fit
  cal.collective.base_latency = Duration::from_ps(-1);
  cal.gemm_tile_n = 0;
  const auto d = validate_calibration(cal);
  REQUIRE(d.size() == 4);
  CHECK(d[0].path == "/calibration/op/gemm/compute_efficiency");
  CHECK(d[1].path == "/calibration/op/softmax/memory_efficiency");
  CHECK(d[2].path == "/calibration/gemm_tile_n");
  CHECK(d[3].path == "/calibration/collective/base_latency");
}

TEST_CASE("a host-time factor scales every host time of a calibration and nothing else", "[calibration]") {
  Calibration c = datasheet_defaults(*builtin_hardware().find_gpu("h100-sxm"));
  c.host.layers.push_back({1, false, 1, 2000_us});
  c.host.layers.push_back({2, true, 2, 9000_us});
  c.host.dtensor_op = 9_us;
  c.host.dtensor_redistribute = 200_us;
  c.host.eager_kernel_gap = 1_us;
  const Calibration s = with_host_time_scaled(c, 1.25);
  CHECK(s.host.kernel_launch.seconds() == Approx(1.25 * c.host.kernel_launch.seconds()));
  CHECK(s.host.collective_launch.seconds() == Approx(1.25 * c.host.collective_launch.seconds()));
  CHECK(s.host.dtensor_op.microseconds() == Approx(11.25));
  CHECK(s.host.dtensor_redistribute.microseconds() == Approx(250.0));
  CHECK(s.host.layers[0].layer.microseconds() == Approx(2500.0));
  CHECK(s.host.layers[1].layer.microseconds() == Approx(11250.0));
  // GPU-side figures stay: the gap between eager kernels is the GPU's.
  CHECK(s.host.eager_kernel_gap == c.host.eager_kernel_gap);
  CHECK(s.params(OpClass::kGemm).compute_efficiency == c.params(OpClass::kGemm).compute_efficiency);
  CHECK_THROWS_AS(with_host_time_scaled(c, 0.0), InputError);
  CHECK_THROWS_AS(with_host_time_scaled(c, std::nan("")), InputError);
}

TEST_CASE("the eager layer a run uses: its TP size, then SP, else the closest process count", "[calibration]") {
  HostParams h;
  h.layers.push_back({1, false, 1, 2000_us});
  h.layers.push_back({1, false, 4, 2500_us});
  h.layers.push_back({2, false, 2, 9000_us});
  h.layers.push_back({2, true, 2, 10000_us});
  CHECK(find_layer_host(h, 1, false, 1)->layer == 2000_us);
  CHECK(find_layer_host(h, 1, false, 3)->layer == 2500_us);
  CHECK(find_layer_host(h, 1, false, 8)->layer == 2500_us);
  CHECK(find_layer_host(h, 2, true, 2)->layer == 10000_us);
  CHECK(find_layer_host(h, 2, false, 4)->layer == 9000_us);
  CHECK(find_layer_host(h, 4, false, 4) == nullptr);
}
