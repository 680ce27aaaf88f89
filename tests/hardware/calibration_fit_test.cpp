// dtsim calibrate's fitting: synthetic profiles generated from known
// parameters must give those parameters back, and the lookups it feeds
// (efficiency tables, collective curves) must interpolate as documented.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "dtsim/hardware/calibration_fit.hpp"
#include "dtsim/hardware/collective_curve.hpp"
#include "dtsim/hardware/efficiency_tables.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/presets.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;

namespace {

const NodeSpec& h100_node() {
  static const HardwareCatalog hw = builtin_hardware();
  return *hw.find_node("dgx-h100");
}

// GEMMs timed exactly as the parametric model says: 1 us floor + FLOPs at
// 0.8 x wave(128 x 256) x K / (K + 200) of peak.
MicrobenchProfile synthetic_gemm_profile() {
  const GpuSpec& gpu = h100_node().gpu;
  Calibration truth = datasheet_defaults(gpu);
  truth.gemm_tile_m = 128;
  truth.gemm_tile_n = 256;
  const OpCostModel shapes(gpu, truth);
  MicrobenchProfile p;
  p.origin = "synthetic";
  p.launch.push_back({"tiny", 5_us, 1_us});
  for (const std::int64_t m : {512, 2048, 3000, 8192}) {
    for (const std::int64_t n : {1024, 2560, 6144}) {
      for (const std::int64_t k : {256, 1024, 4096, 16384}) {
        const GemmShape s{m, n, k, 1};
        const double eff = 0.8 * shapes.wave_efficiency(s) * static_cast<double>(k) / (static_cast<double>(k) + 200.0);
        const double flops = 2.0 * static_cast<double>(m * n * k);
        p.gemm.push_back({s, DType::kBf16, 1_us + seconds_to_duration(flops / (gpu.peak_bf16.flops_per_second() * eff))});
      }
    }
  }
  return p;
}

}  // namespace

TEST_CASE("the GEMM fit recovers the efficiency, K loss and tile it was generated with", "[hardware][calibrate]") {
  const MicrobenchProfile p = synthetic_gemm_profile();
  const CalibrationFit fit = fit_calibration(std::span(&p, 1), h100_node(), "synthetic");
  const Calibration& c = fit.calibration;
  CHECK(c.gemm_tile_m == 128);
  CHECK(c.gemm_tile_n == 256);
  CHECK(c.params(OpClass::kGemm).compute_efficiency == Approx(0.8).epsilon(1e-6));
  CHECK(c.gemm_k_half == Approx(200.0).epsilon(1e-4));
  CHECK(c.params(OpClass::kGemm).kernel_overhead == 1_us);
  CHECK(c.host.kernel_launch == 5_us);
  // The parametric form alone already reproduces every measurement.
  bool found = false;
  for (const FitResidual& r : fit.residuals) {
    if (r.group == "gemm bf16 (parametric only)") {
      found = true;
      CHECK(r.max_abs_error < 1e-4);
    }
  }
  CHECK(found);
}

TEST_CASE("the memory-bound fit recovers the per-kernel floor and bandwidth", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  const double hbm = h100_node().gpu.memory_bandwidth.bytes_per_second();
  for (const std::int64_t mib : {1, 16, 256, 2048}) {
    for (const int kernels : {1, 2}) {
      const Bytes bytes(mib << 20);
      const Duration t = 2_us * kernels + seconds_to_duration(bytes.as_double() / (0.85 * hbm));
      p.memory_bound.push_back({"add", OpClass::kElementwise, bytes, kernels, t});
    }
  }
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  CHECK(c.params(OpClass::kElementwise).memory_efficiency == Approx(0.85).epsilon(1e-6));
  CHECK(c.params(OpClass::kElementwise).kernel_overhead.seconds() == Approx(2e-6).epsilon(1e-4));
  // Embedding kernels are not measured: they take the elementwise fit; so
  // does the loss's log-softmax without a "loss" suite.
  CHECK(c.params(OpClass::kEmbedding).memory_efficiency == Approx(0.85).epsilon(1e-6));
  CHECK(c.params(OpClass::kLogSoftmax).memory_efficiency == Approx(0.85).epsilon(1e-6));
  CHECK(c.params(OpClass::kLogSoftmax).kernel_overhead.seconds() == Approx(2e-6).epsilon(1e-4));
}

