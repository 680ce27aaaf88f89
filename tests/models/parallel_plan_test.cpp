#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

// 24 layers, 16 heads with 8 KV heads, FFN 4096: divisors chosen so that
// each rule below can be broken on its own.
ModelSpec test_model() {
  ModelSpec m;
  m.name = "test";
  m.num_layers = 24;
  m.hidden = 1024;
  m.num_heads = 16;
  m.num_kv_heads = 8;
  m.head_dim = 64;
  m.ffn_hidden = 4096;
  m.vocab_size = 32000;
  m.max_seq_len = 4096;
  return m;
}

TrainingSpec test_training() {
  TrainingSpec t;
  t.seq_len = 2048;
  t.global_batch = 64;
  t.micro_batch = 2;
  return t;
}

std::vector<Diagnostic> check(const ParallelPlan& p, const TrainingSpec& t = test_training(),
                              const ModelSpec& m = test_model()) {
  return validate_plan(m, t, p, "/plan", "/training");
}

// Exactly one diagnostic, with this path and message.
void require_one(const std::vector<Diagnostic>& d, const std::string& path, const std::string& message) {
  REQUIRE(d.size() == 1);
  CHECK(d[0].path == path);
  CHECK(d[0].message == message);
}

}  // namespace

TEST_CASE("a sound plan has no diagnostics", "[plan]") {
  ParallelPlan p;
  p.tp = 4;
  p.pp = 2;
  p.dp = 4;
  p.sequence_parallel = true;
  p.zero_stage = 1;
  CHECK(check(p).empty());
  // 64 / (4 x 2) = 8 micro-batches per replica.
  CHECK(num_microbatches(test_training(), p) == 8);
}

TEST_CASE("sizes below one are rejected, one diagnostic each", "[plan][reject]") {
  ParallelPlan p;
  p.tp = 0;
  p.pp = -1;
  p.dp = 0;
  p.virtual_stages = 0;
  const auto d = check(p);
  REQUIRE(d.size() == 4);
  CHECK(d[0].path == "/plan/tp");
  CHECK(d[0].message == "tp = 0; expected an integer >= 1");
  CHECK(d[1].path == "/plan/pp");
  CHECK(d[1].message == "pp = -1; expected an integer >= 1");
  CHECK(d[2].path == "/plan/dp");
  CHECK(d[2].message == "dp = 0; expected an integer >= 1");
  CHECK(d[3].path == "/plan/virtual_stages");
  CHECK(d[3].message == "virtual_stages = 0; expected an integer >= 1");
}

TEST_CASE("tp must divide heads, KV heads and the FFN", "[plan][reject]") {
  ParallelPlan p;
  p.tp = 16;  // divides 16 heads and 4096, not 8 KV heads
  p.dp = 2;
  require_one(check(p), "/plan/tp",
              "tp = 16 does not divide num_kv_heads = 8 of model 'test'; expected a divisor of num_heads, "
              "num_kv_heads and ffn_hidden");
  p.tp = 3;  // divides none of them
  CHECK(check(p).size() == 3);
  ModelSpec m = test_model();
  m.ffn_hidden = 4098;  // 4098 = 4 x 1024 + 2
  p.tp = 4;
  require_one(check(p, test_training(), m), "/plan/tp",
              "tp = 4 does not divide ffn_hidden = 4098 of model 'test'; expected a divisor of num_heads, "
              "num_kv_heads and ffn_hidden");
}

TEST_CASE("pp x virtual stages must divide the layers without an explicit split", "[plan][reject]") {
  ParallelPlan p;
  p.pp = 5;  // 24 % 5 != 0
  require_one(check(p), "/plan/pp",
              "pp x virtual_stages = 5 x 1 = 5 does not divide num_layers = 24; expected a divisor, or give "
              "layers_per_stage");
  p.pp = 4;
  p.virtual_stages = 4;  // 16 does not divide 24
  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  TrainingSpec t = test_training();
  t.global_batch = 64;
  t.micro_batch = 1;  // 64 micro-batches, a multiple of 4
  require_one(check(p, t), "/plan/pp",
              "pp x virtual_stages = 4 x 4 = 16 does not divide num_layers = 24; expected a divisor, or give "
              "layers_per_stage");
}

