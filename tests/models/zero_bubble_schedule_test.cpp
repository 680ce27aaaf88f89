// ZB-H1 and DualPipe: pass lists, ordering, bubbles and peak activations.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/pipeline_schedule.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

constexpr auto kZbH1 = PipelineSchedule::kZeroBubbleH1;
constexpr auto kDual = PipelineSchedule::kDualPipe;

// "F3" forward, "B3" whole backward, "Bi3" its input half, "W3" its weight
// half; with_chunk appends ".c" (DualPipe's two chunks).
std::string text(const std::vector<PipelinePass>& passes, bool with_chunk = false) {
  std::ostringstream os;
  for (std::size_t i = 0; i < passes.size(); ++i) {
    const PipelinePass& p = passes[i];
    if (i > 0) os << ' ';
    switch (p.kind) {
      case PassKind::kForward: os << 'F'; break;
      case PassKind::kBackward: os << 'B'; break;
      case PassKind::kBackwardInput: os << "Bi"; break;
      case PassKind::kBackwardWeight: os << 'W'; break;
    }
    os << p.microbatch;
    if (with_chunk) os << '.' << p.chunk;
  }
  return os.str();
}

// Each (micro-batch, chunk) a stage runs has one forward, then either one
// whole backward or a B then a W; returns how many (micro-batch, chunk) ran.
std::size_t check_order(const std::vector<PipelinePass>& passes) {
  // 0 nothing, 1 forward, 2 input gradient, 3 done
  std::map<std::pair<int, int>, int> state;
  for (const PipelinePass& p : passes) {
    int& s = state[{p.microbatch, p.chunk}];
    INFO("micro-batch " << p.microbatch << " chunk " << p.chunk << " state " << s);
    switch (p.kind) {
      case PassKind::kForward: REQUIRE(s == 0); s = 1; break;
      case PassKind::kBackward: REQUIRE(s == 1); s = 3; break;
      case PassKind::kBackwardInput: REQUIRE(s == 1); s = 2; break;
      case PassKind::kBackwardWeight: REQUIRE(s == 2); s = 3; break;
    }
  }
  for (const auto& [key, s] : state) CHECK(s == 3);
  return state.size();
}

struct Costs {
  double f = 1;
  double b = 1;  // input gradient
  double w = 1;  // weight gradient; a whole backward takes b + w
};