TEST_CASE("measured log-softmax kernels fit their own class", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  const double hbm = h100_node().gpu.memory_bandwidth.bytes_per_second();
  for (const std::int64_t mib : {1, 16, 256, 2048}) {
    const Bytes bytes(mib << 20);
    p.memory_bound.push_back(
        {"add", OpClass::kElementwise, bytes, 1, 2_us + seconds_to_duration(bytes.as_double() / (0.85 * hbm))});
    p.memory_bound.push_back(
        {"log_softmax_fp32 fwd", OpClass::kLogSoftmax, bytes, 1, seconds_to_duration(bytes.as_double() / (0.6 * hbm))});
  }
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  CHECK(c.params(OpClass::kLogSoftmax).memory_efficiency == Approx(0.6).epsilon(1e-6));
  CHECK(c.params(OpClass::kElementwise).memory_efficiency == Approx(0.85).epsilon(1e-6));
}

TEST_CASE("the eager gap is the median of eager minus graph time per kernel", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  CHECK(fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration.host.eager_kernel_gap ==
        Duration::zero());
  p.eager_gap.push_back({"add", 23_us, 20_us});
  p.eager_gap.push_back({"spin", 62_us, 60_us});
  p.eager_gap.push_back({"add2", 84_us, 80_us});
  p.eager_gap.push_back({"graph slower", 10_us, 11_us});  // counts as no gap, not a negative one
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  CHECK(c.host.eager_kernel_gap.seconds() == Approx(2.5e-6).epsilon(1e-9));
}

TEST_CASE("eager-timed records that time the host are left out of the fit", "[hardware][calibrate]") {
  // A fused optimizer step timed eagerly: 120 us of host at 1M and 4M
  // parameters whatever the bytes (2.4x the 4M kernel's 50 us on H100), the
  // kernel's bandwidth from 16M up.
  MicrobenchProfile p = synthetic_gemm_profile();
  const double hbm = h100_node().gpu.memory_bandwidth.bytes_per_second();
  const auto kernel = [&](Bytes b) { return seconds_to_duration(b.as_double() / (0.7 * hbm)); };
  for (const std::int64_t params : {std::int64_t{1} << 20, std::int64_t{1} << 22, std::int64_t{1} << 24,
                                    std::int64_t{1} << 26, std::int64_t{1} << 28}) {
    const Bytes bytes(params * 28);
    const Duration t = std::max(kernel(bytes), 120_us);
    p.memory_bound.push_back({"adamw_fused fp32", OpClass::kOptimizer, bytes, 1, t, true});
  }
  const CalibrationFit fit = fit_calibration(std::span(&p, 1), h100_node(), "synthetic");
  CHECK(fit.calibration.params(OpClass::kOptimizer).memory_efficiency == Approx(0.7).epsilon(1e-6));
  for (const FitResidual& r : fit.residuals) {
    if (r.group.rfind("adamw_fused fp32", 0) == 0) CHECK(r.samples == 3);
  }
  // The same records timed from a CUDA graph are kernel times: all are kept.
  for (MemoryBoundMeasurement& m : p.memory_bound) m.eager_timed = false;
  const CalibrationFit all = fit_calibration(std::span(&p, 1), h100_node(), "synthetic");
  CHECK(all.calibration.params(OpClass::kOptimizer).memory_efficiency != Approx(0.7).epsilon(1e-3));
}

