#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/model_spec.hpp"
#include "small_models.hpp"
#include "dtsim/models/pipeline_schedule.hpp"

using namespace dtsim;
using namespace dtsim::models;
using Catch::Matchers::WithinRel;

namespace {

// Llama-shaped, 8 layers (see small_models.hpp).
ModelSpec llama_like() { return testing::small_llama(8); }

// GPT-shaped: GELU MLP of 4h, LayerNorm, learned positions, biases, tied embeddings.
ModelSpec gpt_like() {
  ModelSpec m = llama_like();
  m.name = "gpt-like";
  m.num_kv_heads = 8;
  m.ffn_hidden = 1024;
  m.mlp = MlpKind::kGelu;
  m.norm = NormKind::kLayerNorm;
  m.position = PositionKind::kLearned;
  m.tied_embeddings = true;
  m.linear_bias = true;
  m.dropout = true;
  return m;
}

TrainingSpec training(std::int64_t global_batch, std::int64_t micro_batch = 1) {
  TrainingSpec t;
  t.seq_len = 128;
  t.global_batch = global_batch;
  t.micro_batch = micro_batch;
  return t;
}

ParallelPlan plan(int tp, int pp, int dp) {
  ParallelPlan p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  return p;
}

bool is_data_collective(const Program& p, const Task& t) {
  return t.kind == TaskKind::kCollective && p.collective(t).group == GroupKind::kData;
}

// Sum of collective bytes with this label over a program.
std::int64_t collective_bytes(const Program& p, const std::string& label) {
  std::int64_t b = 0;
  for (const Task& t : p.tasks()) {
    if (t.kind == TaskKind::kCollective && p.label(t) == label) b += p.collective(t).bytes.count();
  }
  return b;
}

std::int64_t count_label(const Program& p, const std::string& label) {
  return std::count_if(p.tasks().begin(), p.tasks().end(), [&](const Task& t) { return p.label(t) == label; });
}

Flops gemm_flops(const Program& p) {
  Flops f;
  for (const Task& t : p.tasks()) {
    if (t.kind == TaskKind::kCompute && p.work(t).op_class == OpClass::kGemm) f += p.work(t).flops;
  }
  return f;
}

// GEMM weights a token meets in one decoder layer: QKV h (a + 2 kv) d, out-proj a d h, MLP (3 or 2) h f.
double layer_gemm_weights(const ModelSpec& m) {
  const double h = static_cast<double>(m.hidden);
  const double d = static_cast<double>(m.head_dim);
  const double mats = m.mlp == MlpKind::kSwiGlu ? 3.0 : 2.0;
  return h * static_cast<double>(m.num_heads + 2 * m.num_kv_heads) * d + static_cast<double>(m.num_heads) * d * h +
         mats * h * static_cast<double>(m.ffn_hidden);
}

void require_sound(const std::vector<Program>& programs) {
  for (const Program& p : programs) {
    const auto d = check_program(p);
    INFO((d.empty() ? std::string() : d.front().path + ": " + d.front().message));
    REQUIRE(d.empty());
  }
  const auto d = check_programs(programs);
  INFO((d.empty() ? std::string() : d.front().path + ": " + d.front().message));
  REQUIRE(d.empty());
}

}  // namespace

TEST_CASE("every lowered step is a sound DAG with matched transfers", "[lowering]") {
  // Each program is a DAG with valid streams; across stages every send has exactly
  // one recv (same key, each naming the other's stage, equal bytes), each channel
  // lists its transfers in the same order at both ends, and no cycle runs through
  // dependencies, stream order and rendezvous (check_programs).
  struct Case {
    PipelineSchedule schedule;
    int pp, v, tp, dp, zero;
    std::int64_t global_batch;
  };
  const std::vector<Case> cases{
      {PipelineSchedule::kOneFOneB, 1, 1, 1, 1, 0, 4},  {PipelineSchedule::kOneFOneB, 4, 1, 2, 2, 0, 16},
      {PipelineSchedule::kOneFOneB, 4, 1, 1, 2, 1, 4},  {PipelineSchedule::kOneFOneB, 2, 1, 2, 2, 2, 8},
      {PipelineSchedule::kOneFOneB, 2, 1, 1, 2, 3, 8},  {PipelineSchedule::kGPipe, 4, 1, 2, 1, 0, 6},
      {PipelineSchedule::kInterleavedOneFOneB, 2, 2, 2, 2, 1, 8},
      {PipelineSchedule::kInterleavedOneFOneB, 4, 2, 1, 1, 0, 8},
      {PipelineSchedule::kInterleavedOneFOneB, 2, 4, 1, 2, 3, 8},
  };
  for (const auto& model : {llama_like(), gpt_like()}) {
    for (const Case& c : cases) {
      for (const bool sp : {false, true}) {
        for (const auto rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
          for (const bool overlap : {true, false}) {
            if (sp && c.tp == 1) continue;
            ParallelPlan p = plan(c.tp, c.pp, c.dp);
            p.schedule = c.schedule;
            p.virtual_stages = c.v;
            p.zero_stage = c.zero;
            p.sequence_parallel = sp;
            p.overlap_grad_reduce = overlap;
            p.fsdp_prefetch = overlap;
            p.dp_bucket_size = Bytes(1'000'000);
            TrainingSpec t = training(c.global_batch);
            t.recompute = rc;
            t.precision = rc == Recompute::kSelective ? PrecisionMode::kAmpBf16 : PrecisionMode::kMegatronBf16;
            INFO(model.name << " pp " << c.pp << " v " << c.v << " tp " << c.tp << " dp " << c.dp << " zero " << c.zero
                            << " sp " << sp << " overlap " << overlap);
            const auto programs = lower_to_programs(model, t, p);
            REQUIRE(programs.size() == static_cast<std::size_t>(c.pp));
            for (int s = 0; s < c.pp; ++s) CHECK(programs[static_cast<std::size_t>(s)].stage() == s);
            require_sound(programs);
          }
        }
      }
    }
  }
}

