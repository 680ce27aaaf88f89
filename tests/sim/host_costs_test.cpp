// The host time per eager launch (host_costs.hpp): the measured bf16 Llama
// layer spread over its launches, and, where the calibration measured the
// model's block kind and precision against it, that ratio spread over the
// model's own launches.
#include <catch2/catch.hpp>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/sim/simulation.hpp"
#include "host_costs.hpp"
#include "toy_machine.hpp"

using namespace dtsim;
using namespace dtsim::literals;

namespace {

sim::SimulationSpec gpt_spec(models::PrecisionMode precision) {
  sim::SimulationSpec s;
  s.model.name = "gpt";
  s.model.num_layers = 2;
  s.model.hidden = 256;
  s.model.num_heads = 8;
  s.model.num_kv_heads = 8;
  s.model.head_dim = 32;
  s.model.ffn_hidden = 1024;
  s.model.vocab_size = 1024;
  s.model.max_seq_len = 128;
  s.model.mlp = models::MlpKind::kGelu;
  s.model.norm = models::NormKind::kLayerNorm;
  s.model.position = models::PositionKind::kLearned;
  s.model.linear_bias = true;
  s.training.seq_len = 128;
  s.training.micro_batch = 1;
  s.training.global_batch = 1;
  s.training.framework = models::Framework::kPyTorchEager;
  s.training.precision = precision;
  s.cluster = testing::toy_cluster(1, 1);
  s.calibration = testing::ideal_calibration();
  s.calibration.host.layers.push_back({1, false, 1, 1000_us});
  return s;
}

std::int64_t launches(const sim::SimulationSpec& s) {
  models::LayerOps ops = models::decoder_layer_ops(s.model, s.training, s.plan);
  models::apply_framework(ops, s.training);
  std::int64_t n = 0;
  for (const auto* list : {&ops.forward, &ops.backward}) {
    for (const models::LayerStep& st : *list) n += st.kind == models::LayerStep::Kind::kCompute ? st.work.kernels : 1;
  }
  return n;
}

}  // namespace

TEST_CASE("a measured block ratio scales the layer and spreads it over the model's own launches",
          "[sim][host]") {
  sim::SimulationSpec amp = gpt_spec(models::PrecisionMode::kAmpBf16);
  // Without a ratio: the Llama layer's time over the bf16 Llama layer's launches, whatever the model.
  const auto plain = sim::host_costs(amp).per_launch;
  REQUIRE(plain);
  amp.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 0.95});
  amp.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, false, 0.8});
  const auto per_launch = sim::host_costs(amp).per_launch;
  REQUIRE(per_launch);
  CHECK(per_launch->seconds() == Approx(0.95 * 1000e-6 / static_cast<double>(launches(amp))));
  CHECK(*per_launch != *plain);
  // bf16 takes its own ratio; a Llama model has none here and keeps the plain spread.
  sim::SimulationSpec bf16 = amp;
  bf16.training.precision = models::PrecisionMode::kPureBf16;
  CHECK(sim::host_costs(bf16).per_launch->seconds() == Approx(0.8 * 1000e-6 / static_cast<double>(launches(bf16))));
  sim::SimulationSpec llama = amp;
  llama.model.mlp = models::MlpKind::kSwiGlu;
  llama.model.norm = models::NormKind::kRmsNorm;
  sim::SimulationSpec llama_no_ratio = llama;
  llama_no_ratio.calibration.host.blocks.clear();
  CHECK(*sim::host_costs(llama).per_launch == *sim::host_costs(llama_no_ratio).per_launch);
}

