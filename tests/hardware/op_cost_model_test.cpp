#include "dtsim/hardware/op_cost_model.hpp"

#include <catch2/catch.hpp>

#include "dtsim/core/error.hpp"
#include "dtsim/hardware/presets.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;
using Catch::Matchers::WithinRel;

namespace {

// Round numbers: 1 PF/s bf16, 2 PF/s fp8, 100 TF/s fp32, 1 TB/s HBM, 100 SMs.
GpuSpec toy_gpu() {
  GpuSpec g;
  g.name = "toy";
  g.peak_bf16 = FlopRate::flops_per_second(1e15);
  g.peak_fp8 = FlopRate::flops_per_second(2e15);
  g.peak_fp32 = FlopRate::flops_per_second(1e14);
  g.memory_capacity = 80_GiB;
  g.memory_bandwidth = Bandwidth::bytes_per_second(1e12);
  g.sm_count = 100;
  return g;
}

// GEMM 80% of peak (fp8 60%), memory 90%, 5 us per kernel; 128 x 256 tiles.
Calibration toy_calibration() {
  Calibration cal;
  cal.name = "toy";
  for (auto& p : cal.op) p = OpClassParams{1.0, 0.9, 5_us};
  cal.params(OpClass::kGemm).compute_efficiency = 0.8;
  cal.params(OpClass::kGemm).fp8_compute_efficiency = 0.6;
  cal.gemm_tile_m = 128;
  cal.gemm_tile_n = 256;
  return cal;
}

ComputeWork gemm(std::int64_t m, std::int64_t n, std::int64_t k, DType dtype = DType::kBf16) {
  ComputeWork w;
  w.op_class = OpClass::kGemm;
  w.dtype = dtype;
  w.flops = Flops(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
  w.gemm = GemmShape{m, n, k, 1};
  return w;  // bytes left at zero: these cases test the compute side
}

double seconds(Duration d) { return d.seconds(); }

}  // namespace

TEST_CASE("a large GEMM runs at peak x efficiency", "[op_cost]") {
  // 12800 x 25600 x 8192: tiles = 100 x 100 = 10000 = 100 full waves of 100 SMs.
  // time = 2 M N K / (1e15 x 0.8) + 5 us.
  const OpCostModel cost(toy_gpu(), toy_calibration());
  const ComputeWork w = gemm(12800, 25600, 8192);
  CHECK(cost.wave_efficiency(*w.gemm) == 1.0);
  const double expected = 2.0 * 12800 * 25600 * 8192 / (1e15 * 0.8) + 5e-6;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(expected, 1e-9));
}

TEST_CASE("a memory-bound op streams at HBM x efficiency", "[op_cost]") {
  // 1 GB read + 1 GB written, 1 GFLOP on the SIMT units (10 us at 100 TF/s):
  // time = max(1e9 / 1e14, 2e9 / (1e12 x 0.9)) + 5 us = 2.2222 ms + 5 us.
  const OpCostModel cost(toy_gpu(), toy_calibration());
  ComputeWork w;
  w.op_class = OpClass::kElementwise;
  w.flops = Flops(1e9);
  w.bytes_read = 1_GB;
  w.bytes_written = 1_GB;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(2e9 / 0.9e12 + 5e-6, 1e-9));
}

TEST_CASE("bf16 work streams at the class's bf16 bandwidth where it has one", "[op_cost][dtype]") {
  // The optimizer class: 90% of HBM in general, 60% for bf16 (fused AdamW's
  // bf16 form); 1 GB moved: 1.1111 ms in fp32, 1.6667 ms in bf16, + 5 us.
  Calibration cal = toy_calibration();
  cal.params(OpClass::kOptimizer).bf16_memory_efficiency = 0.6;
  const OpCostModel cost(toy_gpu(), cal);
  ComputeWork w;
  w.op_class = OpClass::kOptimizer;
  w.bytes_read = 1_GB;
  w.dtype = DType::kFp32;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(1e9 / 0.9e12 + 5e-6, 1e-9));
  w.dtype = DType::kBf16;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(1e9 / 0.6e12 + 5e-6, 1e-9));
  w.op_class = OpClass::kElementwise;  // no bf16 figure: the general one
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(1e9 / 0.9e12 + 5e-6, 1e-9));
}

