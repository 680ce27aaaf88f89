#include "dtsim/models/pipeline_schedule.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "dtsim/core/error.hpp"

namespace dtsim::models {
namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

void check_args(PipelineSchedule schedule, int pp, int v, std::int64_t m, int stage) {
  if (pp < 1) throw InputError("/pp", "pp = " + str(pp) + "; expected an integer >= 1");
  if (v < 1) throw InputError("/virtual_stages", "virtual_stages = " + str(v) + "; expected an integer >= 1");
  if (m < 1) throw InputError("/num_microbatches", "num_microbatches = " + str(m) + "; expected an integer >= 1");
  if (stage < 0 || stage >= pp) {
    throw InputError("/stage", "stage = " + str(stage) + "; expected 0.." + str(pp - 1));
  }
  if (schedule != PipelineSchedule::kInterleavedOneFOneB && v != 1) {
    throw InputError("/virtual_stages", "virtual_stages = " + str(v) + " with schedule '" +
                                            std::string(to_string(schedule)) + "'; expected 1");
  }
  if (schedule == PipelineSchedule::kInterleavedOneFOneB && m % pp != 0) {
    throw InputError("/num_microbatches", "num_microbatches = " + str(m) +
                                              " with schedule 'interleaved-1f1b'; expected a multiple of pp = " +
                                              str(pp));
  }
  if (schedule == PipelineSchedule::kDualPipe) {
    if (pp % 2 != 0) throw InputError("/pp", "pp = " + str(pp) + " with schedule 'dualpipe'; expected an even pp");
    if (m % 2 != 0 || m < 2 * (pp - 1)) {
      throw InputError("/num_microbatches", "num_microbatches = " + str(m) +
                                                " with schedule 'dualpipe'; expected an even count of at least "
                                                "2 x (pp - 1) = " + str(2 * (pp - 1)));
    }
  }
}

// The k-th forward (or backward) of the interleaved schedule: Megatron's
// mapping from a virtual pass index to (micro-batch, chunk).
PipelinePass interleaved_pass(PassKind kind, std::int64_t k, int pp, int v) {
  const std::int64_t group_size = std::int64_t{pp} * v;
  const std::int64_t in_group = k % group_size;
  std::int64_t chunk = in_group / pp;
  if (kind == PassKind::kBackward) chunk = v - 1 - chunk;
  const std::int64_t mb = (k / group_size) * pp + k % pp;
  return PipelinePass{kind, static_cast<std::int32_t>(mb), static_cast<std::int16_t>(chunk)};
}

PipelinePass plain_pass(PassKind kind, std::int64_t k, int chunk = 0) {
  return PipelinePass{kind, static_cast<std::int32_t>(k), static_cast<std::int16_t>(chunk)};
}

// ZB-H1 on one stage (see the header): 1F1B with the backward split and the W
// passes started `stage` steady iterations late, so every stage holds pp
// micro-batches from F to W (stage s's warm-up leaves it pp - s - 1).
std::vector<PipelinePass> zero_bubble_h1(int pp, std::int64_t m, int stage) {
  const std::int64_t warmup = std::min<std::int64_t>(pp - stage - 1, m);
  const std::int64_t delay = stage;
  std::vector<PipelinePass> out;
  out.reserve(static_cast<std::size_t>(3 * m));
  for (std::int64_t k = 0; k < warmup; ++k) out.push_back(plain_pass(PassKind::kForward, k));
  std::int64_t next_w = 0;
  for (std::int64_t j = 0; j < m; ++j) {
    if (warmup + j < m) out.push_back(plain_pass(PassKind::kForward, warmup + j));
    out.push_back(plain_pass(PassKind::kBackwardInput, j));
    if (j >= delay) out.push_back(plain_pass(PassKind::kBackwardWeight, next_w++));
  }
  while (next_w < m) out.push_back(plain_pass(PassKind::kBackwardWeight, next_w++));
  return out;
}

// DualPipe on one stage: the eight steps the header lists, in DeepSeek's
// open schedule's order. "near" is the chunk whose micro-batches reach this
// stage first (chunk 0 on the first half of the stages, chunk 1 on the second).
class DualPipeBuilder {
 public:
  DualPipeBuilder(int pp, std::int64_t m, int stage)
      : half_(pp / 2), h_(std::min(stage, pp - 1 - stage)), near_(stage < pp / 2 ? 0 : 1), per_dir_(m / 2) {}

