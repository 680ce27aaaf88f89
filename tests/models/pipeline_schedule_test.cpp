#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/pipeline_schedule.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

constexpr auto kF = PassKind::kForward;
constexpr auto kB = PassKind::kBackward;

// Every (micro-batch, chunk) runs its forward exactly once and its backward
// exactly once, after the forward.
void check_complete(const std::vector<PipelinePass>& passes, std::int64_t m, int v) {
  REQUIRE(passes.size() == static_cast<std::size_t>(2 * m * v));
  std::map<std::pair<int, int>, int> state;  // 0 none, 1 forward done, 2 backward done
  for (const auto& p : passes) {
    REQUIRE(p.microbatch >= 0);
    REQUIRE(p.microbatch < m);
    REQUIRE(p.chunk >= 0);
    REQUIRE(p.chunk < v);
    int& s = state[{p.microbatch, p.chunk}];
    if (p.kind == kF) {
      REQUIRE(s == 0);
      s = 1;
    } else {
      REQUIRE(s == 1);
      s = 2;
    }
  }
  REQUIRE(state.size() == static_cast<std::size_t>(m * v));
  for (const auto& [key, s] : state) CHECK(s == 2);
}

// A dependency-driven evaluator: stage s runs its passes in order, one at a
// time; the forward of (mb, model chunk k) waits for the forward of (mb, k-1)
// and the backward of (mb, k) for the backward of (mb, k+1), with no
// communication time. A chunk's forward takes f, its backward b. Returns the
// makespan; fails the test on a deadlock.
double makespan(PipelineSchedule sched, int pp, int v, std::int64_t m, double f, double b) {
  std::vector<std::vector<PipelinePass>> lists;
  for (int s = 0; s < pp; ++s) lists.push_back(pipeline_passes(sched, pp, v, m, s));
  const int chunks = pp * v;
  std::map<std::tuple<int, int, int>, double> done;  // (kind, mb, model chunk) -> finish time
  std::vector<std::size_t> next(static_cast<std::size_t>(pp), 0);
  std::vector<double> free_at(static_cast<std::size_t>(pp), 0.0);
  bool progress = true;
  std::size_t remaining = 0;
  for (const auto& l : lists) remaining += l.size();
  while (remaining > 0) {
    REQUIRE(progress);
    progress = false;
    for (int s = 0; s < pp; ++s) {
      auto& i = next[static_cast<std::size_t>(s)];
      while (i < lists[static_cast<std::size_t>(s)].size()) {
        const PipelinePass& p = lists[static_cast<std::size_t>(s)][i];
        const int k = p.chunk * pp + s;
        double ready = free_at[static_cast<std::size_t>(s)];
        if (p.kind == kF && k > 0) {
          const auto it = done.find({0, p.microbatch, k - 1});
          if (it == done.end()) break;
          ready = std::max(ready, it->second);
        }
        if (p.kind == kB && k < chunks - 1) {
          const auto it = done.find({1, p.microbatch, k + 1});
          if (it == done.end()) break;
          ready = std::max(ready, it->second);
        }
        const double end = ready + (p.kind == kF ? f : b);
        done[{p.kind == kF ? 0 : 1, p.microbatch, k}] = end;
        free_at[static_cast<std::size_t>(s)] = end;
        ++i;
        --remaining;
        progress = true;
      }
    }
  }
  return *std::max_element(free_at.begin(), free_at.end());
}

}  // namespace

TEST_CASE("1F1B: warm-up, steady state, cool-down", "[schedule]") {
  // pp 4, m 6, stage 1: warm-up pp - 1 - 1 = 2 forwards.
  const auto p = pipeline_passes(PipelineSchedule::kOneFOneB, 4, 1, 6, 1);
  const std::vector<PipelinePass> expected{{kF, 0, 0}, {kF, 1, 0}, {kF, 2, 0}, {kB, 0, 0}, {kF, 3, 0}, {kB, 1, 0},
                                           {kF, 4, 0}, {kB, 2, 0}, {kF, 5, 0}, {kB, 3, 0}, {kB, 4, 0}, {kB, 5, 0}};
  CHECK(p == expected);
  CHECK(warmup_passes(PipelineSchedule::kOneFOneB, 4, 1, 6, 1) == 2);
  // The last stage alternates from the start; with m < pp the warm-up is capped at m.
  CHECK(warmup_passes(PipelineSchedule::kOneFOneB, 4, 1, 6, 3) == 0);
  CHECK(warmup_passes(PipelineSchedule::kOneFOneB, 8, 1, 2, 0) == 2);
}