// A dependency-driven evaluator (as in pipeline_schedule_test.cpp, with the
// backward split): each stage runs its passes in order, one at a time; the
// forward of (mb, model chunk k) waits for that of (mb, k - 1), a backward
// (whole or B) of (mb, k) for the backward of (mb, k + 1); W waits only for
// its stage. No communication time. `pairs`: a forward marked overlaps_next
// and the backward after it start together and both end after f + b + w (the
// DualPipe report's F&B unit). Returns the makespan; fails on a deadlock.
double makespan(PipelineSchedule sched, int pp, std::int64_t m, Costs c, bool pairs = false) {
  std::vector<std::vector<PipelinePass>> lists;
  for (int s = 0; s < pp; ++s) lists.push_back(pipeline_passes(sched, pp, 1, m, s));
  const int last = pp - 1;  // one model chunk per stage of the model (virtual_stages = 1)
  std::map<std::tuple<int, int, int>, double> done;  // (0 forward / 1 input gradient, mb, model chunk) -> end
  std::vector<std::size_t> next(static_cast<std::size_t>(pp), 0);
  std::vector<double> free_at(static_cast<std::size_t>(pp), 0.0);
  auto cost = [&](PassKind k) {
    switch (k) {
      case PassKind::kForward: return c.f;
      case PassKind::kBackward: return c.b + c.w;
      case PassKind::kBackwardInput: return c.b;
      case PassKind::kBackwardWeight: return c.w;
    }
    return 0.0;
  };
  // When `p` on stage s may start, or a negative value while its input is missing.
  auto ready = [&](const PipelinePass& p, int s) {
    const int k = model_chunk_of(sched, pp, s, p.chunk);
    double t = 0;
    if (p.kind == PassKind::kForward && k > 0) {
      const auto it = done.find({0, p.microbatch, k - 1});
      return it == done.end() ? -1.0 : it->second;
    }
    if ((p.kind == PassKind::kBackward || p.kind == PassKind::kBackwardInput) && k < last) {
      const auto it = done.find({1, p.microbatch, k + 1});
      return it == done.end() ? -1.0 : it->second;
    }
    return t;
  };
  auto finish = [&](const PipelinePass& p, int s, double end) {
    const int k = model_chunk_of(sched, pp, s, p.chunk);
    if (p.kind == PassKind::kForward) done[{0, p.microbatch, k}] = end;
    if (p.kind == PassKind::kBackward || p.kind == PassKind::kBackwardInput) done[{1, p.microbatch, k}] = end;
  };
  std::size_t remaining = 0;
  for (const auto& l : lists) remaining += l.size();
  bool progress = true;
  while (remaining > 0) {
    REQUIRE(progress);
    progress = false;
    for (int s = 0; s < pp; ++s) {
      const auto& list = lists[static_cast<std::size_t>(s)];
      auto& i = next[static_cast<std::size_t>(s)];
      double& free = free_at[static_cast<std::size_t>(s)];
      while (i < list.size()) {
        const PipelinePass& p = list[i];
        const bool pair = pairs && p.overlaps_next;
        const double r0 = ready(p, s);
        const double r1 = pair ? ready(list[i + 1], s) : 0.0;
        if (r0 < 0 || r1 < 0) break;
        const double start = std::max({free, r0, r1});
        const double end = start + cost(p.kind) + (pair ? cost(list[i + 1].kind) : 0.0);
        finish(p, s, end);
        if (pair) finish(list[i + 1], s, end);
        free = end;
        const std::size_t n = pair ? 2 : 1;
        i += n;
        remaining -= n;
        progress = true;
      }
    }
  }
  return *std::max_element(free_at.begin(), free_at.end());
}

}  // namespace

TEST_CASE("ZB-H1 pass lists: 1F1B's warm-up, W passes started `stage` iterations late", "[schedule][zb]") {
  // pp = 4, m = 8: stage s warms up with 3 - s forwards and owes s W passes at the end.
  CHECK(text(pipeline_passes(kZbH1, 4, 1, 8, 0)) ==
        "F0 F1 F2 F3 Bi0 W0 F4 Bi1 W1 F5 Bi2 W2 F6 Bi3 W3 F7 Bi4 W4 Bi5 W5 Bi6 W6 Bi7 W7");
  CHECK(text(pipeline_passes(kZbH1, 4, 1, 8, 1)) ==
        "F0 F1 F2 Bi0 F3 Bi1 W0 F4 Bi2 W1 F5 Bi3 W2 F6 Bi4 W3 F7 Bi5 W4 Bi6 W5 Bi7 W6 W7");
  CHECK(text(pipeline_passes(kZbH1, 4, 1, 8, 3)) ==
        "F0 Bi0 F1 Bi1 F2 Bi2 F3 Bi3 W0 F4 Bi4 W1 F5 Bi5 W2 F6 Bi6 W3 F7 Bi7 W4 W5 W6 W7");
  for (int s = 0; s < 4; ++s) CHECK(warmup_passes(kZbH1, 4, 1, 8, s) == warmup_passes(PipelineSchedule::kOneFOneB, 4, 1, 8, s));
}