TEST_CASE("fused AdamW in bf16 gets its own bandwidth beside fp32's, one kernel floor", "[hardware][calibrate]") {
  // 70% of HBM in fp32, 55% in bf16, 20 us a launch of 320 x 65536 elements.
  MicrobenchProfile p = synthetic_gemm_profile();
  const double hbm = h100_node().gpu.memory_bandwidth.bytes_per_second();
  for (const auto& [dtype, bytes_per_param, eff] : {std::tuple{DType::kFp32, 28, 0.7}, {DType::kBf16, 14, 0.55}}) {
    for (const int log2 : {24, 26, 28, 30}) {
      const std::int64_t params = std::int64_t{1} << log2;
      const auto kernels = static_cast<std::int32_t>((params + 320 * 65536 - 1) / (320 * 65536));
      const Bytes bytes(params * bytes_per_param);
      const Duration t = seconds_to_duration(bytes.as_double() / (eff * hbm)) + 20_us * kernels;
      MemoryBoundMeasurement m{"adamw_fused", OpClass::kOptimizer, bytes, kernels, t, true};
      m.dtype = dtype;
      p.memory_bound.push_back(m);
    }
  }
  const OpClassParams fitted = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration.params(
      OpClass::kOptimizer);
  CHECK(fitted.memory_efficiency == Approx(0.7).epsilon(1e-6));
  REQUIRE(fitted.bf16_memory_efficiency.has_value());
  CHECK(*fitted.bf16_memory_efficiency == Approx(0.55).epsilon(1e-6));
  CHECK(fitted.kernel_overhead.seconds() == Approx(20e-6).epsilon(1e-6));
  // Records of one type (or none named) fit one bandwidth, as before.
  std::erase_if(p.memory_bound, [](const MemoryBoundMeasurement& m) { return m.dtype == DType::kBf16; });
  const OpClassParams fp32_only = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration.params(
      OpClass::kOptimizer);
  CHECK(fp32_only.memory_efficiency == Approx(0.7).epsilon(1e-6));
  CHECK_FALSE(fp32_only.bf16_memory_efficiency.has_value());
}

TEST_CASE("the collective fit recovers latencies and reproduces every size", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  for (const int g : {2, 4}) {
    for (const CollectiveKind k : {CollectiveKind::kAllReduce, CollectiveKind::kAllGather}) {
      const double steps = k == CollectiveKind::kAllReduce ? 2.0 * (g - 1) : g - 1.0;
      // 4 KiB: latency only (5 us + 1 us per step); larger: 200 GB/s of bus bandwidth.
      p.collectives.push_back({k, g, 4_KiB, 5_us + 1_us * static_cast<std::int64_t>(steps), Duration::zero()});
      for (const std::int64_t mib : {1, 8, 64, 512}) {
        const Bytes b(mib << 20);
        const double bus = b.as_double() * steps / g;
        p.collectives.push_back({k, g, b, 10_us + seconds_to_duration(bus / 200e9), Duration::zero()});
      }
    }
  }
  const CalibrationFit fit = fit_calibration(std::span(&p, 1), h100_node(), "synthetic");
  const CollectiveParams& c = fit.calibration.collective;
  CHECK(c.base_latency.seconds() == Approx(5e-6).epsilon(1e-6));
  CHECK(c.intra_hop_latency.seconds() == Approx(1e-6).epsilon(1e-6));
  CHECK(c.curves.size() == 4);
  int checked = 0;
  for (const FitResidual& r : fit.residuals) {
    if (r.kind == "in_sample" && r.group.find(">= 1 MiB") != std::string::npos) {
      CHECK(r.max_abs_error < 1e-3);
      ++checked;
    }
  }
  CHECK(checked == 4);
}

TEST_CASE("a profile without GEMMs cannot be fitted", "[hardware][calibrate][reject]") {
  MicrobenchProfile p;
  CHECK_THROWS_WITH(fit_calibration(std::span(&p, 1), h100_node(), "x"),
                    Catch::Contains("no GEMM measurements"));
}

TEST_CASE("GEMM samples correct the parametric efficiency near them only", "[hardware][calibrate]") {
  const std::vector<GemmSample> samples{{GemmShape{4096, 4096, 4096, 1}, DType::kBf16, 0.6}};
  const GemmEfficiencyTable table(samples, [](const GemmShape&, DType) { return 0.8; });
  CHECK(table.correction(GemmShape{4096, 4096, 4096, 1}, DType::kBf16) == Approx(0.75));  // exact at the sample
  CHECK(table.correction(GemmShape{4096, 4096, 4096, 1}, DType::kFp8) == 1.0);             // other dtype
  CHECK(table.correction(GemmShape{16384, 4096, 4096, 1}, DType::kBf16) == 1.0);           // 2 octaves away
  // One octave away: 3/4 trusted.
  const double c = table.correction(GemmShape{8192, 4096, 4096, 1}, DType::kBf16);
  CHECK(c == Approx(0.75 * 0.75 + 0.25).epsilon(1e-9));
}

