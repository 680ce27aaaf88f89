#include "report_builder.hpp"

#include <algorithm>
#include <string>

#include "dtsim/core/error.hpp"

namespace dtsim::sim {
namespace {

using models::Phase;
using models::Task;
using models::TaskKind;

bool is_compute_phase(Phase p) { return p == Phase::kForward || p == Phase::kBackward || p == Phase::kRecompute; }

std::string describe_phase(Phase p) {
  switch (p) {
    case Phase::kForward: return "forward";
    case Phase::kBackward: return "backward";
    case Phase::kRecompute: return "recompute";
    case Phase::kOptimizer: return "optimizer";
    case Phase::kTensorComm: return "tensor-parallel comm";
    case Phase::kGradientSync: return "gradient sync";
    case Phase::kParameterSync: return "parameter sync";
    case Phase::kPipelineComm: return "pipeline transfer";
    case Phase::kExpertComm: return "expert all-to-all";
    case Phase::kContextComm: return "context-parallel K/V exchange";
  }
  return "?";
}

}  // namespace

std::size_t critical_rank(const ReplayResult& result) {
  std::size_t best = 0;
  TimePoint best_end;
  for (std::size_t i = 0; i < result.ranks.size(); ++i) {
    TimePoint end;
    for (const TimePoint e : result.ranks[i].end) end = std::max(end, e);
    if (i == 0 || end > best_end) {
      best = i;
      best_end = end;
    }
  }
  return best;
}

Breakdown attribute_breakdown(const ReplayResult& result, std::size_t critical,
                              const std::vector<models::Program>& programs) {
  Breakdown b;
  const RankTrace& rt = result.ranks[critical];
  const models::Program& prog = programs[static_cast<std::size_t>(rt.stage)];
  const auto& tasks = prog.tasks();
  TimePoint cursor = TimePoint::start();  // end of the last compute task seen
  // Charges idle compute-stream time [cursor, until) to what the next task waited on.
  auto charge_gap = [&](TimePoint until, const TaskCause& why) {
    if (until <= cursor) return;
    const Duration gap = until - cursor;
    if (why.sim_rank < 0) {
      b.other += gap;
      return;
    }
    const RankTrace& wr = result.ranks[static_cast<std::size_t>(why.sim_rank)];
    const Task& wt = programs[static_cast<std::size_t>(wr.stage)].tasks()[why.task];
    switch (wt.kind) {
      case TaskKind::kSend:
      case TaskKind::kRecv: b.bubble += gap; break;
      case TaskKind::kCollective: {
        // Until the collective's rendezvous the rank waited for its last
        // member; when that member is on another pipeline stage (a
        // pipeline-group all-reduce), that wait is the pipeline's.
        const TaskCause& last = wr.cause[why.task];
        const TimePoint rv = std::clamp(wr.rendezvous[why.task], cursor, until);
        const bool other_stage =
            last.sim_rank >= 0 && last.sim_rank != why.sim_rank &&
            result.ranks[static_cast<std::size_t>(last.sim_rank)].stage != result.ranks[critical].stage;
        if (other_stage) {
          b.bubble += rv - cursor;
          b.exposed_comm += until - rv;
        } else {
          b.exposed_comm += gap;
        }
        break;
      }
      case TaskKind::kCompute:
        // Waiting on compute of another rank means waiting on another stage.
        if (why.sim_rank != static_cast<std::int32_t>(critical)) {
          b.bubble += gap;
        } else {
          b.other += gap;
        }
        break;
    }
  };
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (t.stream != models::StreamKind::kCompute) continue;
    // Ready: when its dependencies and its stream predecessor (the compute
    // stream is in order: `cursor`) had finished. Idle until then is owed to
    // what it waited on; from then until it started, to its host, which had
    // not issued it yet (the only other thing a compute task waits for).
    TimePoint ready = cursor;
    for (const models::TaskId d : prog.deps_of(t)) ready = std::max(ready, rt.end[d]);
    ready = std::min(ready, rt.start[i]);
    charge_gap(ready, rt.cause[i]);
    if (rt.start[i] > ready) b.host_wait += rt.start[i] - std::max(cursor, ready);
    const Duration d = rt.end[i] - rt.start[i];
    if (t.phase == Phase::kOptimizer) {
      b.optimizer += d;
    } else {
      b.compute += d;
    }
    cursor = std::max(cursor, rt.end[i]);
  }
  // After the last kernel: whatever the rank still waited for (e.g. the final
  // parameter all-gather) until the step ends.
  TimePoint last_end = cursor;
  std::size_t last_task = tasks.size();
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (rt.end[i] > last_end) {
      last_end = rt.end[i];
      last_task = i;
    }
  }
  if (last_task < tasks.size()) {
    charge_gap(result.makespan, TaskCause{static_cast<std::int32_t>(critical), static_cast<std::uint32_t>(last_task)});
  } else if (result.makespan > cursor) {
    b.other += result.makespan - cursor;
  }
  return b;
}