  std::vector<PipelinePass> build(int pp) {
    const int far = 1 - near_;
    const int ramp = half_ - h_ - 1;
    for (int i = 0; i < 2 * ramp; ++i) forward(near_);
    for (int i = 0; i <= h_; ++i) {
      forward(near_);
      forward(far);
    }
    for (int i = 0; i < ramp; ++i) {
      backward(far, true);
      weight();
      forward(far);
    }
    const std::int64_t steady = per_dir_ - pp + h_ + 1;
    for (std::int64_t i = 0; i < steady; ++i) {
      // The middle stages' first pair is not overlapped in DeepSeek's schedule either.
      forward(near_, !(i == 0 && h_ == half_ - 1));
      backward(far);
      forward(far, true);
      backward(near_);
    }
    for (int i = 0; i < ramp; ++i) {
      backward(far);
      forward(far, true);
      backward(near_);
    }
    // Split backwards from the middle of this step on, so their W passes fill the drain.
    const int drain = h_ + 1;
    bool split = false;
    for (int i = 0; i < drain; ++i) {
      if (i == drain / 2 && h_ % 2 == 1) split = true;
      backward(far, split);
      if (i == drain / 2 && h_ % 2 == 0) split = true;
      backward(near_, split);
    }
    for (int i = 0; i < ramp; ++i) {
      weight();
      backward(near_, true);
    }
    for (int i = 0; i < drain; ++i) weight();
    DTSIM_CHECK(next_w_ == deferred_.size(), "every split DualPipe backward gets its W pass");
    DTSIM_CHECK(forwards_[0] == per_dir_ && forwards_[1] == per_dir_ && backwards_[0] == per_dir_ &&
                    backwards_[1] == per_dir_,
                "DualPipe runs every micro-batch of both directions once");
    return std::move(out_);
  }

 private:
  // Chunk c runs the micro-batches c * m/2 .. c * m/2 + m/2 - 1.
  std::int64_t microbatch(int chunk, std::int64_t i) const { return chunk * per_dir_ + i; }

  void forward(int chunk, bool overlaps_next = false) {
    PipelinePass p = plain_pass(PassKind::kForward, microbatch(chunk, forwards_[static_cast<std::size_t>(chunk)]++), chunk);
    p.overlaps_next = overlaps_next;
    out_.push_back(p);
  }
  void backward(int chunk, bool split = false) {
    const PipelinePass p =
        plain_pass(split ? PassKind::kBackwardInput : PassKind::kBackward, microbatch(chunk, backwards_[static_cast<std::size_t>(chunk)]++), chunk);
    if (split) deferred_.push_back(p);
    out_.push_back(p);
  }
  void weight() {
    DTSIM_CHECK(next_w_ < deferred_.size(), "a DualPipe W pass without a split backward before it");
    PipelinePass p = deferred_[next_w_++];
    p.kind = PassKind::kBackwardWeight;
    out_.push_back(p);
  }

  int half_;
  int h_;
  int near_;
  std::int64_t per_dir_;
  std::array<std::int64_t, 2> forwards_{};
  std::array<std::int64_t, 2> backwards_{};
  std::vector<PipelinePass> deferred_;
  std::size_t next_w_ = 0;
  std::vector<PipelinePass> out_;
};

bool ends_backward(PassKind k) { return k == PassKind::kBackward || k == PassKind::kBackwardWeight; }

}  // namespace

int chunks_per_stage(PipelineSchedule schedule, int virtual_stages) {
  return schedule == PipelineSchedule::kDualPipe ? 2 : virtual_stages;
}

int model_chunk_of(PipelineSchedule schedule, int pp, int stage, int chunk) {
  if (schedule == PipelineSchedule::kDualPipe) return chunk == 0 ? stage : pp - 1 - stage;
  return chunk * pp + stage;
}

int stage_holding(PipelineSchedule schedule, int pp, int model_chunk, int chunk) {
  if (schedule == PipelineSchedule::kDualPipe && chunk == 1) return pp - 1 - model_chunk;
  return model_chunk % pp;
}

std::int64_t warmup_passes(PipelineSchedule schedule, int pp, int virtual_stages, std::int64_t num_microbatches,
                           int stage) {
  check_args(schedule, pp, virtual_stages, num_microbatches, stage);
  switch (schedule) {
    case PipelineSchedule::kGPipe: return num_microbatches;
    case PipelineSchedule::kOneFOneB: return std::min<std::int64_t>(pp - stage - 1, num_microbatches);
    case PipelineSchedule::kInterleavedOneFOneB: {
      // Megatron: (pp - rank - 1) * 2 + (v - 1) * pp, capped at the total. The
      // factor 2 lets earlier stages run ahead far enough that the steady state
      // never waits on the wrap-around from the last stage to stage 0.
      const std::int64_t total = num_microbatches * virtual_stages;
      const std::int64_t w = std::int64_t{pp - stage - 1} * 2 + std::int64_t{virtual_stages - 1} * pp;
      return std::min(w, total);
    }
    case PipelineSchedule::kZeroBubbleH1: return std::min<std::int64_t>(pp - stage - 1, num_microbatches);
    case PipelineSchedule::kDualPipe: return pp;  // 2(pp/2 - h - 1) + 2(h + 1) on every stage
  }
  return 0;
}

