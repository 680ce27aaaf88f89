// Sliding-window attention: which layers use the window, the share of causal
// (query, key) pairs a window keeps, the attention kernel's FLOPs and shape,
// model FLOPs, lowering per layer and validation. Closed forms in comments.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

TrainingSpec training(std::int64_t seq) {
  TrainingSpec t;
  t.seq_len = seq;
  t.global_batch = 1;
  t.micro_batch = 1;
  return t;
}

double attention_flops(const LayerOps& ops) {
  const auto it = std::find_if(ops.forward.begin(), ops.forward.end(),
                               [](const LayerStep& s) { return s.name == "attn_core"; });
  REQUIRE(it != ops.forward.end());
  return it->work.flops.count();
}

}  // namespace

TEST_CASE("a causal window keeps sum of min(i + 1, w) of the pairs", "[window]") {
  // s = 8, w = 3: 1 + 2 + 3 + 3 x 5 = 21 of 36.
  CHECK(causal_attention_pairs(8, 3) == 21.0);
  CHECK(causal_attention_pairs(8, 0) == 36.0);
  CHECK(causal_attention_pairs(8, 8) == 36.0);
  CHECK(causal_attention_pairs(8, 20) == 36.0);
}

TEST_CASE("full_attention_interval picks the full layers", "[window]") {
  ModelSpec m = testing::small_llama(4);
  CHECK_FALSE(is_windowed_layer(m, 0));  // no window
  m.sliding_window = 128;
  for (int l = 0; l < 4; ++l) CHECK(is_windowed_layer(m, l));  // interval 0: every layer
  m.full_attention_interval = 2;  // gpt-oss: windowed, full, windowed, full
  CHECK(is_windowed_layer(m, 0));
  CHECK_FALSE(is_windowed_layer(m, 1));
  CHECK(is_windowed_layer(m, 2));
  CHECK_FALSE(is_windowed_layer(m, 3));
}

TEST_CASE("a windowed layer's attention does its share of the causal work", "[window][layer_ops]") {
  // s = 512, w = 128: 128 x 129 / 2 + 384 x 128 = 57,408 of 512 x 513 / 2 = 131,328 pairs.
  ModelSpec m = testing::small_llama(2);
  const double full = attention_flops(decoder_layer_ops(m, training(512), ParallelPlan{}));
  m.sliding_window = 128;
  const LayerOps windowed = decoder_layer_ops(m, training(512), ParallelPlan{});
  CHECK(attention_flops(windowed) == Approx(full * 57408.0 / 131328.0));
  const auto core = std::find_if(windowed.forward.begin(), windowed.forward.end(),
                                 [](const LayerStep& s) { return s.name == "attn_core"; });
  REQUIRE(core->work.attention);
  CHECK(core->work.attention->seq_kv == 128);  // keys per query, at most
  // A window as long as the sequence changes nothing.
  m.sliding_window = 512;
  CHECK(attention_flops(decoder_layer_ops(m, training(512), ParallelPlan{})) == Approx(full));
}

TEST_CASE("alternating windows: the lowering gives each layer its own attention", "[window][lowering]") {
  ModelSpec m = testing::small_llama(4);
  m.sliding_window = 128;
  m.full_attention_interval = 2;
  const auto programs = lower_to_programs(m, training(512), ParallelPlan{});
  REQUIRE(programs.size() == 1);
  std::set<double> per_layer;
  int cores = 0;
  for (const Task& t : programs[0].tasks()) {
    if (t.kind != TaskKind::kCompute || programs[0].label(t) != "attn_core") continue;
    ++cores;
    per_layer.insert(programs[0].work(t).flops.count());
  }
  CHECK(cores == 4);
  CHECK(per_layer.size() == 2);  // two windowed, two full
  CHECK(*per_layer.begin() == Approx(*per_layer.rbegin() * 57408.0 / 131328.0));
}

TEST_CASE("model FLOPs count the windowed layers' share of the attention core", "[window][flops]") {
  // Per windowed layer the core loses 3 x 2 B s^2 q x (1 - 57,408 / 131,328), B = 1, s = 512, q = 256.
  ModelSpec m = testing::small_llama(4);
  const double full = model_flops_per_step(m, training(512)).count();
  m.sliding_window = 128;
  m.full_attention_interval = 2;
  const double windowed = model_flops_per_step(m, training(512)).count();
  const double core = 3.0 * 2.0 * 512.0 * 512.0 * 256.0;
  CHECK(full - windowed == Approx(2.0 * core * (1.0 - 57408.0 / 131328.0)));
}

TEST_CASE("invalid window fields are rejected with their JSON path", "[window][model_spec]") {
  ModelSpec m = testing::small_llama(2);
  m.sliding_window = -1;
  auto d = validate_model(m, "/model");
  CHECK(std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.path == "/model/sliding_window"; }));
  m.sliding_window = 0;
  m.full_attention_interval = 2;
  d = validate_model(m, "/model");
  CHECK(std::any_of(d.begin(), d.end(), [](const Diagnostic& x) {
    return x.path == "/model/full_attention_interval" && x.message.find("without a sliding_window") != std::string::npos;
  }));
  // An interval that does not fit the layers: 1 leaves no windowed layer, 3 > 2 layers no full one.
  m.sliding_window = 128;
  for (const std::int64_t interval : {1, 3}) {
    m.full_attention_interval = interval;
    d = validate_model(m, "/model");
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "/model/full_attention_interval");
    CHECK(d[0].message == "full_attention_interval = " + std::to_string(interval) +
                              "; expected 0 (every layer windowed) or 2 <= N <= num_layers = 2 (every N-th layer full)");
  }
  m.full_attention_interval = 2;
  CHECK(validate_model(m, "/model").empty());
}

TEST_CASE("gpt-oss-120b alternates 128-token windows and full attention", "[window][library]") {
  const ModelLibrary lib = builtin_models();
  const ModelSpec* oss = lib.find("gpt-oss-120b");
  REQUIRE(oss != nullptr);
  CHECK(oss->sliding_window == 128);
  CHECK(oss->full_attention_interval == 2);
}