TEST_CASE("DualPipe pass lists (pp = 4, m = 8)", "[schedule][dualpipe]") {
  // Chunk 0 runs micro-batches 0..3 from stage 0 down, chunk 1 runs 4..7 from stage 3 up.
  // Stage 0 (h = 0): 2 near forwards, (F near, F far), (B far split, W, F far),
  // one steady (F near, B far, F far, B near), (B far, F far, B near), (B far, B near split), (W, B near split), W.
  CHECK(text(pipeline_passes(kDual, 4, 1, 8, 0), true) ==
        "F0.0 F1.0 F2.0 F4.1 Bi4.1 W4.1 F5.1 F3.0 B5.1 F6.1 B0.0 B6.1 F7.1 B1.0 B7.1 Bi2.0 W2.0 Bi3.0 W3.0");
  // Stage 1 (h = 1, a middle stage): 2 x (F near, F far), 2 steady (the first pair not overlapped),
  // 2 x (B far, B near) split from the second on, 2 W.
  CHECK(text(pipeline_passes(kDual, 4, 1, 8, 1), true) ==
        "F0.0 F4.1 F1.0 F5.1 F2.0 B4.1 F6.1 B0.0 F3.0 B5.1 F7.1 B1.0 B6.1 B2.0 Bi7.1 Bi3.0 W7.1 W3.0");
  const auto s0 = pipeline_passes(kDual, 4, 1, 8, 0);
  std::vector<std::size_t> overlapped;
  for (std::size_t i = 0; i < s0.size(); ++i) {
    if (s0[i].overlaps_next) overlapped.push_back(i);
  }
  // F3.0 + B5.1, F6.1 + B0.0, F7.1 + B1.0.
  CHECK(overlapped == std::vector<std::size_t>{7, 9, 12});
  const auto s1 = pipeline_passes(kDual, 4, 1, 8, 1);
  CHECK_FALSE(s1[4].overlaps_next);  // F2.0: the middle stages' first steady pair runs apart
  CHECK(s1[6].overlaps_next);
  CHECK(s1[8].overlaps_next);
  for (int s = 0; s < 4; ++s) CHECK(warmup_passes(kDual, 4, 1, 8, s) == 4);
}

TEST_CASE("DualPipe is symmetric: stage pp-1-s runs stage s's list with the directions swapped", "[schedule][dualpipe]") {
  for (const int pp : {2, 4, 8}) {
    for (const std::int64_t m : {2 * pp - 2, 2 * pp, 4 * pp + 2}) {
      if (m < 2) continue;
      for (int s = 0; s < pp; ++s) {
        auto mirrored = pipeline_passes(kDual, pp, 1, m, s);
        for (auto& p : mirrored) {
          p.chunk = static_cast<std::int16_t>(1 - p.chunk);
          p.microbatch = static_cast<std::int32_t>((p.microbatch + m / 2) % m);
        }
        INFO("pp " << pp << " m " << m << " stage " << s);
        CHECK(mirrored == pipeline_passes(kDual, pp, 1, m, pp - 1 - s));
      }
    }
  }
}

TEST_CASE("every micro-batch runs F, then B, then W on each stage", "[schedule][zb][dualpipe]") {
  for (const int pp : {1, 2, 3, 4, 8}) {
    for (const std::int64_t m : {1, 2, 3, 4, 8, 12, 16}) {
      for (int s = 0; s < pp; ++s) {
        INFO("pp " << pp << " m " << m << " stage " << s);
        const auto zb = pipeline_passes(kZbH1, pp, 1, m, s);
        CHECK(zb.size() == static_cast<std::size_t>(3 * m));
        CHECK(check_order(zb) == static_cast<std::size_t>(m));
        if (pp % 2 != 0 || m % 2 != 0 || m < 2 * (pp - 1)) continue;
        const auto dual = pipeline_passes(kDual, pp, 1, m, s);
        // Each chunk runs its direction's m/2 micro-batches, in order.
        CHECK(check_order(dual) == static_cast<std::size_t>(m));
        std::vector<std::int32_t> forwards[2];
        for (std::size_t i = 0; i < dual.size(); ++i) {
          const PipelinePass& p = dual[i];
          CHECK(p.microbatch / (m / 2) == p.chunk);
          if (p.kind == PassKind::kForward) forwards[p.chunk].push_back(p.microbatch);
          // An overlapped pair is a forward and then a backward of the other chunk.
          if (p.overlaps_next) {
            REQUIRE(i + 1 < dual.size());
            const PipelinePass& q = dual[i + 1];
            CHECK(p.kind == PassKind::kForward);
            CHECK(q.kind != PassKind::kForward);
            CHECK(q.chunk != p.chunk);
          }
        }
        for (int c = 0; c < 2; ++c) CHECK(std::is_sorted(forwards[c].begin(), forwards[c].end()));
      }
    }
  }
}