TEST_CASE("a GEMM one tile past a full wave takes two waves", "[op_cost][waves]") {
  // M = 128 x 101, N = 256: tiles = 101 on 100 SMs -> waves = 2,
  // wave_eff = 101 / 200; time = flops / (1e15 x 0.8 x 101/200) + 5 us.
  const OpCostModel cost(toy_gpu(), toy_calibration());
  const ComputeWork w = gemm(128 * 101, 256, 65536);
  CHECK_THAT(cost.wave_efficiency(*w.gemm), WithinRel(101.0 / 200.0, 1e-12));
  const double flops = 2.0 * 128 * 101 * 256 * 65536;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(flops / (1e15 * 0.8 * 101.0 / 200.0) + 5e-6, 1e-9));
  // One tile fewer fills exactly one wave: 100 tiles at full efficiency, so
  // the 101-tile GEMM takes as long as 200 tiles would.
  const ComputeWork full = gemm(128 * 100, 256, 65536);
  CHECK(cost.wave_efficiency(*full.gemm) == 1.0);
  const ComputeWork doubled = gemm(128 * 200, 256, 65536);
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(seconds(cost.duration(doubled)), 1e-9));
}

TEST_CASE("partial tiles and batches count as whole tiles", "[op_cost][waves]") {
  // M = 129 -> 2 tile rows, N = 1 -> 1 tile column, batch 30: 60 tiles, one
  // wave of 100 SMs: wave_eff = 60/100.
  const OpCostModel cost(toy_gpu(), toy_calibration());
  CHECK_THAT(cost.wave_efficiency(GemmShape{129, 1, 64, 30}), WithinRel(0.6, 1e-12));
  // 250 tiles: 3 waves, 250/300.
  CHECK_THAT(cost.wave_efficiency(GemmShape{128 * 250, 256, 64, 1}), WithinRel(250.0 / 300.0, 1e-12));
}

TEST_CASE("the per-kernel overhead is added once per kernel", "[op_cost]") {
  // 3 kernels of a 1 GB stream: 1e9 / 0.9e12 + 3 x 5 us.
  const OpCostModel cost(toy_gpu(), toy_calibration());
  ComputeWork w;
  w.op_class = OpClass::kNormalization;
  w.bytes_read = 1_GB;
  w.kernels = 3;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(1e9 / 0.9e12 + 15e-6, 1e-9));
}

TEST_CASE("zero work costs only the overhead", "[op_cost]") {
  const OpCostModel cost(toy_gpu(), toy_calibration());
  ComputeWork w;
  w.op_class = OpClass::kMemcpy;
  CHECK(cost.duration(w) == 5_us);
  w.kernels = 0;
  CHECK(cost.duration(w) == Duration::zero());
}

TEST_CASE("the dtype picks the peak: fp8, fp32 and fp8 without fp8 units", "[op_cost][dtype]") {
  const OpCostModel cost(toy_gpu(), toy_calibration());
  const double flops = 2.0 * 12800 * 25600 * 8192;
  // fp8: 2 PF/s x 0.6.
  CHECK_THAT(seconds(cost.duration(gemm(12800, 25600, 8192, DType::kFp8))), WithinRel(flops / 1.2e15 + 5e-6, 1e-9));
  // fp32: SIMT 100 TF/s x 0.8 (TF32 off).
  CHECK_THAT(seconds(cost.duration(gemm(12800, 25600, 8192, DType::kFp32))), WithinRel(flops / 0.8e14 + 5e-6, 1e-9));
  // fp16 = bf16.
  CHECK_THAT(seconds(cost.duration(gemm(12800, 25600, 8192, DType::kFp16))), WithinRel(flops / 0.8e15 + 5e-6, 1e-9));
  // A GPU without fp8 runs fp8 at the bf16 peak and bf16 efficiency.
  GpuSpec old = toy_gpu();
  old.peak_fp8 = FlopRate{};
  const OpCostModel ampere(old, toy_calibration());
  CHECK_THAT(seconds(ampere.duration(gemm(12800, 25600, 8192, DType::kFp8))), WithinRel(flops / 0.8e15 + 5e-6, 1e-9));
}