TEST_CASE("an explicit layer split is checked entry by entry", "[plan][reject]") {
  ParallelPlan p;
  p.pp = 5;
  p.layers_per_stage = {4, 5, 5, 5, 5};  // sums to 24: uneven splits are fine
  CHECK(check(p).empty());
  CHECK(layers_per_model_chunk(test_model(), p) == std::vector<std::int64_t>{4, 5, 5, 5, 5});

  p.layers_per_stage = {4, 5, 5, 5};
  require_one(check(p), "/plan/layers_per_stage", "layers_per_stage has 4 entries; expected pp = 5 entries");

  p.layers_per_stage = {4, 0, 5, 5, 10};
  require_one(check(p), "/plan/layers_per_stage/1", "layers_per_stage[1] = 0; expected an integer >= 1");

  p.layers_per_stage = {4, 5, 5, 5, 6};
  require_one(check(p), "/plan/layers_per_stage", "layers_per_stage sums to 25; expected num_layers = 24 of model 'test'");
  CHECK_THROWS_AS(layers_per_model_chunk(test_model(), p), InputError);
}

TEST_CASE("an explicit split with virtual stages: per stage (divisible) or per model chunk", "[plan]") {
  ParallelPlan p;
  p.pp = 2;
  p.virtual_stages = 2;
  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  // Per stage: stage 0 holds 10 layers as 5 + 5 (model chunks 0 and 2), stage 1 14 as 7 + 7 (chunks 1, 3).
  p.layers_per_stage = {10, 14};
  CHECK(check(p).empty());
  CHECK(layers_per_model_chunk(test_model(), p) == std::vector<std::int64_t>{5, 7, 5, 7});
  // Per model chunk, in model order.
  p.layers_per_stage = {5, 6, 7, 6};
  CHECK(check(p).empty());
  CHECK(layers_per_model_chunk(test_model(), p) == std::vector<std::int64_t>{5, 6, 7, 6});

  p.layers_per_stage = {9, 15};
  const auto d = check(p);
  REQUIRE(d.size() == 2);
  CHECK(d[0].path == "/plan/layers_per_stage/0");
  CHECK(d[0].message ==
        "layers_per_stage[0] = 9 is not divisible by virtual_stages = 2; expected each stage's layers to split evenly "
        "over its model chunks");
  CHECK(d[1].path == "/plan/layers_per_stage/1");

  p.layers_per_stage = {8, 8, 8};
  require_one(check(p), "/plan/layers_per_stage",
              "layers_per_stage has 3 entries; expected pp = 2 entries or pp x virtual_stages = 4 entries (one per "
              "model chunk)");
}

TEST_CASE("the even split assigns model chunk c*pp+s to chunk c of stage s", "[plan]") {
  // 24 layers over pp 3 x v 2 = 6 model chunks of 4.
  ParallelPlan p;
  p.pp = 3;
  p.virtual_stages = 2;
  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  CHECK(layers_per_model_chunk(test_model(), p) == std::vector<std::int64_t>(6, 4));
}

TEST_CASE("the global batch must split into whole micro-batches per replica", "[plan][reject]") {
  ParallelPlan p;
  p.dp = 3;  // 3 x 2 = 6 does not divide 64
  require_one(check(p), "/training/global_batch",
              "global_batch = 64 is not divisible by dp x micro_batch = 3 x 2 = 6; expected a multiple of it");
  TrainingSpec t = test_training();
  t.micro_batch = 0;
  t.global_batch = 0;
  t.seq_len = 0;
  p.dp = 1;
  const auto d = check(p, t);
  REQUIRE(d.size() == 3);
  CHECK(d[0].path == "/training/seq_len");
  CHECK(d[0].message == "seq_len = 0; expected an integer >= 1");
  CHECK(d[1].path == "/training/micro_batch");
  CHECK(d[1].message == "micro_batch = 0; expected an integer >= 1");
  CHECK(d[2].path == "/training/global_batch");
  CHECK(d[2].message == "global_batch = 0; expected an integer >= 1");
  CHECK_THROWS_WITH(num_microbatches(t, p), "/training/micro_batch: micro_batch = 0; expected an integer >= 1");
}