TEST_CASE("ZB-H1's bubble is (pp - 1)(F + B - W): a third of 1F1B's when F = B = W", "[schedule][zb][bubble]") {
  // 1F1B runs whole backwards of B + W: makespan (m + pp - 1)(F + B + W), bubble (pp - 1)(F + B + W).
  // ZB-H1 (Qi et al. §2.1): m (F + B + W) + (pp - 1)(F + B - W), for m >= pp and W <= F, B.
  for (const int pp : {2, 4, 8}) {
    for (const std::int64_t m : {std::int64_t{pp}, 2 * std::int64_t{pp}, 3 * std::int64_t{pp} + 1}) {
      const double ideal = 3.0 * static_cast<double>(m);
      const double one_f_one_b = makespan(PipelineSchedule::kOneFOneB, pp, m, {});
      const double zb = makespan(kZbH1, pp, m, {});
      CHECK(one_f_one_b == ideal + 3.0 * (pp - 1));
      CHECK(zb == ideal + 1.0 * (pp - 1));
      CHECK_THAT((zb - ideal) / (one_f_one_b - ideal), Catch::Matchers::WithinRel(1.0 / 3.0, 1e-12));
      for (const Costs c : {Costs{1, 2, 1}, Costs{2, 1, 1}, Costs{2, 3, 1}}) {
        const double work = static_cast<double>(m) * (c.f + c.b + c.w);
        CHECK(makespan(kZbH1, pp, m, c) == work + (pp - 1) * (c.f + c.b - c.w));
      }
    }
  }
}

TEST_CASE("DualPipe's bubble: the report's (pp/2 - 1)(F&B + B - 3W) with F = B = W", "[schedule][dualpipe][bubble]") {
  // DeepSeek-V3 Table 2, B the whole backward (2 units) and F&B an overlapped pair taking F + B (3 units):
  // (pp/2 - 1)(3 + 2 - 3) = pp - 2 beyond the m (F + B + W) = 3m of work per stage. dtsim runs the pair's
  // forward first, so its activation leaves a B earlier: the bubble is (pp/2 - 1) F.
  for (const int pp : {2, 4, 8, 16}) {
    for (const std::int64_t m : {2 * std::int64_t{pp}, 4 * std::int64_t{pp}, 6 * std::int64_t{pp} + 2}) {
      INFO("pp " << pp << " m " << m);
      const double ideal = 3.0 * static_cast<double>(m);
      const double half = pp / 2 - 1;
      CHECK(makespan(kDual, pp, m, {}, true) == ideal + half * (3 + 2 - 3));
      CHECK(makespan(kDual, pp, m, {}) == ideal + half * 1);
    }
  }
}