TEST_CASE("GPipe runs every forward, then every backward", "[schedule]") {
  const auto p = pipeline_passes(PipelineSchedule::kGPipe, 2, 1, 3, 1);
  const std::vector<PipelinePass> expected{{kF, 0, 0}, {kF, 1, 0}, {kF, 2, 0}, {kB, 0, 0}, {kB, 1, 0}, {kB, 2, 0}};
  CHECK(p == expected);
}

TEST_CASE("interleaved 1F1B follows Megatron's order", "[schedule]") {
  // pp 2, v 2, m 4, stage 0. Forward k -> mb (k / 4) * 2 + k % 2, chunk (k % 4) / 2:
  // F(0,0) F(1,0) F(0,1) F(1,1) F(2,0) F(3,0) F(2,1) F(3,1).
  // Backward k -> the same mb, chunk 1 - (k % 4) / 2: B(0,1) B(1,1) B(0,0) B(1,0) B(2,1) ...
  // Warm-up (2 - 0 - 1) * 2 + (2 - 1) * 2 = 4, then F/B pairs, then the last 4 backwards.
  const auto p = pipeline_passes(PipelineSchedule::kInterleavedOneFOneB, 2, 2, 4, 0);
  const std::vector<PipelinePass> expected{
      {kF, 0, 0}, {kF, 1, 0}, {kF, 0, 1}, {kF, 1, 1},                          // warm-up
      {kF, 2, 0}, {kB, 0, 1}, {kF, 3, 0}, {kB, 1, 1}, {kF, 2, 1}, {kB, 0, 0}, {kF, 3, 1}, {kB, 1, 0},  // steady
      {kB, 2, 1}, {kB, 3, 1}, {kB, 2, 0}, {kB, 3, 0}};                         // cool-down
  CHECK(p == expected);
  // Stage 1: warm-up (v - 1) * pp = 2.
  CHECK(warmup_passes(PipelineSchedule::kInterleavedOneFOneB, 2, 2, 4, 1) == 2);
  // The warm-up is capped at m * v: pp 4, v 2, m 4, stage 0 -> min(6 + 4, 8) = 8 (all forwards first).
  CHECK(warmup_passes(PipelineSchedule::kInterleavedOneFOneB, 4, 2, 4, 0) == 8);
}

TEST_CASE("every schedule runs each forward once and each backward after it", "[schedule]") {
  for (const int pp : {1, 2, 3, 4, 8}) {
    for (const std::int64_t m : {1, 2, 3, 5, 8, 16}) {
      for (int s = 0; s < pp; ++s) {
        check_complete(pipeline_passes(PipelineSchedule::kGPipe, pp, 1, m, s), m, 1);
        check_complete(pipeline_passes(PipelineSchedule::kOneFOneB, pp, 1, m, s), m, 1);
      }
    }
  }
  for (const int pp : {2, 3, 4}) {
    for (const int v : {2, 3, 4}) {
      for (const std::int64_t groups : {1, 2, 3}) {
        for (int s = 0; s < pp; ++s) {
          check_complete(pipeline_passes(PipelineSchedule::kInterleavedOneFOneB, pp, v, groups * pp, s),
                         groups * pp, v);
        }
      }
    }
  }
}

TEST_CASE("1F1B holds min(pp - stage, m) micro-batches, and GPipe holds m", "[schedule][memory]") {
  for (const int pp : {1, 2, 4, 8}) {
    for (const std::int64_t m : {1, 3, 4, 8, 16}) {
      for (int s = 0; s < pp; ++s) {
        const auto one = peak_in_flight(pipeline_passes(PipelineSchedule::kOneFOneB, pp, 1, m, s), 1);
        CHECK(one.peak == std::min<std::int64_t>(pp - s, m));
        CHECK(one.peak_per_chunk == std::vector<int>{one.peak});
        CHECK(peak_in_flight(pipeline_passes(PipelineSchedule::kGPipe, pp, 1, m, s), 1).peak == m);
      }
    }
  }
}