TEST_CASE("the data-parallel wrapper's host work: FSDP2 per gather and reduction, DDP per layer", "[sim][host]") {
  sim::SimulationSpec s = gpt_spec(models::PrecisionMode::kPureBf16);
  s.cluster = testing::toy_cluster(2, 1);
  s.plan.dp = 2;
  s.training.global_batch = 2;
  s.calibration.host.collective_launch = 10_us;
  s.calibration.host.wrappers.push_back(
      {hardware::DataParallelWrapper::kFsdp2, hardware::WrapperPrecision::kBf16, 0.2, 0.6});
  s.calibration.host.wrappers.push_back({hardware::DataParallelWrapper::kDdp, hardware::WrapperPrecision::kBf16, 0.0, 0.45});
  // DDP (no ZeRO): 0.45 of the 1 ms layer per layer; no FSDP2 extras.
  const sim::HostCosts ddp = sim::host_costs(s);
  CHECK(ddp.ddp_per_layer.seconds() == Approx(450e-6));
  CHECK(ddp.extra_per_dp_all_gather == Duration::zero());
  // FSDP2: what the replay already charges is taken off, one launch per copy and the call.
  s.plan.zero_stage = 3;
  const sim::HostCosts fsdp = sim::host_costs(s);
  REQUIRE(fsdp.per_launch);
  const double launch = fsdp.per_launch->seconds();
  CHECK(fsdp.ddp_per_layer == Duration::zero());
  CHECK(fsdp.extra_per_dp_all_gather.seconds() == Approx(200e-6 - 2 * launch - 10e-6));
  CHECK(fsdp.extra_per_dp_reduce_scatter.seconds() == Approx(600e-6 - launch - 10e-6));
  // Not measured for the precision, or under Megatron, or without data parallelism: nothing.
  sim::SimulationSpec amp = s;
  amp.training.precision = models::PrecisionMode::kAmpBf16;
  CHECK(sim::host_costs(amp).extra_per_dp_reduce_scatter == Duration::zero());
  sim::SimulationSpec megatron = s;
  megatron.training.framework = models::Framework::kMegatron;
  CHECK(sim::host_costs(megatron).extra_per_dp_reduce_scatter == Duration::zero());
  sim::SimulationSpec one = s;
  one.plan.dp = 1;
  CHECK(sim::host_costs(one).extra_per_dp_all_gather == Duration::zero());
}

TEST_CASE("the measured MoE block ratio spreads over the MoE layer's launches without expert parallelism",
          "[sim][host]") {
  sim::SimulationSpec s = gpt_spec(models::PrecisionMode::kPureBf16);
  s.model.mlp = models::MlpKind::kSwiGlu;
  s.model.norm = models::NormKind::kRmsNorm;
  s.model.position = models::PositionKind::kRotary;
  s.model.linear_bias = false;
  s.model.moe.num_experts = 4;
  s.model.moe.top_k = 2;
  s.model.moe.expert_ffn_hidden = 512;
  // Without a MoE ratio: the Llama layer's time over the dense Llama layer's launches.
  const auto dense_spread = sim::host_costs(s).per_launch;
  REQUIRE(dense_spread);
  CHECK(dense_spread->seconds() == Approx(1000e-6 / static_cast<double>(launches(s))));

  s.calibration.host.blocks.push_back({hardware::EagerBlock::kMoe, false, 1.3});
  models::LayerOps ops = models::moe_layer_ops(s.model, s.training, s.plan);
  models::apply_framework(ops, s.training);
  std::int64_t moe_launches = 0;
  for (const auto* list : {&ops.forward, &ops.backward}) {
    for (const models::LayerStep& st : *list) {
      if (st.kind == models::LayerStep::Kind::kCompute) moe_launches += st.work.kernels;
    }
  }
  REQUIRE(moe_launches > launches(s));  // the routed experts launch more than the dense MLP
  const auto per_launch = sim::host_costs(s).per_launch;
  REQUIRE(per_launch);
  CHECK(per_launch->seconds() == Approx(1.3 * 1000e-6 / static_cast<double>(moe_launches)));

  // With expert parallelism the same rate: the layer was measured on one rank,
  // and the all-to-alls pay the collective call, not a launch.
  sim::SimulationSpec ep = s;
  ep.cluster = testing::toy_cluster(2, 1);
  ep.plan.dp = 2;
  ep.plan.ep = 2;
  ep.training.global_batch = 2;
  REQUIRE(sim::host_costs(ep).per_launch);
  CHECK(*sim::host_costs(ep).per_launch == *per_launch);

  // Not the harness's block (a shared expert) or not its precision (AMP): the dense spread.
  sim::SimulationSpec shared = s;
  shared.model.moe.num_shared_experts = 1;
  shared.model.moe.shared_expert_ffn_hidden = 512;
  CHECK(*sim::host_costs(shared).per_launch == *dense_spread);
  sim::SimulationSpec amp = s;
  amp.training.precision = models::PrecisionMode::kAmpBf16;
  CHECK(sim::host_costs(amp).per_launch->seconds() == Approx(1000e-6 / static_cast<double>(launches(s))));
}