TEST_CASE("attention efficiency interpolates in log2 of the sequence length", "[hardware][calibrate]") {
  constexpr auto kF = AttentionKernel::kFlash2;
  const AttentionEfficiencyTable t({{kF, 1024, 128, false, 0.2},
                                    {kF, 4096, 128, false, 0.4},
                                    {kF, 1024, 64, false, 0.1},
                                    {AttentionKernel::kCudnn, 1024, 128, false, 0.6}});
  CHECK(*t.efficiency(kF, 2048, 128, false) == Approx(0.3));
  CHECK(*t.efficiency(kF, 512, 128, false) == Approx(0.2));    // flat below the first point
  CHECK(*t.efficiency(kF, 65536, 128, false) == Approx(0.4));  // and above the last
  CHECK(*t.efficiency(kF, 1024, 80, false) == Approx(0.1));    // nearest head width: 64
  CHECK(*t.efficiency(AttentionKernel::kCudnn, 1024, 64, false) == Approx(0.6));  // its own kernel only
  CHECK_FALSE(t.efficiency(kF, 1024, 128, true).has_value());  // no backward samples
}

TEST_CASE("the attention launch tail is recovered from shapes of one sequence length", "[hardware][calibrate]") {
  // Forward kernels timed as the 1 us floor + FLOPs at 0.4 x B / (B + 2 x
  // SMs) of peak, B = seq / 128 x batch x heads, at two sequence lengths and
  // four head counts.
  const GpuSpec& gpu = h100_node().gpu;
  MicrobenchProfile p = synthetic_gemm_profile();
  const double sms = gpu.sm_count;
  for (const std::int64_t seq : {1024, 4096}) {
    for (const std::int64_t heads : {8, 16, 32, 64}) {
      AttentionShape s;
      s.batch = 16384 / seq;
      s.seq_q = s.seq_kv = seq;
      s.heads = s.kv_heads = heads;
      s.head_dim = 128;
      s.kernel = AttentionKernel::kFlash2;
      const double blocks = static_cast<double>(attention_blocks(s));
      const double flops = 2.0 * static_cast<double>(s.batch * seq * seq * heads * 128);
      const double eff = 0.4 * blocks / (blocks + 2.0 * sms);
      p.attention.push_back(
          {s, Flops(flops), 1_us + seconds_to_duration(flops / (gpu.peak_bf16.flops_per_second() * eff))});
    }
  }
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  REQUIRE(c.attention_tails.size() == 1);
  CHECK(c.attention_tails[0].kernel == AttentionKernel::kFlash2);
  CHECK_FALSE(c.attention_tails[0].backward);
  CHECK(c.attention_tails[0].blocks_per_sm == Approx(2.0).margin(0.02));
  for (const AttentionSample& s : c.attention_samples) CHECK(s.efficiency == Approx(0.4).epsilon(0.01));
  // The cost model applies it back: 8 heads at sequence 1024 (1,024 blocks).
  AttentionShape small;
  small.batch = 1;
  small.seq_q = small.seq_kv = 1024;
  small.heads = small.kv_heads = 8;
  small.kernel = AttentionKernel::kFlash2;
  CHECK(attention_tail_factor(c, gpu, small) == Approx(64.0 / (64.0 + 2.0 * sms)).epsilon(0.01));
  small.backward = true;  // no backward records: no tail
  CHECK(attention_tail_factor(c, gpu, small) == 1.0);
}

TEST_CASE("collective curves interpolate in log2 of the size, nearest group size", "[hardware][calibrate]") {
  CollectiveParams p;
  p.curves.push_back({CollectiveKind::kAllReduce, 4, {{Bytes(1 << 20), 0.9}, {Bytes(4 << 20), 1.0}}});
  p.curves.push_back({CollectiveKind::kAllReduce, 2, {{Bytes(1 << 20), 0.5}}});
  CHECK(collective_curve_factor(p, CollectiveKind::kAllReduce, 4, Bytes(2 << 20)) == Approx(0.95));
  CHECK(collective_curve_factor(p, CollectiveKind::kAllReduce, 8, Bytes(2 << 20)) == Approx(0.95));
  CHECK(collective_curve_factor(p, CollectiveKind::kAllReduce, 2, Bytes(64 << 20)) == Approx(0.5));
  CHECK(collective_curve_factor(p, CollectiveKind::kAllReduce, 3, Bytes(1 << 20)) == Approx(0.9));  // tie: larger
  CHECK(collective_curve_factor(p, CollectiveKind::kAllGather, 4, Bytes(1 << 20)) == 1.0);
}