TEST_CASE("pipeline transfers: one per boundary per micro-batch each way, with the closed-form size", "[lowering]") {
  // pp 4, m 8, 1F1B: stage s < 3 sends m activations forward, stage s > 0 m gradients back.
  // Message: micro_batch x seq x h x 2 B = 2 x 128 x 256 x 2 = 131072 B; with SP / tp.
  for (const bool sp : {false, true}) {
    ParallelPlan p = plan(2, 4, 1);
    p.sequence_parallel = sp;
    const auto programs = lower_to_programs(llama_like(), training(16, 2), p);
    const std::int64_t bytes = 2 * 128 * 256 * 2 / (sp ? 2 : 1);
    for (int s = 0; s < 4; ++s) {
      const Program& pr = programs[static_cast<std::size_t>(s)];
      CHECK(count_label(pr, "send_fwd") == (s < 3 ? 8 : 0));
      CHECK(count_label(pr, "recv_fwd") == (s > 0 ? 8 : 0));
      CHECK(count_label(pr, "send_bwd") == (s > 0 ? 8 : 0));
      CHECK(count_label(pr, "recv_bwd") == (s < 3 ? 8 : 0));
      for (const Task& t : pr.tasks()) {
        if (t.kind != TaskKind::kSend && t.kind != TaskKind::kRecv) continue;
        CHECK(pr.p2p(t).bytes.count() == bytes);
        CHECK(t.phase == Phase::kPipelineComm);
        const int expected_peer = (t.stream == StreamKind::kSendForward || t.stream == StreamKind::kRecvBackward) ? s + 1 : s - 1;
        CHECK(pr.p2p(t).peer_stage == expected_peer);
        // A recv waits on nothing; a send on the task that produced its data.
        CHECK(pr.deps_of(t).size() == (t.kind == TaskKind::kRecv ? 0u : 1u));
      }
    }
  }
}

TEST_CASE("a send's match key is the receiver's (direction, micro-batch, model chunk)", "[lowering]") {
  // Stage 1 of pp 2 sends gradients of micro-batch 3 back to model chunk 0.
  const auto programs = lower_to_programs(llama_like(), training(4), plan(1, 2, 1));
  const Program& p = programs[1];
  bool found = false;
  for (const Task& t : p.tasks()) {
    if (t.kind == TaskKind::kSend && t.microbatch == 3) {
      CHECK(p.p2p(t).match_key == pipeline_match_key(TransferKind::kGradient, 3, 0));
      found = true;
    }
  }
  CHECK(found);
  // kind x 2^56 + microbatch x 2^24 + chunk.
  CHECK(pipeline_match_key(TransferKind::kGradient, 3, 5) == (1ull << 56) + (3ull << 24) + 5);
}

TEST_CASE("interleaving wraps the last stage's forward sends to stage 0", "[lowering]") {
  // pp 2, v 2: model chunks 0 (stage 0), 1 (stage 1), 2 (stage 0), 3 (stage 1). Stage 1 sends
  // chunk 1's output to stage 0 (chunk 2) on kSendForward, m = 4 times; stage 0 sends chunk 2's
  // input gradient back to stage 1 (chunk 1) on kSendBackward.
  ParallelPlan p = plan(1, 2, 1);
  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  p.virtual_stages = 2;
  const auto programs = lower_to_programs(llama_like(), training(4), p);
  const Program& last = programs[1];
  std::int64_t wraps = 0;
  for (const Task& t : last.tasks()) {
    if (t.kind == TaskKind::kSend && t.stream == StreamKind::kSendForward) {
      CHECK(last.p2p(t).peer_stage == 0);
      CHECK(last.p2p(t).match_key == pipeline_match_key(TransferKind::kActivation, t.microbatch, 2));
      ++wraps;
    }
  }
  CHECK(wraps == 4);
  // Chunk passes: 2 m v = 16 per stage, each with its layers 2 per chunk.
  CHECK(count_label(programs[0], "send_bwd") == 4);
}

TEST_CASE("GEMM FLOPs over all GPUs: 3x the forward (4x the layers' with full recompute)", "[lowering][flops]") {
  // Forward GEMM FLOPs per token: 2 (L W + h V), W the layer's GEMM weights; backward = 2x forward
  // (dgrad + wgrad); full recompute re-runs the layers' forward once more. Summed over stages,
  // each program x tp x dp: tokens x 2 (L W + h V) x 3 (+ tokens x 2 L W).
  for (const auto& model : {llama_like(), gpt_like()}) {
    for (const auto rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
      ParallelPlan p = plan(2, 2, 2);
      p.sequence_parallel = true;
      TrainingSpec t = training(8, 2);
      t.recompute = rc;
      const auto programs = lower_to_programs(model, t, p);
      Flops total;
      for (const Program& pr : programs) total += gemm_flops(pr);
      const double tokens = static_cast<double>(t.global_batch * t.seq_len);
      const double layers = 2.0 * tokens * static_cast<double>(model.num_layers) * layer_gemm_weights(model);
      const double head = 2.0 * tokens * static_cast<double>(model.hidden) * static_cast<double>(model.vocab_size);
      const double expected = 3.0 * (layers + head) + (rc == Recompute::kFull ? layers : 0.0);
      INFO(model.name << " recompute " << to_string(rc));
      CHECK_THAT(total.count() * p.tp * p.dp, WithinRel(expected, 1e-12));
    }
  }
}

