#include <catch2/catch.hpp>

#include <string>

#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/training_spec.hpp"

using namespace dtsim::models;

namespace {
const ModelSpec& get(const ModelLibrary& lib, const char* name) {
  const ModelSpec* m = lib.find(name);
  REQUIRE(m != nullptr);
  return *m;
}
double params(const ModelLibrary& lib, const char* name) { return static_cast<double>(parameter_count(get(lib, name))); }
}  // namespace

TEST_CASE("Llama 3 parameter counts match the published totals", "[model_spec]") {
  const ModelLibrary lib = builtin_models();
  // Llama (untied, no bias, RMSNorm): L (h (a + 2 kv) d + a d h + 3 h f + 2 h) + 2 V h + h.
  // 8B:   32 (4096*6144 + 4096^2 + 3*4096*14336 + 8192) + 2*128256*4096 + 4096 = 8.030e9
  CHECK(params(lib, "llama3-8b") == Approx(8.03e9).epsilon(0.005));
  // 70B:  80 (8192*10240 + 8192^2 + 3*8192*28672 + 16384) + 2*128256*8192 + 8192 = 70.55e9
  CHECK(params(lib, "llama3-70b") == Approx(70.6e9).epsilon(0.005));
  // 405B: 126 (16384*18432 + 16384^2 + 3*16384*53248 + 32768) + 2*128256*16384 + 16384 = 405.85e9
  CHECK(params(lib, "llama3-405b") == Approx(405.9e9).epsilon(0.005));
  // Llama 3.2 1B (tied): 16 (2048*3072 + 2048^2 + 3*2048*8192 + 4096) + 128256*2048 + 2048 = 1.2358e9
  CHECK(params(lib, "llama3.2-1b") == Approx(1.2358144e9).epsilon(1e-9));
}

TEST_CASE("GPT-3 175B parameter count matches the published total", "[model_spec]") {
  const ModelLibrary lib = builtin_models();
  // GPT (tied, biases, LayerNorm, learned positions), MHA with a d = h:
  // L (12 h^2 + 13 h) + V h + s_max h + 2 h
  // = 96 (12*12288^2 + 13*12288) + 50257*12288 + 2048*12288 + 2*12288 = 174.60e9
  const double h = 12288.0;
  const double expected = 96.0 * (12.0 * h * h + 13.0 * h) + 50257.0 * h + 2048.0 * h + 2.0 * h;
  CHECK(params(lib, "gpt3-175b") == Approx(expected).epsilon(1e-12));
  CHECK(params(lib, "gpt3-175b") == Approx(174.6e9).epsilon(0.005));
}

TEST_CASE("decoder layer parameters follow the per-matrix formula", "[model_spec]") {
  ModelSpec m;
  m.hidden = 64;
  m.num_heads = 4;
  m.num_kv_heads = 2;
  m.head_dim = 16;
  m.ffn_hidden = 96;
  m.mlp = MlpKind::kSwiGlu;
  m.norm = NormKind::kRmsNorm;
  // QKV 64*(4+4)*16 + out 64*64 + MLP 3*64*96 + norms 2*64 = 8192 + 4096 + 18432 + 128
  CHECK(decoder_layer_parameter_count(m) == 8192 + 4096 + 18432 + 128);
  m.mlp = MlpKind::kGelu;
  m.norm = NormKind::kLayerNorm;
  m.linear_bias = true;
  // QKV 8192 + out 4096 + MLP 2*64*96 + norms 2*128 + biases (128 + 64 + 96 + 64)
  CHECK(decoder_layer_parameter_count(m) == 8192 + 4096 + 12288 + 256 + 352);
  // GPT-3 13B has a d = 5120 != h = 5140 (Table 2.1): the attention width is a d.
  const ModelLibrary lib = builtin_models();
  const ModelSpec& g13 = get(lib, "gpt3-13b");
  const std::int64_t h = 5140, q = 40 * 128, f = 4 * 5140;
  CHECK(decoder_layer_parameter_count(g13) == h * 3 * q + q * h + 2 * h * f + 4 * h + (3 * q + h + f + h));
}

TEST_CASE("validation models match train.py's analytic parameter count", "[model_spec]") {
  const ModelLibrary lib = builtin_models();
  // model.py param_count, llama: L (h^2 + 2 h kvd + h^2 + 3 h f + 2 h) + 2 V h + h
  {
    const double h = 2048, kvd = 4 * 128, f = 5632, V = 32000;
    CHECK(params(lib, "llama-h2048") == Approx(8 * (2 * h * h + 2 * h * kvd + 3 * h * f + 2 * h) + 2 * V * h + h));
  }
  // gpt: L (4 h^2 + 4 h (biases) + 2 h f + f + h + 4 h) + V h + s h + 2 h, s = 2048
  {
    const double h = 1024, f = 4096, V = 50304;
    const double layer = 4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h;
    CHECK(params(lib, "gpt-h1024") == Approx(12 * layer + V * h + 2048 * h + 2 * h));
  }
}

TEST_CASE("built-in models are consistent and cite a source", "[model_spec]") {
  const ModelLibrary lib = builtin_models();
  const auto names = lib.names();
  REQUIRE(names.size() >= 11);
  for (std::size_t i = 1; i < names.size(); ++i) CHECK(names[i - 1] < names[i]);
  for (const auto& n : names) {
    const ModelSpec& m = get(lib, n.c_str());
    INFO(n);
    CHECK(!m.source.empty());
    CHECK(m.num_heads % m.num_kv_heads == 0);
    CHECK(m.num_layers > 0);
    CHECK(m.max_seq_len > 0);
  }
  CHECK(get(lib, "gpt3-175b").dropout);
  CHECK(get(lib, "gpt3-175b").tied_embeddings);
  CHECK_FALSE(get(lib, "llama3-70b").tied_embeddings);
  CHECK(get(lib, "llama3-70b").num_kv_heads == 8);
  CHECK(lib.find("no-such-model") == nullptr);
}

TEST_CASE("ModelLibrary::add replaces a model of the same name", "[model_spec]") {
  ModelLibrary lib;
  ModelSpec a;
  a.name = "x";
  a.num_layers = 1;
  lib.add(a);
  a.num_layers = 2;
  lib.add(a);
  CHECK(lib.names().size() == 1);
  CHECK(lib.find("x")->num_layers == 2);
}

TEST_CASE("enum names", "[model_spec]") {
  CHECK(to_string(MlpKind::kSwiGlu) == "swiglu");
  CHECK(to_string(NormKind::kLayerNorm) == "layernorm");
  CHECK(to_string(PositionKind::kRotary) == "rotary");
  CHECK(to_string(PrecisionMode::kMegatronBf16) == "megatron_bf16");
  CHECK(to_string(PrecisionMode::kAmpBf16) == "amp_bf16");
  CHECK(to_string(PrecisionMode::kPureBf16) == "pure_bf16");
  CHECK(to_string(Recompute::kNone) == "none");
  CHECK(to_string(Recompute::kSelective) == "selective");
  CHECK(to_string(Recompute::kFull) == "full");
}