TEST_CASE("a block ratio measured under full recompute spreads over the recomputed layer's launches",
          "[sim][host]") {
  sim::SimulationSpec s = gpt_spec(models::PrecisionMode::kAmpBf16);
  s.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 0.95});
  s.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 2.4, true});
  // Without recompute the plain ratio, over the layer's launches.
  CHECK(sim::host_costs(s).per_launch->seconds() == Approx(0.95 * 1000e-6 / static_cast<double>(launches(s))));
  // Full recompute: the recompute ratio over forward, recompute and backward.
  sim::SimulationSpec full = s;
  full.training.recompute = models::Recompute::kFull;
  models::LayerOps ops = models::decoder_layer_ops(full.model, full.training, full.plan);
  models::apply_framework(ops, full.training);
  std::int64_t n = 0;
  for (const auto* list : {&ops.forward, &ops.recompute, &ops.backward}) {
    for (const models::LayerStep& st : *list) {
      if (st.kind == models::LayerStep::Kind::kCompute) n += st.work.kernels;
    }
  }
  REQUIRE(n > launches(s));
  CHECK(sim::host_costs(full).per_launch->seconds() == Approx(2.4 * 1000e-6 / static_cast<double>(n)));
  // Recompute without a recompute ratio: the plain one, as before.
  sim::SimulationSpec unmeasured = full;
  unmeasured.calibration.host.blocks.pop_back();
  CHECK(sim::host_costs(unmeasured).per_launch->seconds() ==
        Approx(0.95 * 1000e-6 / static_cast<double>(launches(s))));
}

TEST_CASE("a measured forward share splits the block's host time between forward and other launches",
          "[sim][host]") {
  sim::SimulationSpec amp = gpt_spec(models::PrecisionMode::kAmpBf16);
  amp.calibration.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 0.95});
  const auto even = sim::host_costs(amp);
  CHECK_FALSE(even.per_forward_launch);  // no share measured: one rate
  amp.calibration.host.forward_shares.push_back({hardware::EagerBlock::kGpt, true, false, 0.7});
  const auto split = sim::host_costs(amp);
  REQUIRE(split.per_forward_launch);
  REQUIRE(split.per_launch);
  models::LayerOps ops = models::decoder_layer_ops(amp.model, amp.training, amp.plan);
  models::apply_framework(ops, amp.training);
  std::int64_t forward = 0, backward = 0;
  for (const models::LayerStep& st : ops.forward) forward += st.work.kernels;
  for (const models::LayerStep& st : ops.backward) backward += st.work.kernels;
  // 70% of the GPT AMP block's 950 us over its forward launches, 30% over the backward's:
  // the layer's host time is kept, only its order changes.
  CHECK(split.per_forward_launch->seconds() == Approx(0.7 * 950e-6 / static_cast<double>(forward)));
  CHECK(split.per_launch->seconds() == Approx(0.3 * 950e-6 / static_cast<double>(backward)));
  CHECK(split.per_forward_launch->seconds() * static_cast<double>(forward) +
            split.per_launch->seconds() * static_cast<double>(backward) ==
        Approx(even.per_launch->seconds() * static_cast<double>(forward + backward)));
  // Another block's share is not taken; the bf16 Llama block's is, where nothing closer was measured.
  sim::SimulationSpec other = amp;
  other.calibration.host.forward_shares = {{hardware::EagerBlock::kLlama, true, false, 0.7}};
  CHECK_FALSE(sim::host_costs(other).per_forward_launch);
  other.calibration.host.forward_shares.push_back({hardware::EagerBlock::kLlama, false, false, 0.6});
  REQUIRE(sim::host_costs(other).per_forward_launch);
  CHECK(sim::host_costs(other).per_forward_launch->seconds() == Approx(0.6 * 950e-6 / static_cast<double>(forward)));
}