TEST_CASE("all compute FLOPs over all GPUs match the model's, within the kernels' extras", "[lowering][flops]") {
  // Sum over stages of forward + backward FLOPs x tp x dp = model_flops_per_step (3x forward,
  // Megatron's count) plus what the kernels do beyond it: FlashAttention's backward counted at
  // 2.5x its forward instead of 2x (+1/6 of attention's ~7% at s = h = 4096) and the memory-bound
  // kernels' few FLOPs per element: within 3%, and never below.
  const ModelLibrary lib = builtin_models();
  const ModelSpec* m = lib.find("llama3-8b");
  REQUIRE(m != nullptr);
  ParallelPlan p = plan(2, 2, 2);
  TrainingSpec t;
  t.seq_len = 4096;
  t.global_batch = 8;
  const auto programs = lower_to_programs(*m, t, p);
  double total = 0;
  for (const Program& pr : programs) {
    total += (pr.total_flops(Phase::kForward) + pr.total_flops(Phase::kBackward)).count();
  }
  const double model = model_flops_per_step(*m, t).count();
  CHECK(total * p.tp * p.dp >= model);
  CHECK_THAT(total * p.tp * p.dp, WithinRel(model, 0.03));
}

TEST_CASE("compute FLOPs per stage split into forward, backward and recompute phases", "[lowering][flops]") {
  // Every kernel of decoder_layer_ops' lists appears once per layer per micro-batch:
  // stage forward FLOPs = m x (layers x layer forward + embedding/head forward on the end stages).
  const ModelSpec model = llama_like();
  TrainingSpec t = training(8);
  t.recompute = Recompute::kFull;
  const ParallelPlan p = plan(1, 2, 1);
  const auto programs = lower_to_programs(model, t, p);
  const LayerOps dec = decoder_layer_ops(model, t, p);
  const LayerOps emb = embedding_ops(model, t, p);
  const LayerOps head = head_and_loss_ops(model, t, p);
  auto sum = [](const std::vector<LayerStep>& steps) {
    Flops f;
    for (const auto& s : steps) f += s.work.flops;
    return f;
  };
  const double m = 8;
  CHECK_THAT(programs[0].total_flops(Phase::kForward).count(),
             WithinRel(m * (4 * sum(dec.forward).count() + sum(emb.forward).count()), 1e-12));
  CHECK_THAT(programs[1].total_flops(Phase::kBackward).count(),
             WithinRel(m * (4 * sum(dec.backward).count() + sum(head.backward).count()), 1e-12));
  CHECK_THAT(programs[1].total_flops(Phase::kRecompute).count(), WithinRel(m * 4 * sum(dec.recompute).count(), 1e-12));
}

TEST_CASE("TP collectives per layer per micro-batch", "[lowering][tp]") {
  // Megatron without SP: 2 all-reduces forward (after out-proj and MLP-down) and 2 backward
  // (input gradients of QKV and MLP-up): 4 per layer per micro-batch (reference §6); full
  // recompute re-runs the forward's 2. With SP, as many as decoder_layer_ops lists.
  for (const auto rc : {Recompute::kNone, Recompute::kFull}) {
    for (const bool sp : {false, true}) {
      ParallelPlan p = plan(4, 2, 1);
      p.sequence_parallel = sp;
      TrainingSpec t = training(4);
      t.recompute = rc;
      const auto programs = lower_to_programs(llama_like(), t, p);
      const LayerOps dec = decoder_layer_ops(llama_like(), t, p);
      std::int64_t listed = 0;
      for (const auto* list : {&dec.forward, &dec.backward, &dec.recompute}) {
        listed += std::count_if(list->begin(), list->end(),
                                [](const LayerStep& s) { return s.kind == LayerStep::Kind::kTensorCollective; });
      }
      if (!sp) CHECK(listed == (rc == Recompute::kFull ? 6 : 4));
      std::map<std::pair<int, int>, int> per_layer_mb;
      for (const Task& task : programs[0].tasks()) {
        if (task.kind == TaskKind::kCollective && task.layer >= 0 && task.microbatch >= 0 &&
            programs[0].collective(task).group == GroupKind::kTensor) {
          ++per_layer_mb[{task.layer, task.microbatch}];
          CHECK(task.stream == StreamKind::kTensorComm);
          CHECK(task.phase == Phase::kTensorComm);
        }
      }
      CHECK(per_layer_mb.size() == 4u * 4u);  // stage 0: layers 0..3, micro-batches 0..3
      for (const auto& [key, n] : per_layer_mb) CHECK(n == listed);
    }
  }
}