std::vector<PipelinePass> pipeline_passes(PipelineSchedule schedule, int pp, int virtual_stages,
                                          std::int64_t num_microbatches, int stage) {
  const std::int64_t warmup = warmup_passes(schedule, pp, virtual_stages, num_microbatches, stage);
  if (schedule == PipelineSchedule::kZeroBubbleH1) return zero_bubble_h1(pp, num_microbatches, stage);
  if (schedule == PipelineSchedule::kDualPipe) return DualPipeBuilder(pp, num_microbatches, stage).build(pp);
  const std::int64_t total = num_microbatches * virtual_stages;
  const bool interleaved = schedule == PipelineSchedule::kInterleavedOneFOneB;
  auto pass = [&](PassKind kind, std::int64_t k) {
    return interleaved ? interleaved_pass(kind, k, pp, virtual_stages) : plain_pass(kind, k);
  };
  std::vector<PipelinePass> out;
  out.reserve(static_cast<std::size_t>(2 * total));
  for (std::int64_t k = 0; k < warmup; ++k) out.push_back(pass(PassKind::kForward, k));
  // Steady state: one forward, then the oldest outstanding backward.
  const std::int64_t steady = total - warmup;
  for (std::int64_t i = 0; i < steady; ++i) {
    out.push_back(pass(PassKind::kForward, warmup + i));
    out.push_back(pass(PassKind::kBackward, i));
  }
  for (std::int64_t k = steady; k < total; ++k) out.push_back(pass(PassKind::kBackward, k));
  return out;
}

std::vector<PipelinePass> stage_passes(const ParallelPlan& plan, std::int64_t num_microbatches, int stage) {
  const PipelineSchedule schedule = plan.schedule;
  std::vector<PipelinePass> out;
  if (plan.ep_comm_overlap && plan.pp == 1 && schedule == PipelineSchedule::kOneFOneB) {
    check_args(schedule, 1, plan.virtual_stages, num_microbatches, stage);
    out.reserve(static_cast<std::size_t>(2 * num_microbatches));
    out.push_back(plain_pass(PassKind::kForward, 0));
    for (std::int64_t i = 0; i + 1 < num_microbatches; ++i) {
      PipelinePass f = plain_pass(PassKind::kForward, i + 1);
      f.overlaps_next = true;
      out.push_back(f);
      out.push_back(plain_pass(PassKind::kBackward, i));
    }
    out.push_back(plain_pass(PassKind::kBackward, num_microbatches - 1));
    return out;
  }
  out = pipeline_passes(schedule, plan.pp, plan.virtual_stages, num_microbatches, stage);
  if (!plan.ep_comm_overlap) {
    for (PipelinePass& p : out) p.overlaps_next = false;
    return out;
  }
  if (schedule == PipelineSchedule::kDualPipe) return out;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    const PipelinePass& next = out[i + 1];
    out[i].overlaps_next = out[i].kind == PassKind::kForward && next.kind == PassKind::kBackward &&
                           (next.microbatch != out[i].microbatch || next.chunk != out[i].chunk);
  }
  return out;
}

InFlight peak_in_flight(std::span<const PipelinePass> passes, int virtual_stages) {
  DTSIM_CHECK(virtual_stages >= 1, "virtual_stages must be at least 1");
  InFlight r;
  r.peak_per_chunk.assign(static_cast<std::size_t>(virtual_stages), 0);
  std::vector<int> held(static_cast<std::size_t>(virtual_stages), 0);
  int total = 0;
  for (const PipelinePass& p : passes) {
    DTSIM_CHECK(p.chunk >= 0 && p.chunk < virtual_stages, "pass chunk outside 0..virtual_stages-1");
    auto& h = held[static_cast<std::size_t>(p.chunk)];
    if (p.kind == PassKind::kForward) {
      ++h;
      ++total;
      r.peak = std::max(r.peak, total);
      auto& pc = r.peak_per_chunk[static_cast<std::size_t>(p.chunk)];
      pc = std::max(pc, h);
    } else if (ends_backward(p.kind)) {
      DTSIM_CHECK(h > 0, "a backward pass before its forward");
      --h;
      --total;
    }
  }
  return r;
}

Bytes peak_held_bytes(std::span<const PipelinePass> passes, std::span<const Bytes> per_chunk) {
  Bytes held;
  Bytes peak;
  for (const PipelinePass& p : passes) {
    DTSIM_CHECK(p.chunk >= 0 && static_cast<std::size_t>(p.chunk) < per_chunk.size(),
                "pass chunk outside the per-chunk sizes");
    const Bytes b = per_chunk[static_cast<std::size_t>(p.chunk)];
    if (p.kind == PassKind::kForward) {
      held += b;
      peak = std::max(peak, held);
    } else if (ends_backward(p.kind)) {
      held -= b;
    }
  }
  return peak;
}

}  // namespace dtsim::models