TEST_CASE("interleaving needs its schedule, more than one chunk, pp > 1 and m divisible by pp", "[plan][reject]") {
  ParallelPlan p;
  p.pp = 4;
  p.virtual_stages = 2;  // with the default 1F1B schedule
  require_one(check(p), "/plan/virtual_stages",
              "virtual_stages = 2 with schedule '1f1b'; expected 1, or the 'interleaved-1f1b' schedule");

  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  p.virtual_stages = 1;
  require_one(check(p), "/plan/virtual_stages", "schedule 'interleaved-1f1b' needs virtual_stages > 1; got 1");

  // 64 / (1 x 2) = 32 micro-batches: not a multiple of pp = 3 (24 layers = 3 x 2 x 4).
  p.pp = 3;
  p.virtual_stages = 2;
  require_one(check(p), "/plan/schedule",
              "schedule 'interleaved-1f1b' needs the micro-batch count (global_batch / (dp x micro_batch) = 32) to "
              "be a multiple of pp = 3 (Megatron's rule)");

  p.pp = 1;
  require_one(check(p), "/plan/pp", "schedule 'interleaved-1f1b' needs pp > 1; got 1");
}

TEST_CASE("GPipe and 1F1B accept any micro-batch count", "[plan]") {
  // 6 / (1 x 2) = 3 micro-batches on 4 stages: fewer micro-batches than stages is legal, just slow.
  TrainingSpec t = test_training();
  t.global_batch = 6;
  for (const auto s : {PipelineSchedule::kGPipe, PipelineSchedule::kOneFOneB}) {
    ParallelPlan p;
    p.pp = 4;
    p.schedule = s;
    CHECK(check(p, t).empty());
    CHECK(num_microbatches(t, p) == 3);
  }
}

TEST_CASE("zero stage, bucket size and order", "[plan][reject]") {
  ParallelPlan p;
  p.zero_stage = 4;
  require_one(check(p), "/plan/zero_stage", "zero_stage = 4; expected 0, 1, 2 or 3");
  p.zero_stage = -1;
  require_one(check(p), "/plan/zero_stage", "zero_stage = -1; expected 0, 1, 2 or 3");
  p.zero_stage = 0;
  p.dp_bucket_size = Bytes(0);
  require_one(check(p), "/plan/dp_bucket_size", "dp_bucket_size = 0 B; expected more than 0 B");
  p.dp_bucket_size = Bytes(1);
  p.order = {ParallelDim::kTensor, ParallelDim::kTensor, ParallelDim::kPipeline};
  const auto d = check(p);
  REQUIRE(d.size() == 2);
  CHECK(d[0].path == "/plan/order");
  CHECK(d[0].message == "order lists 'tensor' 2 times; expected tensor, data and pipeline once each");
  CHECK(d[1].message == "order lists 'data' 0 times; expected tensor, data and pipeline once each");
}

TEST_CASE("ZeRO-3 is accepted with pipeline parallelism", "[plan]") {
  ParallelPlan p;
  p.pp = 2;
  p.dp = 4;
  p.zero_stage = 3;
  CHECK(check(p).empty());
}

TEST_CASE("sequence parallelism needs tp > 1 and a sequence divisible by tp", "[plan][reject]") {
  ParallelPlan p;
  p.sequence_parallel = true;
  require_one(check(p), "/plan/sequence_parallel", "sequence_parallel needs tp > 1; got tp = 1");
  p.tp = 8;
  TrainingSpec t = test_training();
  t.seq_len = 2052;  // 2052 % 8 = 4
  require_one(check(p, t), "/plan/sequence_parallel",
              "sequence_parallel splits seq_len = 2052 over tp = 8; expected seq_len divisible by tp");
}

TEST_CASE("paths follow the caller's prefixes", "[plan]") {
  ParallelPlan p;
  p.tp = 0;
  p.dp = 3;
  const auto d = validate_plan(test_model(), test_training(), p, "/sweep/0/plan", "/train");
  REQUIRE(d.size() == 2);
  CHECK(d[0].path == "/sweep/0/plan/tp");
  CHECK(d[1].path == "/train/global_batch");
}

TEST_CASE("schedules and dimensions have names", "[plan]") {
  CHECK(to_string(PipelineSchedule::kGPipe) == "gpipe");
  CHECK(to_string(PipelineSchedule::kOneFOneB) == "1f1b");
  CHECK(to_string(PipelineSchedule::kInterleavedOneFOneB) == "interleaved-1f1b");
  CHECK(to_string(ParallelDim::kTensor) == "tensor");
  CHECK(to_string(ParallelDim::kData) == "data");
  CHECK(to_string(ParallelDim::kPipeline) == "pipeline");
}