TEST_CASE("a TP collective sits between the kernel producing its input and the one consuming its output",
          "[lowering][tp]") {
  // For each run of consecutive TP collectives (the loss issues two back to back): the first
  // depends on the kernel just before the run, each next one on the previous, and the next
  // kernel on the run's last collective. After a dgrad GEMM the consumer is the next kernel that
  // is not a weight-gradient kernel: the wgrad GEMMs in between overlap the reduction.
  ParallelPlan p = plan(2, 1, 1);
  for (const bool sp : {false, true}) {
    p.sequence_parallel = sp;
    const auto programs = lower_to_programs(llama_like(), training(2), p);
    const Program& pr = programs[0];
    const auto& tasks = pr.tasks();
    auto is_tp = [&](std::size_t i) {
      return tasks[i].kind == TaskKind::kCollective && pr.collective(tasks[i]).group == GroupKind::kTensor &&
             tasks[i].microbatch >= 0;
    };
    std::int64_t runs = 0;
    std::int64_t overlapped = 0;
    for (std::size_t i = 1; i < tasks.size(); ++i) {
      if (!is_tp(i) || is_tp(i - 1)) continue;
      REQUIRE(tasks[i - 1].kind == TaskKind::kCompute);
      const bool after_dgrad = tasks[i - 1].phase == Phase::kBackward &&
                               pr.work(tasks[i - 1]).op_class == OpClass::kGemm &&
                               pr.label(tasks[i - 1]).find("_dgrad") != std::string::npos;
      auto deps = pr.deps_of(tasks[i]);
      CHECK(std::find(deps.begin(), deps.end(), static_cast<TaskId>(i - 1)) != deps.end());
      std::size_t j = i;
      while (j + 1 < tasks.size() && is_tp(j + 1)) {
        deps = pr.deps_of(tasks[j + 1]);
        CHECK(std::find(deps.begin(), deps.end(), static_cast<TaskId>(j)) != deps.end());
        ++j;
      }
      std::size_t k = j + 1;
      while (after_dgrad && k < tasks.size() && pr.label(tasks[k]).find("_wgrad") != std::string::npos) {
        CHECK(pr.deps_of(tasks[k]).empty());  // the wgrad overlaps the reduction
        ++k;
        ++overlapped;
      }
      REQUIRE(k < tasks.size());
      REQUIRE(tasks[k].kind == TaskKind::kCompute);
      deps = pr.deps_of(tasks[k]);
      CHECK(std::find(deps.begin(), deps.end(), static_cast<TaskId>(j)) != deps.end());
      ++runs;
    }
    CHECK(runs > 0);
    // Each micro-batch's backward reduces the dgrads of QKV and MLP-up in every layer, and the logits'.
    CHECK(overlapped >= 2 * (2 * 8 + 1));
  }
}