TEST_CASE("vector classes compute at the SIMT fp32 peak whatever the dtype", "[op_cost][dtype]") {
  // 1 TFLOP of bf16 softmax math, no bytes: 1e12 / 1e14 = 10 ms (not 1 ms at the tensor peak).
  const OpCostModel cost(toy_gpu(), toy_calibration());
  ComputeWork w;
  w.op_class = OpClass::kSoftmax;
  w.flops = Flops(1e12);
  CHECK(cost.peak_for(w) == FlopRate::flops_per_second(1e14));
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(1e-2 + 5e-6, 1e-9));
}

TEST_CASE("H100 defaults: a large bf16 GEMM runs at the MAMF rate", "[op_cost][presets]") {
  // 132 SMs, 128 x 256 tiles: M = 128 x 132 x 4, N = 256 -> 528 tiles = 4 full waves;
  // time = flops / 794.5 TF/s + 2 us.
  const GpuSpec h100 = *builtin_hardware().find_gpu("h100-sxm");
  const OpCostModel cost(h100, datasheet_defaults(h100));
  const ComputeWork w = gemm(128 * 132 * 4, 256, 16384);
  const double flops = 2.0 * 128 * 132 * 4 * 256 * 16384;
  CHECK_THAT(seconds(cost.duration(w)), WithinRel(flops / 794.5e12 + 2e-6, 1e-9));
}

TEST_CASE("an invalid GPU or calibration is refused", "[op_cost][errors]") {
  GpuSpec g = toy_gpu();
  g.sm_count = 0;
  CHECK_THROWS_AS(OpCostModel(g, toy_calibration()), InputError);
  Calibration cal = toy_calibration();
  cal.gemm_tile_m = 0;
  CHECK_THROWS_AS(OpCostModel(toy_gpu(), cal), InputError);
}

TEST_CASE("MLA attention looks up the measured table at the mean of its QK and V widths", "[op_cost][attention]") {
  // Measured forward efficiency (flash2) at seq 256: head 128 0.2, head 192 0.9, head 64 0.1.
  Calibration cal = toy_calibration();
  cal.attention_samples = {{AttentionKernel::kFlash2, 256, 128, false, 0.2},
                           {AttentionKernel::kFlash2, 256, 192, false, 0.9},
                           {AttentionKernel::kFlash2, 256, 64, false, 0.1}};
  const OpCostModel cost(toy_gpu(), cal);
  auto attention = [](std::int64_t d, std::int64_t d_v) {
    ComputeWork w;
    w.op_class = OpClass::kAttention;
    w.flops = Flops(1e12);
    AttentionShape a;
    a.batch = 1;
    a.seq_q = a.seq_kv = 256;
    a.heads = 8;
    a.kv_heads = 8;
    a.head_dim = d;
    a.head_dim_v = d_v;
    a.kernel = AttentionKernel::kFlash2;
    w.attention = a;
    return w;
  };
  // QK 192 and V 64: the mean width 128 (0.2), not 192 (0.9) or 64 (0.1): 1 TF / (1 PF x 0.2) + 5 us.
  CHECK(cost.compute_efficiency(attention(192, 64)) == Approx(0.2));
  CHECK(cost.duration(attention(192, 64)).seconds() == Approx(1e12 / (1e15 * 0.2) + 5e-6));
  // Equal widths, or none given (0): the QK width.
  CHECK(cost.compute_efficiency(attention(192, 192)) == Approx(0.9));
  CHECK(cost.compute_efficiency(attention(192, 0)) == Approx(0.9));
}