TEST_CASE("interleaved stage 0 holds pp * v + pp - 1 chunk passes (Megatron's formula)", "[schedule][memory]") {
  // Warm-up W = 2 (pp - s - 1) + (v - 1) pp, plus the steady state's forward: W + 1 chunk passes while
  // W < m v. For stage 0 that is pp v + pp - 1 = v * pp (1 + (pp - 1) / (pp v)) micro-batch equivalents
  // of 1/v of the stage each: p (1 + (p - 1)/(p v)) micro-batches, reference §6.
  for (const int pp : {2, 4, 8}) {
    for (const int v : {2, 3, 4}) {
      const std::int64_t m = 4 * pp;
      for (int s = 0; s < pp; ++s) {
        const auto passes = pipeline_passes(PipelineSchedule::kInterleavedOneFOneB, pp, v, m, s);
        const auto in_flight = peak_in_flight(passes, v);
        CHECK(in_flight.peak == 2 * (pp - s - 1) + (v - 1) * pp + 1);
        if (s == 0) {
          const double equivalents = static_cast<double>(in_flight.peak) / v;
          CHECK_THAT(equivalents, Catch::Matchers::WithinRel(pp * (1.0 + (pp - 1.0) / (pp * v)), 1e-12));
        }
        // Per chunk, stage 0's first chunk runs ahead the most.
        CHECK(in_flight.peak_per_chunk.size() == static_cast<std::size_t>(v));
      }
    }
  }
}

TEST_CASE("peak held bytes weighs each chunk's forwards", "[schedule][memory]") {
  // The interleaved pp 2, v 2, m 4 stage 0 order above holds, after F(3,0) (and again after F(2,1)),
  // 4 forwards of chunk 0 and 1 of chunk 1 (or 3 + 2): with 100 B and 10 B per forward the peak is
  // 4 x 100 + 1 x 10 = 410 B, although the peak count of passes (5) is first reached at 3 x 100 + 2 x 10.
  const auto p = pipeline_passes(PipelineSchedule::kInterleavedOneFOneB, 2, 2, 4, 0);
  const std::vector<Bytes> per_chunk{Bytes(100), Bytes(10)};
  CHECK(peak_held_bytes(p, per_chunk).count() == 410);
  // Equal chunks: the peak is the pass count times the size: 5 x 10 B.
  const std::vector<Bytes> equal{Bytes(10), Bytes(10)};
  CHECK(peak_held_bytes(p, equal).count() == 50);
}

TEST_CASE("1F1B and GPipe makespan: (m + p - 1)(F + B) with F = 1, B = 2", "[schedule][bubble]") {
  for (const int pp : {1, 2, 4, 8}) {
    for (const std::int64_t m : {1, 2, 4, 8, 12}) {
      const double expected = static_cast<double>(m + pp - 1) * 3.0;
      CHECK(makespan(PipelineSchedule::kOneFOneB, pp, 1, m, 1.0, 2.0) == expected);
      CHECK(makespan(PipelineSchedule::kGPipe, pp, 1, m, 1.0, 2.0) == expected);
    }
  }
}

TEST_CASE("interleaved makespan: m (F + B) + (p - 1)(F + B) / v", "[schedule][bubble]") {
  // A stage's full forward is F = v chunk forwards of 1, its backward B = 2v: the bubble shrinks by v
  // (NAR21): m * 3v + (p - 1) * 3.
  for (const int pp : {2, 4}) {
    for (const int v : {2, 4}) {
      for (const std::int64_t m : {pp * 1, pp * 2, pp * 4}) {
        const double expected = static_cast<double>(m) * 3.0 * v + (pp - 1) * 3.0;
        CHECK(makespan(PipelineSchedule::kInterleavedOneFOneB, pp, v, m, 1.0, 2.0) == expected);
      }
    }
  }
}

TEST_CASE("schedules reject impossible shapes", "[schedule][reject]") {
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kOneFOneB, 0, 1, 4, 0), "/pp: pp = 0; expected an integer >= 1");
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kOneFOneB, 2, 0, 4, 0),
                    "/virtual_stages: virtual_stages = 0; expected an integer >= 1");
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kOneFOneB, 2, 1, 0, 0),
                    "/num_microbatches: num_microbatches = 0; expected an integer >= 1");
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kOneFOneB, 2, 1, 4, 2), "/stage: stage = 2; expected 0..1");
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kGPipe, 2, 2, 4, 0),
                    "/virtual_stages: virtual_stages = 2 with schedule 'gpipe'; expected 1");
  CHECK_THROWS_WITH(pipeline_passes(PipelineSchedule::kInterleavedOneFOneB, 4, 2, 6, 0),
                    "/num_microbatches: num_microbatches = 6 with schedule 'interleaved-1f1b'; expected a multiple "
                    "of pp = 4");
}