TEST_CASE("ZeRO-0 gradient all-reduces sum to parameters x 4 B per stage, in buckets", "[lowering][dp]") {
  // Megatron: fp32 main grads, 4 B per parameter, all-reduced once per step after the last micro-batch.
  for (const auto& model : {llama_like(), gpt_like()}) {
    ParallelPlan p = plan(2, 2, 4);
    p.dp_bucket_size = Bytes(600'000);
    const TrainingSpec t = training(16);
    const auto programs = lower_to_programs(model, t, p);
    const auto params = stage_parameters(model, t, p);
    for (std::size_t s = 0; s < programs.size(); ++s) {
      const Program& pr = programs[s];
      CHECK(collective_bytes(pr, "dp_all_reduce") == params[s] * 4);
      CHECK(collective_bytes(pr, "dp_reduce_scatter") == 0);
      // Every bucket but the chunk's last reaches the bucket size.
      std::vector<std::int64_t> sizes;
      for (const Task& task : pr.tasks()) {
        if (pr.label(task) == "dp_all_reduce") {
          sizes.push_back(pr.collective(task).bytes.count());
          CHECK(task.stream == StreamKind::kDataComm);
          CHECK(task.phase == Phase::kGradientSync);
          CHECK(task.microbatch == -1);
        }
      }
      REQUIRE(sizes.size() >= 2);
      for (std::size_t i = 0; i + 1 < sizes.size(); ++i) CHECK(sizes[i] >= 600'000);
    }
  }
}

TEST_CASE("gradient buckets overlap the backward, or follow it", "[lowering][dp]") {
  // With overlap the first bucket is issued before the last backward kernel; without, after it.
  for (const bool overlap : {true, false}) {
    ParallelPlan p = plan(1, 1, 2);
    p.overlap_grad_reduce = overlap;
    p.dp_bucket_size = Bytes(400'000);
    const auto programs = lower_to_programs(llama_like(), training(4), p);
    const Program& pr = programs[0];
    std::size_t first_bucket = pr.size();
    std::size_t last_backward = 0;
    for (std::size_t i = 0; i < pr.size(); ++i) {
      const Task& t = pr.tasks()[i];
      if (pr.label(t) == "dp_all_reduce" && first_bucket == pr.size()) first_bucket = i;
      if (t.kind == TaskKind::kCompute && t.phase == Phase::kBackward) last_backward = i;
    }
    REQUIRE(first_bucket < pr.size());
    CHECK((first_bucket < last_backward) == overlap);
  }
}

TEST_CASE("ZeRO-1 reduce-scatters gradients once and all-gathers the parameters", "[lowering][dp]") {
  // Reduce-scatter of P x 4 B (full array, nccl-tests convention), all-gather of P x 2 B bf16.
  ParallelPlan p = plan(1, 2, 4);
  p.zero_stage = 1;
  const TrainingSpec t = training(16);
  const auto programs = lower_to_programs(llama_like(), t, p);
  const auto params = stage_parameters(llama_like(), t, p);
  for (std::size_t s = 0; s < 2; ++s) {
    CHECK(collective_bytes(programs[s], "dp_reduce_scatter") == params[s] * 4);
    CHECK(collective_bytes(programs[s], "dp_param_all_gather") == params[s] * 2);
    CHECK(collective_bytes(programs[s], "dp_all_reduce") == 0);
  }
}

TEST_CASE("ZeRO-2 reduce-scatters the accumulated gradients once", "[lowering][dp]") {
  // As ZeRO-1 (Megatron's distributed optimizer traffic): P x 4 B reduce-scattered, P x 2 B gathered,
  // however many micro-batches (m = 4).
  ParallelPlan p = plan(1, 1, 2);
  p.zero_stage = 2;
  const TrainingSpec t = training(8);
  const auto programs = lower_to_programs(llama_like(), t, p);
  const auto params = stage_parameters(llama_like(), t, p);
  CHECK(collective_bytes(programs[0], "dp_reduce_scatter") == params[0] * 4);
  CHECK(collective_bytes(programs[0], "dp_param_all_gather") == params[0] * 2);
}

TEST_CASE("under PyTorch, FSDP copies around every gather and reduce-scatter, DDP per bucket", "[lowering][dp]") {
  // Compute-stream copies that sum to: per micro-batch and unit, a shard in and
  // the whole unit out for each of its 2 gathers; the unit's gradients once.
  ParallelPlan p = plan(1, 1, 4);
  p.zero_stage = 3;
  TrainingSpec t = training(8);  // m = 2 per replica
  t.precision = PrecisionMode::kPureBf16;
  t.framework = Framework::kPyTorchEager;
  const auto programs = lower_to_programs(gpt_like(), t, p);
  const std::int64_t gathers = count_label(programs[0], "fsdp_all_gather");
  CHECK(count_label(programs[0], "fsdp_gather_copy_in") == gathers);
  CHECK(count_label(programs[0], "fsdp_gather_copy_out") == gathers);
  CHECK(count_label(programs[0], "fsdp_reduce_copy_in") == count_label(programs[0], "fsdp_reduce_scatter"));
  std::int64_t copied_out = 0;
  for (const Task& task : programs[0].tasks()) {
    if (task.kind == TaskKind::kCompute && programs[0].label(task) == "fsdp_gather_copy_out") {
      CHECK(task.stream == StreamKind::kCompute);
      copied_out += programs[0].work(task).bytes_written.count();
    }
  }
  // What was gathered is what was copied out.
  CHECK(copied_out == collective_bytes(programs[0], "fsdp_all_gather"));
  // DDP: one bucket copy before every all-reduce; none under Megatron.
  p.zero_stage = 0;
  const auto ddp = lower_to_programs(gpt_like(), t, p);
  CHECK(count_label(ddp[0], "ddp_bucket_copy_scale") == count_label(ddp[0], "dp_all_reduce"));
  CHECK(count_label(ddp[0], "ddp_bucket_copy_scale") > 0);
  t.framework = Framework::kMegatron;
  CHECK(count_label(lower_to_programs(gpt_like(), t, p)[0], "ddp_bucket_copy_scale") == 0);
}

TEST_CASE("ZeRO-3 gathers 2x the parameters per micro-batch and reduce-scatters once", "[lowering][dp]") {
  // Per micro-batch each unit is gathered before its forward and its backward (bf16, 2 B x 2),
  // and its gradient reduce-scattered after its backward (4 B): per step m x P x (4 + 4) B.
  for (const bool prefetch : {true, false}) {
    ParallelPlan p = plan(2, 2, 4);
    p.zero_stage = 3;
    p.fsdp_prefetch = prefetch;
    const TrainingSpec t = training(24);  // m = 6
    const auto programs = lower_to_programs(gpt_like(), t, p);
    const auto params = stage_parameters(gpt_like(), t, p);
    for (std::size_t s = 0; s < 2; ++s) {
      CHECK(collective_bytes(programs[s], "fsdp_all_gather") == 6 * 2 * params[s] * 2);
      CHECK(collective_bytes(programs[s], "fsdp_reduce_scatter") == 6 * params[s] * 4);
      CHECK(collective_bytes(programs[s], "dp_param_all_gather") == 0);
      CHECK(collective_bytes(programs[s], "dp_all_reduce") == 0);
    }
  }
}

TEST_CASE("FSDP2 under PyTorch reduce-scatters a step's micro-batches once, after the last", "[lowering][dp]") {
  // set_requires_gradient_sync(False) before all but the last micro-batch:
  // the gathers stay per micro-batch, the reduce-scatter (and its copy) is
  // issued once per unit, after the last micro-batch's backward.
  ParallelPlan p = plan(1, 1, 4);
  p.zero_stage = 3;
  TrainingSpec t = training(16);  // m = 4 per replica
  t.precision = PrecisionMode::kPureBf16;
  t.framework = Framework::kPyTorchEager;
  const auto eager = lower_to_programs(gpt_like(), t, p);
  const auto params = stage_parameters(gpt_like(), t, p);
  CHECK(collective_bytes(eager[0], "fsdp_all_gather") == 4 * 2 * params[0] * 2);
  CHECK(collective_bytes(eager[0], "fsdp_reduce_scatter") == params[0] * 2);
  CHECK(count_label(eager[0], "fsdp_reduce_copy_in") == count_label(eager[0], "fsdp_reduce_scatter"));
  for (const Task& task : eager[0].tasks()) {
    if (task.kind == TaskKind::kCollective && eager[0].label(task) == "fsdp_reduce_scatter") CHECK(task.microbatch == 3);
  }
  // Megatron's ZeRO-3 reduces every micro-batch.
  t.framework = Framework::kMegatron;
  CHECK(collective_bytes(lower_to_programs(gpt_like(), t, p)[0], "fsdp_reduce_scatter") == 4 * params[0] * 2);
}

TEST_CASE("FSDP prefetch issues the next unit's gather before the current unit computes", "[lowering][dp]") {
  // Forward of micro-batch 0 on a single stage: units embedding, layers 0..7, head.
  // Prefetch: gathers of units 0 and 1 come before unit 0's first kernel. Without:
  // unit 1's gather depends on unit 0's last kernel.
  for (const bool prefetch : {true, false}) {
    ParallelPlan p = plan(1, 1, 2);
    p.zero_stage = 3;
    p.fsdp_prefetch = prefetch;
    const auto programs = lower_to_programs(llama_like(), training(2), p);
    const Program& pr = programs[0];
    std::vector<std::size_t> gathers;
    std::size_t first_kernel = pr.size();
    for (std::size_t i = 0; i < pr.size(); ++i) {
      const Task& t = pr.tasks()[i];
      if (pr.label(t) == "fsdp_all_gather" && gathers.size() < 2) gathers.push_back(i);
      if (t.kind == TaskKind::kCompute && first_kernel == pr.size()) first_kernel = i;
    }
    REQUIRE(gathers.size() == 2);
    CHECK((gathers[1] < first_kernel) == prefetch);
    const auto deps = pr.deps_of(pr.tasks()[gathers[1]]);
    if (!prefetch) {
      REQUIRE(deps.size() == 1);
      CHECK(pr.tasks()[deps[0]].kind == TaskKind::kCompute);
      CHECK(pr.tasks()[deps[0]].layer == -1);  // the embedding, unit 0
    } else {
      CHECK(deps.empty());
    }
  }
}

TEST_CASE("AMP casts each GEMM weight per forward, FSDP mixed precision only without ZeRO-3", "[lowering][amp]") {
  // pp 2 of 8 layers, m 4: stage 0 casts 4 layers per forward (the embedding lookup is not
  // autocast), stage 1 4 layers and the head: 16 and 20 casts. FSDP's mixed precision casts
  // shards inside its gather instead; plain AMP under FSDP still autocasts the gathered fp32.
  for (const auto precision : {PrecisionMode::kAmpBf16, PrecisionMode::kFsdpMixedBf16}) {
    for (const int zero : {0, 3}) {
      ParallelPlan p = plan(1, 2, 2);
      p.zero_stage = zero;
      TrainingSpec t = training(8);
      t.precision = precision;
      const bool none = zero == 3 && precision == PrecisionMode::kFsdpMixedBf16;
      const auto programs = lower_to_programs(llama_like(), t, p);
      CHECK(count_label(programs[0], "weight_cast_bf16") == (none ? 0 : 16));
      CHECK(count_label(programs[1], "weight_cast_bf16") == (none ? 0 : 20));
      // ZeRO-3 gathers 4 B per parameter under AMP (fp32 weights), 2 B under FSDP mixed precision.
      if (zero == 3) {
        for (const Task& task : programs[1].tasks()) {
          if (task.kind != TaskKind::kCollective || programs[1].label(task) != "fsdp_all_gather") continue;
          CHECK(programs[1].collective(task).bytes.count() % (precision == PrecisionMode::kAmpBf16 ? 4 : 2) == 0);
        }
      }
    }
  }
}

TEST_CASE("no DP collectives when dp = 1, whatever the ZeRO stage", "[lowering][dp]") {
  for (const int zero : {0, 1, 2, 3}) {
    ParallelPlan p = plan(2, 2, 1);
    p.zero_stage = zero;
    const auto programs = lower_to_programs(llama_like(), training(4), p);
    for (const Program& pr : programs) {
      for (const Task& t : pr.tasks()) CHECK_FALSE(is_data_collective(pr, t));
    }
  }
}

TEST_CASE("the optimizer runs last, over the stage's parameters / dp under ZeRO", "[lowering][optimizer]") {
  // Adam's FLOPs are 14 per parameter (optimizer_ops); ZeRO-1 updates ceil(P / dp) of them.
  for (const int zero : {0, 1}) {
    ParallelPlan p = plan(1, 2, 4);
    p.zero_stage = zero;
    const TrainingSpec t = training(8);
    const auto programs = lower_to_programs(llama_like(), t, p);
    const auto params = stage_parameters(llama_like(), t, p);
    for (std::size_t s = 0; s < 2; ++s) {
      const Program& pr = programs[s];
      const std::int64_t updated = zero >= 1 ? (params[s] + 3) / 4 : params[s];
      Flops expected;
      for (const auto& step : optimizer_ops(updated, t)) expected += step.work.flops;
      CHECK_THAT(pr.total_flops(Phase::kOptimizer).count(), WithinRel(expected.count(), 1e-12));
      // Every optimizer kernel comes after every backward kernel and gradient collective.
      std::size_t first_opt = pr.size();
      std::size_t last_grad = 0;
      for (std::size_t i = 0; i < pr.size(); ++i) {
        const Task& task = pr.tasks()[i];
        if (task.phase == Phase::kOptimizer && first_opt == pr.size()) first_opt = i;
        if (task.phase == Phase::kBackward || pr.label(task) == "dp_all_reduce" ||
            pr.label(task) == "dp_reduce_scatter") {
          last_grad = i;
        }
      }
      CHECK(last_grad < first_opt);
    }
  }
}

TEST_CASE("the gradient norm is all-reduced over TP, the pipeline and sharded DP", "[lowering][optimizer]") {
  // tp 2, pp 2, dp 2, ZeRO-1: three 4-byte all-reduces after the grad_norm kernel; without clipping none.
  ParallelPlan p = plan(2, 2, 2);
  p.zero_stage = 1;
  TrainingSpec t = training(4);
  const auto programs = lower_to_programs(llama_like(), t, p);
  const Program& pr = programs[1];
  std::vector<GroupKind> groups;
  for (const Task& task : pr.tasks()) {
    if (pr.label(task) == "grad_norm_all_reduce") {
      groups.push_back(pr.collective(task).group);
      CHECK(pr.collective(task).bytes.count() == 4);
    }
  }
  CHECK(groups == std::vector<GroupKind>{GroupKind::kTensor, GroupKind::kPipeline, GroupKind::kData});
  t.clip_grad_norm = false;
  CHECK(count_label(lower_to_programs(llama_like(), t, p)[1], "grad_norm_all_reduce") == 0);
}

TEST_CASE("tied embeddings across the pipeline exchange their gradient", "[lowering][tied]") {
  // pp 4, tp 2: the first and last stage trade padded V / tp x h x 4 B = 512 x 256 x 4 each way.
  ParallelPlan p = plan(2, 4, 1);
  const auto programs = lower_to_programs(gpt_like(), training(4), p);
  const std::int64_t bytes = 1024 / 2 * 256 * 4;
  for (const std::size_t s : {std::size_t{0}, std::size_t{3}}) {
    const Program& pr = programs[s];
    CHECK(count_label(pr, "tied_embedding_grad_send") == 1);
    CHECK(count_label(pr, "tied_embedding_grad_recv") == 1);
    for (const Task& t : pr.tasks()) {
      if (pr.label(t) == "tied_embedding_grad_send") {
        CHECK(pr.p2p(t).bytes.count() == bytes);
        CHECK(pr.p2p(t).peer_stage == (s == 0 ? 3 : 0));
        CHECK(t.phase == Phase::kGradientSync);
      }
    }
  }
  CHECK(count_label(programs[1], "tied_embedding_grad_send") == 0);
  // The last stage holds a copy of the tied matrix: its parameters include it.
  const auto params = stage_parameters(gpt_like(), training(4), p);
  const auto untied_head = head_and_loss_ops(gpt_like(), training(4), p).parameters;
  CHECK(params[3] == 2 * decoder_layer_ops(gpt_like(), training(4), p).parameters + untied_head + 512 * 256);
  // One stage: nothing to exchange.
  CHECK(count_label(lower_to_programs(gpt_like(), training(4), plan(2, 1, 1))[0], "tied_embedding_grad_send") == 0);
}

TEST_CASE("sequence parallelism all-reduces the norm gradients over TP", "[lowering][tp]") {
  // Llama: 2 RMSNorms of h per layer, 4 layers per stage, the final norm on the last stage; fp32 grads.
  ParallelPlan p = plan(2, 2, 1);
  p.sequence_parallel = true;
  const auto programs = lower_to_programs(llama_like(), training(4), p);
  CHECK(collective_bytes(programs[0], "sp_norm_grad_all_reduce") == 4 * 2 * 256 * 4);
  CHECK(collective_bytes(programs[1], "sp_norm_grad_all_reduce") == (4 * 2 * 256 + 256) * 4);
}

TEST_CASE("every task's phase matches what it does", "[lowering]") {
  ParallelPlan p = plan(2, 2, 2);
  p.zero_stage = 3;
  TrainingSpec t = training(8);
  t.recompute = Recompute::kSelective;
  for (const Program& pr : lower_to_programs(gpt_like(), t, p)) {
    for (const Task& task : pr.tasks()) {
      switch (task.kind) {
        case TaskKind::kCompute:
          CHECK((task.phase == Phase::kForward || task.phase == Phase::kBackward || task.phase == Phase::kRecompute ||
                 task.phase == Phase::kOptimizer));
          break;
        case TaskKind::kSend:
        case TaskKind::kRecv:
          CHECK((task.phase == Phase::kPipelineComm || task.phase == Phase::kGradientSync));
          break;
        case TaskKind::kCollective:
          if (pr.collective(task).group == GroupKind::kTensor && task.microbatch >= 0) {
            CHECK(task.phase == Phase::kTensorComm);
          } else if (pr.label(task) == "fsdp_all_gather") {
            CHECK(task.phase == Phase::kParameterSync);
          } else if (pr.collective(task).group == GroupKind::kData) {
            CHECK((task.phase == Phase::kGradientSync || task.phase == Phase::kParameterSync));
          }
          break;
      }
    }
  }
}

TEST_CASE("lowering rejects an invalid plan with its diagnostics", "[lowering][reject]") {
  ParallelPlan p = plan(3, 1, 1);  // 3 divides neither 8 heads nor 4 KV heads nor 512
  try {
    lower_to_programs(llama_like(), training(4), p);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 3);
    CHECK(e.path() == "/plan/tp");
    CHECK(e.message() ==
          "tp = 3 does not divide num_heads = 8 of model 'llama-like'; expected a divisor of num_heads, num_kv_heads "
          "and ffn_hidden");
  }
}

TEST_CASE("Llama-3 405B on 16,384 GPUs lowers to sound programs", "[lowering][scale]") {
  // TP8 x PP16 x DP128, 126 layers split 7 + 8 x 14 + 7 (Llama 3's own split keeps the ends light),
  // global batch 2048 sequences of 8192: m = 16 micro-batches per replica.
  const ModelLibrary lib = builtin_models();
  const ModelSpec* m = lib.find("llama3-405b");
  REQUIRE(m != nullptr);
  ParallelPlan p = plan(8, 16, 128);
  p.sequence_parallel = true;
  p.zero_stage = 1;
  p.layers_per_stage = std::vector<int>(16, 8);
  p.layers_per_stage.front() = 7;
  p.layers_per_stage.back() = 7;
  TrainingSpec t;
  t.seq_len = 8192;
  t.global_batch = 2048;
  t.micro_batch = 1;
  const auto programs = lower_to_programs(*m, t, p);
  REQUIRE(programs.size() == 16);
  std::size_t tasks = 0;
  for (const Program& pr : programs) tasks += pr.size();
  CHECK(tasks > 50'000);
  CHECK(tasks < 1'000'000);
  require_sound(programs);
}

TEST_CASE("eager PyTorch adds each later micro-batch's weight gradients into .grad", "[lowering][grad_accum]") {
  // 1 GPU, 3 micro-batches: micro-batches 1 and 2 each add every unit's
  // gradients (read .grad and the new gradient, write .grad: 6 B a
  // parameter); micro-batch 0's gradient becomes .grad as it is.
  TrainingSpec t = training(3);
  t.precision = PrecisionMode::kPureBf16;
  t.framework = Framework::kPyTorchEager;
  const ModelSpec m = llama_like();
  const Program p = lower_to_programs(m, t, plan(1, 1, 1))[0];
  std::int64_t read = 0, written = 0, kernels = 0;
  for (const Task& task : p.tasks()) {
    if (task.kind != TaskKind::kCompute || p.label(task) != "grad_accumulate") continue;
    CHECK(task.microbatch > 0);
    read += p.work(task).bytes_read.count();
    written += p.work(task).bytes_written.count();
    kernels += p.work(task).kernels;
  }
  // Every parameter, the embedding's too: its dense backward's output is
  // .grad on the first micro-batch, added on the later ones like the rest.
  const std::int64_t params = parameter_count(m);
  CHECK(read == 2 * 2 * 2 * params);
  CHECK(written == 2 * 2 * params);
  CHECK(count_label(p, "embedding_grad_accumulate") == 0);
  // The harness's Llama tensors: q, k, v, out, 3 MLP, 2 norms per layer; final norm, output, embedding.
  CHECK(kernels == 2 * (9 * m.num_layers + 3));
  // AMP adds into the fp32 .grad: twice the bytes.
  t.precision = PrecisionMode::kAmpBf16;
  std::int64_t amp_written = 0;
  const Program amp = lower_to_programs(m, t, plan(1, 1, 1))[0];
  for (const Task& task : amp.tasks()) {
    if (task.kind == TaskKind::kCompute && amp.label(task) == "grad_accumulate") {
      amp_written += amp.work(task).bytes_written.count();
    }
  }
  CHECK(amp_written == 2 * written);
  // Megatron accumulates in its wgrad GEMMs, and adds the embedding's
  // gradient into main_grad every micro-batch.
  t.framework = Framework::kMegatron;
  t.precision = PrecisionMode::kMegatronBf16;
  const Program megatron = lower_to_programs(m, t, plan(1, 1, 1))[0];
  CHECK(count_label(megatron, "grad_accumulate") == 0);
  CHECK(count_label(megatron, "embedding_grad_accumulate") == 3);
}

TEST_CASE("eager PyTorch sums a tied embedding's two gradients every micro-batch", "[lowering][grad_accum]") {
  // The head's gradient and the embedding's meet in autograd's buffer: one
  // table-sized add per micro-batch (bf16: read two, write one).
  TrainingSpec t = training(3);
  t.precision = PrecisionMode::kPureBf16;
  t.framework = Framework::kPyTorchEager;
  const ModelSpec m = gpt_like();
  REQUIRE(m.tied_embeddings);
  const Program p = lower_to_programs(m, t, plan(1, 1, 1))[0];
  CHECK(count_label(p, "embedding_tied_grad_sum") == 3);
  for (const Task& task : p.tasks()) {
    if (task.kind == TaskKind::kCompute && p.label(task) == "embedding_tied_grad_sum") {
      CHECK(p.work(task).bytes_written.count() == m.vocab_size * m.hidden * 2);
    }
  }
  CHECK(count_label(lower_to_programs(llama_like(), t, plan(1, 1, 1))[0], "embedding_tied_grad_sum") == 0);
}

TEST_CASE("PyTorch pipelining scales the gradients and merges the last stage's outputs", "[lowering][pp]") {
  TrainingSpec t = training(4);  // 4 micro-batches over pp = 2
  t.precision = PrecisionMode::kPureBf16;
  t.framework = Framework::kPyTorchEager;
  const ModelSpec m = llama_like();
  const auto programs = lower_to_programs(m, t, plan(1, 2, 1));
  REQUIRE(programs.size() == 2);
  const auto only = [](const Program& p, const std::string& label) -> const Task& {
    const auto it = std::find_if(p.tasks().begin(), p.tasks().end(), [&](const Task& x) { return p.label(x) == label; });
    REQUIRE(it != p.tasks().end());
    return *it;
  };
  for (const Program& p : programs) {
    REQUIRE(count_label(p, "pipeline_grad_scale") == 1);
    const ComputeWork& w = p.work(only(p, "pipeline_grad_scale"));
    CHECK(w.bytes_read == w.bytes_written);
  }
  CHECK(count_label(programs[0], "pipeline_output_merge") == 0);
  REQUIRE(count_label(programs[1], "pipeline_output_merge") == 1);
  // 4 micro-batches x micro-batch 1 x 128 tokens x the vocabulary, bf16.
  CHECK(programs[1].work(only(programs[1], "pipeline_output_merge")).bytes_read.count() ==
        4 * 128 * m.vocab_size * 2);
  t.framework = Framework::kMegatron;
  CHECK(count_label(lower_to_programs(m, t, plan(1, 2, 1))[1], "pipeline_output_merge") == 0);
}