std::vector<CriticalPathSegment> critical_path(const ReplayResult& result, std::size_t critical,
                                               const std::vector<models::Program>& programs) {
  std::vector<CriticalPathSegment> segs;
  // Start from the task that ends last on the critical rank.
  const RankTrace& crt = result.ranks[critical];
  std::int32_t sr = static_cast<std::int32_t>(critical);
  std::uint32_t task = 0;
  for (std::uint32_t i = 0; i < crt.end.size(); ++i) {
    if (crt.end[i] >= crt.end[task]) task = i;
  }
  std::size_t guard = 0;
  const std::size_t limit = result.tasks + 1;
  struct Step {
    std::int32_t sr;
    std::uint32_t task;
  };
  std::vector<Step> chain;
  while (sr >= 0 && guard++ < limit) {
    chain.push_back({sr, task});
    const TaskCause c = result.ranks[static_cast<std::size_t>(sr)].cause[task];
    if (c.sim_rank == sr && c.task == task) break;
    sr = c.sim_rank;
    task = c.task;
  }
  DTSIM_CHECK(guard <= limit, "critical path walk did not terminate");
  std::reverse(chain.begin(), chain.end());
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const Step& s = chain[i];
    const RankTrace& rt = result.ranks[static_cast<std::size_t>(s.sr)];
    const models::Program& prog = programs[static_cast<std::size_t>(rt.stage)];
    const Task& t = prog.tasks()[s.task];
    const bool comm = t.kind != TaskKind::kCompute;
    // A collective or transfer moves data only from its rendezvous on: the
    // wait before it is on the chain of the peer that arrived last, which the
    // walk followed (the step before this one).
    const TimePoint start = comm ? rt.rendezvous[s.task] : rt.start[s.task];
    const TimePoint end = rt.end[s.task];
    // Another member of the communication the previous step belongs to (the
    // recv of a send, a collective seen from a second member): one segment.
    if (comm && i > 0) {
      const RankTrace& prt = result.ranks[static_cast<std::size_t>(chain[i - 1].sr)];
      const Task& pt = programs[static_cast<std::size_t>(prt.stage)].tasks()[chain[i - 1].task];
      if (pt.kind != TaskKind::kCompute && pt.phase == t.phase && prt.rendezvous[chain[i - 1].task] == start &&
          !segs.empty() && segs.back().phase == t.phase) {
        auto& seg = segs.back();
        seg.duration = std::max(seg.duration, end - seg.start);
        continue;
      }
    }
    if (!segs.empty() && segs.back().stage == rt.stage && segs.back().phase == t.phase) {
      auto& seg = segs.back();
      seg.duration = end - seg.start;
      continue;
    }
    // Tensor-parallel collectives sit inside a layer's compute: they extend
    // the compute segment they interrupt instead of splitting it.
    if (!segs.empty() && segs.back().stage == rt.stage && t.phase == Phase::kTensorComm &&
        is_compute_phase(segs.back().phase)) {
      segs.back().duration = end - segs.back().start;
      continue;
    }
    const Duration d = end - start;
    CriticalPathSegment seg;
    seg.stage = rt.stage;
    seg.phase = t.phase;
    seg.start = start;
    seg.duration = d;
    seg.what = describe_phase(t.phase);
    if (t.microbatch >= 0 && (is_compute_phase(t.phase) || t.phase == Phase::kPipelineComm)) {
      seg.what += " mb " + std::to_string(t.microbatch);
    }
    if (!is_compute_phase(t.phase)) seg.what += " (" + prog.label(t) + ")";
    segs.push_back(std::move(seg));
  }
  return segs;
}

}  // namespace dtsim::sim