namespace {

// An eager layer record (bench_framework.py's eager_layer_host).
EagerLayerHostMeasurement eager_layer(std::string arch, std::string precision, int processes, Duration layer,
                                      std::string recompute = "none", std::optional<Duration> forward = {}) {
  EagerLayerHostMeasurement m;
  m.arch = std::move(arch);
  m.precision = std::move(precision);
  m.processes = processes;
  m.layer = layer;
  m.recompute = std::move(recompute);
  m.forward = forward;
  return m;
}

}  // namespace

TEST_CASE("eager blocks: ratios to the bf16 Llama layer measured in the same process", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  p.eager_layer_host.push_back(eager_layer("llama", "bf16", 1, 2000_us));
  p.eager_layer_host.push_back(eager_layer("llama", "amp_bf16", 1, 2400_us));
  p.eager_layer_host.push_back(eager_layer("gpt", "bf16", 1, 1500_us));
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  REQUIRE(c.host.blocks.size() == 2);
  for (const EagerBlockHost& b : c.host.blocks) {
    if (b.block == EagerBlock::kGpt) CHECK(b.ratio == Approx(0.75));
    if (b.block == EagerBlock::kLlama) CHECK((b.autocast && b.ratio == Approx(1.2)));
  }
  // The bf16 Llama record is also a plain eager layer of one process.
  REQUIRE(c.host.layers.size() == 1);
  CHECK(c.host.layers[0].layer == 2000_us);
}

TEST_CASE("eager blocks under full recompute: their own ratio, and not a plain layer", "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  p.eager_layer_host.push_back(eager_layer("llama", "bf16", 1, 2000_us));
  p.eager_layer_host.push_back(eager_layer("llama", "bf16", 1, 5000_us, "full"));
  p.eager_layer_host.push_back(eager_layer("gpt", "amp_bf16", 1, 3000_us));
  p.eager_layer_host.push_back(eager_layer("gpt", "amp_bf16", 1, 6000_us, "full"));
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  REQUIRE(c.host.layers.size() == 1);
  CHECK(c.host.layers[0].layer == 2000_us);  // the recomputed layer is not a plain one
  REQUIRE(c.host.blocks.size() == 3);
  int recomputed = 0;
  for (const EagerBlockHost& b : c.host.blocks) {
    if (!b.recompute) continue;
    ++recomputed;
    CHECK(b.ratio == Approx(b.block == EagerBlock::kLlama ? 2.5 : 3.0));
  }
  CHECK(recomputed == 2);
}

TEST_CASE("the MoE block: the MoE layers' median over the plain layers' beside them, fewest processes",
          "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  p.moe_layer_host.push_back({8, 2, 1, 2600_us, 2000_us});
  p.moe_layer_host.push_back({16, 4, 1, 2800_us, 2000_us});
  p.moe_layer_host.push_back({8, 2, 4, 9000_us, 3000_us});  // a shared host: not this ratio
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  REQUIRE(c.host.blocks.size() == 1);
  CHECK(c.host.blocks[0].block == EagerBlock::kMoe);
  CHECK_FALSE(c.host.blocks[0].autocast);
  CHECK(c.host.blocks[0].ratio == Approx(2700.0 / 2000.0));
  MicrobenchProfile none = synthetic_gemm_profile();
  CHECK(fit_calibration(std::span(&none, 1), h100_node(), "synthetic").calibration.host.blocks.empty());
}

