#include "dtsim/models/pipeline_schedule.hpp"

#include <algorithm>
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

PipelinePass plain_pass(PassKind kind, std::int64_t k) {
  return PipelinePass{kind, static_cast<std::int32_t>(k), 0};
}

}  // namespace

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
  }
  return 0;
}

std::vector<PipelinePass> pipeline_passes(PipelineSchedule schedule, int pp, int virtual_stages,
                                          std::int64_t num_microbatches, int stage) {
  const std::int64_t warmup = warmup_passes(schedule, pp, virtual_stages, num_microbatches, stage);
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
    } else {
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
    } else {
      held -= b;
    }
  }
  return peak;
}

}  // namespace dtsim::models