TEST_CASE("peak activations: ZB-H1 as 1F1B's worst stage, DualPipe pp + 1", "[schedule][zb][dualpipe][memory]") {
  for (const int pp : {1, 2, 4, 8}) {
    for (const std::int64_t m : {1, 2, 4, 8, 16, 32}) {
      int worst_1f1b = 0;
      int worst_zb = 0;
      for (int s = 0; s < pp; ++s) {
        // Every ZB-H1 stage holds min(pp, m) micro-batches from F to W: 1F1B's stage 0.
        const int zb = peak_in_flight(pipeline_passes(kZbH1, pp, 1, m, s), 1).peak;
        CHECK(zb == std::min<std::int64_t>(pp, m));
        worst_zb = std::max(worst_zb, zb);
        worst_1f1b = std::max(worst_1f1b, peak_in_flight(pipeline_passes(PipelineSchedule::kOneFOneB, pp, 1, m, s), 1).peak);
      }
      CHECK(worst_zb == worst_1f1b);
    }
  }
  // DualPipe (DeepSeek-V3 Table 2): pp + 1 micro-batches' activations of one model stage each, on every stage.
  for (const int pp : {2, 4, 8, 16}) {
    for (const std::int64_t m : {2 * std::int64_t{pp}, 4 * std::int64_t{pp}}) {
      for (int s = 0; s < pp; ++s) {
        const auto passes = pipeline_passes(kDual, pp, 1, m, s);
        CHECK(peak_in_flight(passes, 2).peak == pp + 1);
        // Different per-chunk sizes count per chunk: 10 B for chunk 0, 1 B for chunk 1 bound the peak.
        const std::vector<Bytes> sizes{Bytes(10), Bytes(1)};
        const Bytes held = peak_held_bytes(passes, sizes);
        CHECK(held.count() <= 10 * (pp + 1));
        CHECK(held.count() >= pp + 1);
      }
    }
  }
}

TEST_CASE("chunk placement: DualPipe holds stage s and pp - 1 - s", "[schedule][dualpipe]") {
  CHECK(chunks_per_stage(kDual, 1) == 2);
  CHECK(chunks_per_stage(kZbH1, 1) == 1);
  CHECK(chunks_per_stage(PipelineSchedule::kInterleavedOneFOneB, 3) == 3);
  for (int s = 0; s < 8; ++s) {
    CHECK(model_chunk_of(kDual, 8, s, 0) == s);
    CHECK(model_chunk_of(kDual, 8, s, 1) == 7 - s);
    for (int c = 0; c < 2; ++c) CHECK(stage_holding(kDual, 8, model_chunk_of(kDual, 8, s, c), c) == s);
    for (int c = 0; c < 3; ++c) {
      CHECK(model_chunk_of(PipelineSchedule::kInterleavedOneFOneB, 8, s, c) == c * 8 + s);
      CHECK(stage_holding(PipelineSchedule::kInterleavedOneFOneB, 8, c * 8 + s, c) == s);
    }
  }
}

TEST_CASE("DualPipe rejects odd pp, odd or too few micro-batches, and ZB-H1 takes any", "[schedule][reject]") {
  CHECK_THROWS_WITH(pipeline_passes(kDual, 3, 1, 8, 0), "/pp: pp = 3 with schedule 'dualpipe'; expected an even pp");
  CHECK_THROWS_WITH(pipeline_passes(kDual, 4, 1, 7, 0),
                    "/num_microbatches: num_microbatches = 7 with schedule 'dualpipe'; expected an even count of at "
                    "least 2 x (pp - 1) = 6");
  CHECK_THROWS_WITH(pipeline_passes(kDual, 4, 1, 4, 0),
                    "/num_microbatches: num_microbatches = 4 with schedule 'dualpipe'; expected an even count of at "
                    "least 2 x (pp - 1) = 6");
  CHECK_THROWS_WITH(pipeline_passes(kDual, 4, 2, 8, 0),
                    "/virtual_stages: virtual_stages = 2 with schedule 'dualpipe'; expected 1");
  CHECK_THROWS_WITH(pipeline_passes(kZbH1, 4, 2, 8, 0),
                    "/virtual_stages: virtual_stages = 2 with schedule 'zb-h1'; expected 1");
  CHECK_NOTHROW(pipeline_passes(kDual, 4, 1, 6, 3));
  CHECK_NOTHROW(pipeline_passes(kZbH1, 5, 1, 3, 4));
}