TEST_CASE("wrappers: DDP per layer, FSDP2 per all-gather and per unit beyond, as ratios to the bf16 layer",
          "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  // One rank: the bf16 layer 2.0 ms unwrapped, 2.4 ms under AMP.
  p.wrapper_host.push_back({"ddp", "bf16", "bf16", 1, 3000_us, 2000_us});
  p.wrapper_host.push_back({"ddp", "amp_bf16", "amp_bf16", 1, 3000_us, 2400_us});
  p.wrapper_host.push_back({"fsdp2_reshard", "bf16", "bf16", 1, 4000_us, 2000_us});
  p.wrapper_host.push_back({"fsdp2_noreshard", "bf16", "bf16", 1, 3600_us, 2000_us});
  // FSDP2's mixed precision computes in bf16: its extra is over the bf16 layer, not the AMP one it sits beside.
  p.wrapper_host.push_back({"fsdp2_reshard", "fsdp_mp_bf16", "amp_bf16", 1, 4400_us, 2400_us});
  p.wrapper_host.push_back({"fsdp2_reshard", "amp_bf16", "amp_bf16", 1, 5000_us, 2400_us});
  // Two processes measured something else: the fewest processes' records are the ones fitted.
  p.wrapper_host.push_back({"ddp", "bf16", "bf16", 2, 9000_us, 2000_us});
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  const auto find = [&](DataParallelWrapper w, WrapperPrecision pr) -> const WrapperHost* {
    for (const WrapperHost& h : c.host.wrappers)
      if (h.wrapper == w && h.precision == pr) return &h;
    return nullptr;
  };
  REQUIRE(c.host.wrappers.size() == 5);
  const WrapperHost* ddp = find(DataParallelWrapper::kDdp, WrapperPrecision::kBf16);
  REQUIRE(ddp != nullptr);
  CHECK(ddp->rest == Approx(0.5));  // (3.0 - 2.0) / 2.0
  CHECK(ddp->all_gather == 0.0);
  CHECK(find(DataParallelWrapper::kDdp, WrapperPrecision::kAmp)->rest == Approx(0.3));  // (3.0 - 2.4) / 2.0
  const WrapperHost* fsdp = find(DataParallelWrapper::kFsdp2, WrapperPrecision::kBf16);
  REQUIRE(fsdp != nullptr);
  CHECK(fsdp->all_gather == Approx(0.2));  // (4.0 - 3.6) / 2.0
  CHECK(fsdp->rest == Approx(0.6));        // (4.0 - 2.0 - 2 x 0.4) / 2.0
  CHECK(find(DataParallelWrapper::kFsdp2, WrapperPrecision::kFsdpMixed)->rest == Approx(0.8));  // (4.4 - 2.0 - 0.8) / 2
  CHECK(find(DataParallelWrapper::kFsdp2, WrapperPrecision::kAmp)->rest == Approx(0.9));  // (5.0 - 2.4 - 0.8) / 2
  // Without the unresharded run the gather cannot be told apart: no FSDP2 entries.
  std::erase_if(p.wrapper_host, [](const WrapperHostMeasurement& m) { return m.wrapper == "fsdp2_noreshard"; });
  const Calibration d = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  CHECK(d.host.wrappers.size() == 2);
}

TEST_CASE("eager layers: the plain layer beside an MoE layer record, once per process count",
          "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  // One process: two MoE records measured the same plain layer at 2.8 and 3.0 ms.
  p.moe_layer_host.push_back({8, 2, 1, 3600_us, 2800_us});
  p.moe_layer_host.push_back({16, 4, 1, 3620_us, 3000_us});
  // Two processes (a TP run): its plain layer is another entry.
  p.layer_host.push_back({2, false, 9400_us, 1800_us});
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  const auto plain = [&](int processes) -> double {
    for (const LayerHost& l : c.host.layers)
      if (l.tp == 1 && l.processes == processes) return l.layer.seconds();
    return -1.0;
  };
  CHECK(plain(1) == Approx(2900e-6));  // the median of 2.8 and 3.0 ms
  CHECK(plain(2) == Approx(1800e-6));
  CHECK(c.host.layers.size() == 3);     // the TP layer, and one plain layer per process count
}

TEST_CASE("forward shares: the forward alone over the whole block, per block, precision and recompute",
          "[hardware][calibrate]") {
  MicrobenchProfile p = synthetic_gemm_profile();
  p.eager_layer_host.push_back(eager_layer("llama", "bf16", 1, 2000_us, "none", 1200_us));
  p.eager_layer_host.push_back(eager_layer("llama", "bf16", 1, 5000_us, "full", 1000_us));
  p.eager_layer_host.push_back(eager_layer("gpt", "amp_bf16", 1, 3000_us));  // no forward measured
  const Calibration c = fit_calibration(std::span(&p, 1), h100_node(), "synthetic").calibration;
  REQUIRE(c.host.forward_shares.size() == 2);
  for (const ForwardShare& f : c.host.forward_shares) {
    CHECK(f.block == EagerBlock::kLlama);
    CHECK_FALSE(f.autocast);
    CHECK(f.share == Approx(f.recompute ? 0.2 : 0.6));
  }
}
