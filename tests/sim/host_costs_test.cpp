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
