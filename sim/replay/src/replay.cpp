#include "replay.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>

#include "dtsim/core/engine.hpp"
#include "dtsim/core/error.hpp"
#include "algorithm_memo.hpp"
#include "flow_network.hpp"

namespace dtsim::sim {
namespace {

using models::GroupKind;
using models::Program;
using models::StreamKind;
using models::Task;
using models::TaskId;
using models::TaskKind;

constexpr std::uint32_t kNoTask = UINT32_MAX;

// What the replay precomputes once per stage program and shares between all
// simulated ranks of that stage.
struct ProgramInfo {
  const Program* program = nullptr;
  std::vector<Duration> compute_time;  // per task (zero for non-compute)
  // When the rank's host has issued the task: the host walks the program in
  // task order and never waits, spending the calibration's launch cost on
  // each (HostParams); all zero when the calibration has no host costs.
  std::vector<TimePoint> issued_at;
  std::array<std::vector<TaskId>, models::kStreamCount> stream_tasks;
  std::vector<std::uint32_t> position_in_stream;  // per task
  std::vector<std::uint32_t> dependents_begin;    // CSR of reverse dependencies
  std::vector<TaskId> dependents;
  std::vector<std::uint32_t> dep_count;
};

// DDP's host work per layer spread over the program's data-parallel
// all-reduces: the layers the program computes times the per-layer cost,
// in equal parts (zero without either).
Duration ddp_host_per_all_reduce(const Program& p, Duration per_layer) {
  if (per_layer <= Duration::zero()) return Duration::zero();
  std::int64_t all_reduces = 0;
  std::vector<std::int32_t> layers;
  for (const Task& t : p.tasks()) {
    if (t.layer >= 0) layers.push_back(t.layer);
    if (t.kind == TaskKind::kCollective && p.collective(t).group == GroupKind::kData &&
        p.collective(t).kind == CollectiveKind::kAllReduce) {
      ++all_reduces;
    }
  }
  std::sort(layers.begin(), layers.end());
  const auto distinct = std::unique(layers.begin(), layers.end()) - layers.begin();
  if (all_reduces == 0 || distinct == 0) return Duration::zero();
  return seconds_to_duration(per_layer.seconds() * static_cast<double>(distinct) / static_cast<double>(all_reduces));
}

ProgramInfo analyse(const Program& p, const hardware::OpCostModel& cost, const ReplayInputs& in) {
  ProgramInfo info;
  info.program = &p;
  const auto& tasks = p.tasks();
  const std::size_t n = tasks.size();
  info.compute_time.assign(n, Duration::zero());
  info.issued_at.assign(n, TimePoint::start());
  TimePoint host = TimePoint::start();
  const Duration ddp_per_all_reduce = ddp_host_per_all_reduce(p, in.extra_host_ddp_per_layer);
  info.position_in_stream.assign(n, 0);
  info.dep_count.assign(n, 0);
  std::vector<std::uint32_t> out_degree(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Task& t = tasks[i];
    // Every kernel is launched eagerly (no framework here captures CUDA
    // graphs): each pays the measured eager gap (0 when not measured).
    if (t.kind == TaskKind::kCompute) {
      info.compute_time[i] = cost.duration(p.work(t)) +
                             cost.calibration().host.eager_kernel_gap * std::max<std::int64_t>(p.work(t).kernels, 0);
    }
    const bool tp_collective = t.kind == TaskKind::kCollective && p.collective(t).group == GroupKind::kTensor;
    if (in.host_per_launch && t.kind == TaskKind::kCompute) {
      const Duration rate =
          t.phase == models::Phase::kForward && in.host_per_forward_launch ? *in.host_per_forward_launch : *in.host_per_launch;
      host += rate * std::max<std::int64_t>(p.work(t).kernels, 0);
    } else if (in.host_per_launch && tp_collective) {
      host += *in.host_per_launch;
    } else if (t.kind == TaskKind::kCompute) {
      host += cost.host_issue_time(p.work(t));
      if (p.work(t).op_class == OpClass::kGemm) host += in.extra_host_per_gemm;
    } else {
      host += cost.calibration().host.collective_launch;
      if (tp_collective) host += in.extra_host_per_tp_collective;
      if (t.kind == TaskKind::kCollective && p.collective(t).group == GroupKind::kData) {
        switch (p.collective(t).kind) {
          case CollectiveKind::kAllGather: host += in.extra_host_per_dp_all_gather; break;
          case CollectiveKind::kReduceScatter: host += in.extra_host_per_dp_reduce_scatter; break;
          case CollectiveKind::kAllReduce: host += ddp_per_all_reduce; break;
          default: break;
        }
      }
    }
    info.issued_at[i] = host;
    auto& st = info.stream_tasks[static_cast<std::size_t>(t.stream)];
    info.position_in_stream[i] = static_cast<std::uint32_t>(st.size());
    st.push_back(static_cast<TaskId>(i));
    const auto deps = p.deps_of(t);
    info.dep_count[i] = static_cast<std::uint32_t>(deps.size());
    for (const TaskId d : deps) {
      DTSIM_CHECK(d < i, "program dependency does not point to an earlier task");
      ++out_degree[d];
    }
  }
  info.dependents_begin.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) info.dependents_begin[i + 1] = info.dependents_begin[i] + out_degree[i];
  info.dependents.assign(info.dependents_begin[n], 0);
  std::vector<std::uint32_t> fill(info.dependents_begin.begin(), info.dependents_begin.end() - 1);
  for (std::size_t i = 0; i < n; ++i) {
    for (const TaskId d : p.deps_of(tasks[i])) info.dependents[fill[d]++] = static_cast<TaskId>(i);
  }
  return info;
}

// A routed, weighted transfer pattern for one stage of a collective plan.
struct RoutedStage {
  std::vector<std::pair<int, int>> endpoints;         // (src, dst) per transfer, to check reuse
  std::vector<std::vector<hardware::LinkId>> paths;   // per transfer
  std::vector<std::vector<double>> weights;           // per transfer, per link (empty: all 1)
};

struct RoutedPlan {
  std::vector<RoutedStage> stages;
};

struct Participant {
  std::uint32_t sim_rank = 0;
  TaskId task = 0;
};

// A collective or send/recv in flight.
struct ActiveComm {
  hardware::CollectivePlan plan;
  const RoutedPlan* routed = nullptr;
  std::size_t stage = 0;
  std::uint32_t pending_flows = 0;
  std::vector<Participant> participants;
  bool live = false;
};

// Arrivals at a collective instance or a send/recv pair not yet started.
struct Rendezvous {
  std::vector<Participant> arrived;
};

struct RankState {
  int rank = 0;
  int stage = 0;
  const ProgramInfo* info = nullptr;
  std::vector<std::uint32_t> deps_left;
  std::vector<TimePoint> deps_ready;
  std::vector<TaskCause> dep_cause;
  std::array<std::uint32_t, models::kStreamCount> head{};
  std::array<bool, models::kStreamCount> busy{};
  std::array<bool, models::kStreamCount> wake_pending{};  // a host-issue wake-up is scheduled
  std::array<std::uint32_t, models::kGroupKindCount> collective_seq{};  // per GroupKind
  std::array<std::vector<int>, models::kGroupKindCount> group{};        // this rank's group members per GroupKind
  std::array<std::size_t, models::kGroupKindCount> simulated_in_group{};  // how many of them are simulated
  std::uint64_t done = 0;
  RankTrace trace;
};

std::uint64_t pack_collective_key(GroupKind kind, int leader, std::uint32_t seq) {
  // 4 bits of kind, 24 of leader rank, 36 of sequence.
  return (static_cast<std::uint64_t>(kind) << 60) | (static_cast<std::uint64_t>(leader) << 36) | seq;
}

struct P2PKey {
  int src = 0;
  int dst = 0;
  std::uint64_t match = 0;
  bool operator<(const P2PKey& o) const {
    if (src != o.src) return src < o.src;
    if (dst != o.dst) return dst < o.dst;
    return match < o.match;
  }
};

class Replayer {
 public:
  explicit Replayer(const ReplayInputs& in)
      : in_(in), network_(link_capacities(*in.topology)), compute_done_(*this), comm_latency_(*this),
        host_issued_(*this), reschedule_(*this), flow_tick_(*this),
        algorithms_(*in.topology, in.collective_params, in.algorithm, in.memoize_algorithm) {}

  ReplayResult run();

 private:
  // Event handlers: thin adapters into the Replayer.
  struct ComputeDone final : EventHandler {
    explicit ComputeDone(Replayer& r) : r_(r) {}
    void handle(Engine&, std::uint64_t tag) override {
      r_.finish_task(static_cast<std::uint32_t>(tag >> 32), static_cast<TaskId>(tag & 0xffffffffu));
    }
    Replayer& r_;
  };
  struct CommLatencyDone final : EventHandler {
    explicit CommLatencyDone(Replayer& r) : r_(r) {}
    void handle(Engine&, std::uint64_t tag) override { r_.start_stage_flows(static_cast<std::uint32_t>(tag)); }
    Replayer& r_;
  };
  // A stream's head task has been issued by the host: try it again.
  struct HostIssued final : EventHandler {
    explicit HostIssued(Replayer& r) : r_(r) {}
    void handle(Engine&, std::uint64_t tag) override {
      const auto sr = static_cast<std::uint32_t>(tag >> 32);
      const auto stream = static_cast<StreamKind>(tag & 0xffffffffu);
      r_.ranks_[sr].wake_pending[static_cast<std::size_t>(stream)] = false;
      r_.try_start(sr, stream);
    }
    Replayer& r_;
  };
  struct Reschedule final : EventHandler {
    explicit Reschedule(Replayer& r) : r_(r) {}
    void handle(Engine&, std::uint64_t) override { r_.on_reschedule(); }
    Replayer& r_;
  };
  struct FlowTick final : EventHandler {
    explicit FlowTick(Replayer& r) : r_(r) {}
    void handle(Engine&, std::uint64_t tag) override { r_.on_flow_tick(tag); }
    Replayer& r_;
  };

  static std::vector<Bandwidth> link_capacities(const hardware::Topology& topo) {
    std::vector<Bandwidth> caps;
    caps.reserve(topo.num_links());
    for (std::size_t i = 0; i < topo.num_links(); ++i) caps.push_back(topo.link(static_cast<hardware::LinkId>(i)).capacity);
    return caps;
  }

  void setup();
  void try_start(std::uint32_t sr, StreamKind stream);
  void start_task(std::uint32_t sr, TaskId t);
  void finish_task(std::uint32_t sr, TaskId t);
  void arrive_collective(std::uint32_t sr, TaskId t);
  void arrive_p2p(std::uint32_t sr, TaskId t);
  void launch_comm(hardware::CollectivePlan plan, const RoutedPlan* routed, std::vector<Participant> participants);
  void keep_leader_transfers(hardware::CollectivePlan& plan, const std::vector<int>& group) const;
  void begin_stage(std::uint32_t comm);
  void start_stage_flows(std::uint32_t comm);
  void finish_stage(std::uint32_t comm);
  void request_reschedule();
  void on_reschedule();
  void on_flow_tick(std::uint64_t version);

  const RoutedPlan* routed_collective(const hardware::CollectivePlan& plan, GroupKind kind,
                                      const std::vector<int>& group, models::CollectiveOp op, int stage);
  const RoutedPlan* routed_p2p(const hardware::CollectivePlan& plan, int src_rank, int dst_rank);
  void route_stage(const hardware::CollectiveStage& stage, RoutedStage& out) const;
  void weigh_stage(RoutedStage& rep, const std::vector<const hardware::CollectiveStage*>& siblings);
  std::vector<int> ranks_of_stage(int stage) const;

  const ReplayInputs& in_;
  Engine engine_;
  FlowNetwork network_;
  ComputeDone compute_done_;
  CommLatencyDone comm_latency_;
  HostIssued host_issued_;
  Reschedule reschedule_;
  FlowTick flow_tick_;

  std::vector<ProgramInfo> infos_;
  std::vector<RankState> ranks_;
  std::vector<std::int32_t> sim_index_;  // global rank -> simulated index, -1 if not simulated
  std::unordered_map<std::uint64_t, Rendezvous> collectives_waiting_;
  std::map<P2PKey, Rendezvous> p2p_waiting_;
  std::vector<ActiveComm> comms_;
  std::vector<std::uint32_t> free_comms_;
  AlgorithmMemo algorithms_;
  // Routed patterns, keyed by what determines them.
  std::map<std::tuple<int, int, int, int, int>, std::unique_ptr<RoutedPlan>> routed_cache_;
  std::vector<hardware::LinkId> path_scratch_;
  std::vector<std::uint64_t> finished_scratch_;
  std::vector<double> link_count_scratch_;
  std::vector<hardware::LinkId> touched_scratch_;
  bool reschedule_pending_ = false;
  TimePoint reschedule_time_;
  std::uint64_t flow_version_ = 0;
};

void Replayer::setup() {
  const auto& programs = *in_.programs;
  const auto& layout = *in_.layout;
  DTSIM_CHECK(static_cast<int>(programs.size()) == layout.num_classes(), "one program per pipeline stage");
  infos_.reserve(programs.size());
  for (const auto& p : programs) infos_.push_back(analyse(p, *in_.cost, in_));

  std::vector<int> simulated;
  if (in_.symmetric) {
    for (int s = 0; s < layout.num_classes(); ++s) simulated.push_back(layout.rank_of({0, 0, s}));
    std::sort(simulated.begin(), simulated.end());
  } else {
    for (int r = 0; r < layout.world_size(); ++r) simulated.push_back(r);
  }
  sim_index_.assign(static_cast<std::size_t>(layout.world_size()), -1);
  ranks_.resize(simulated.size());
  for (std::size_t i = 0; i < simulated.size(); ++i) {
    RankState& rs = ranks_[i];
    rs.rank = simulated[i];
    rs.stage = layout.class_of(rs.rank);
    rs.info = &infos_[static_cast<std::size_t>(rs.stage)];
    const std::size_t n = rs.info->program->size();
    rs.deps_left = rs.info->dep_count;
    rs.deps_ready.assign(n, TimePoint::start());
    rs.dep_cause.assign(n, TaskCause{});
    for (int k = 0; k < models::kGroupKindCount; ++k) {
      rs.group[static_cast<std::size_t>(k)] = layout.group_of(static_cast<GroupKind>(k), rs.rank);
    }
    rs.trace.rank = rs.rank;
    rs.trace.stage = rs.stage;
    rs.trace.start.assign(n, TimePoint::start());
    rs.trace.end.assign(n, TimePoint::start());
    rs.trace.rendezvous.assign(n, TimePoint::start());
    rs.trace.cause.assign(n, TaskCause{});
    sim_index_[static_cast<std::size_t>(rs.rank)] = static_cast<std::int32_t>(i);
  }
  for (RankState& rs : ranks_) {
    for (std::size_t k = 0; k < static_cast<std::size_t>(models::kGroupKindCount); ++k) {
      rs.simulated_in_group[k] = static_cast<std::size_t>(std::count_if(
          rs.group[k].begin(), rs.group[k].end(), [&](int m) { return sim_index_[static_cast<std::size_t>(m)] >= 0; }));
    }
  }
  link_count_scratch_.assign(in_.topology->num_links(), 0.0);
}

ReplayResult Replayer::run() {
  setup();
  for (std::uint32_t sr = 0; sr < ranks_.size(); ++sr) {
    for (int s = 0; s < models::kStreamCount; ++s) try_start(sr, static_cast<StreamKind>(s));
  }
  engine_.run(in_.event_limit);

  ReplayResult out;
  for (auto& rs : ranks_) {
    const std::size_t n = rs.info->program->size();
    if (rs.done != n) {
      // Name the first task that never ran on each stream: that is where the
      // replay is stuck (a collective or transfer whose peer never arrived).
      std::ostringstream os;
      os << "replay deadlocked: rank " << rs.rank << " (stage " << rs.stage << ") finished " << rs.done << " of " << n
         << " tasks;";
      for (int s = 0; s < models::kStreamCount; ++s) {
        const auto& st = rs.info->stream_tasks[static_cast<std::size_t>(s)];
        const auto h = rs.head[static_cast<std::size_t>(s)];
        if (h < st.size()) {
          const Task& t = rs.info->program->tasks()[st[h]];
          os << " stream " << models::to_string(static_cast<StreamKind>(s)) << " waits at task " << st[h] << " '"
             << rs.info->program->label(t) << "'";
        }
      }
      throw InternalError(os.str());
    }
    out.tasks += n;
    for (const TimePoint e : rs.trace.end) out.makespan = std::max(out.makespan, e);
  }
  out.events = engine_.events_processed();
  out.algorithm_choices = algorithms_.evaluations();
  out.ranks.reserve(ranks_.size());
  for (auto& rs : ranks_) out.ranks.push_back(std::move(rs.trace));
  return out;
}

void Replayer::try_start(std::uint32_t sr, StreamKind stream) {
  RankState& rs = ranks_[sr];
  const auto s = static_cast<std::size_t>(stream);
  if (rs.busy[s]) return;
  const auto& st = rs.info->stream_tasks[s];
  const std::uint32_t h = rs.head[s];
  if (h >= st.size()) return;
  const TaskId t = st[h];
  if (rs.deps_left[t] != 0) return;
  if (const TimePoint issued = rs.info->issued_at[t]; issued > engine_.now()) {
    if (!rs.wake_pending[s]) {
      rs.wake_pending[s] = true;
      engine_.schedule_at(issued, EventPriority::kStart, host_issued_, (static_cast<std::uint64_t>(sr) << 32) | s);
    }
    return;
  }
  start_task(sr, t);
}

void Replayer::start_task(std::uint32_t sr, TaskId t) {
  RankState& rs = ranks_[sr];
  const Task& task = rs.info->program->tasks()[t];
  const auto s = static_cast<std::size_t>(task.stream);
  rs.busy[s] = true;
  const TimePoint now = engine_.now();
  rs.trace.start[t] = now;
  rs.trace.rendezvous[t] = now;  // moved later by a collective or transfer that waits for peers
  // The cause is whichever came last: the dependency that made the task
  // ready, or the previous task of the stream freeing it.
  const std::uint32_t pos = rs.info->position_in_stream[t];
  TaskCause cause = rs.dep_cause[t];
  if (pos > 0) {
    const TaskId prev = rs.info->stream_tasks[s][pos - 1];
    if (cause.sim_rank < 0 || rs.trace.end[prev] > rs.deps_ready[t]) cause = TaskCause{static_cast<std::int32_t>(sr), prev};
  }
  rs.trace.cause[t] = cause;

  switch (task.kind) {
    case TaskKind::kCompute: {
      Duration d = rs.info->compute_time[t];
      // NCCL kernels in flight on this GPU take SMs and bandwidth from it
      // (OverlapParams); decided at start, for the whole kernel.
      const bool comm_in_flight = rs.busy[static_cast<std::size_t>(StreamKind::kTensorComm)] ||
                                  rs.busy[static_cast<std::size_t>(StreamKind::kDataComm)] ||
                                  rs.busy[static_cast<std::size_t>(StreamKind::kExpertComm)];
      if (comm_in_flight) {
        const OpClass c = rs.info->program->work(task).op_class;
        const bool tensor_core = c == OpClass::kGemm || c == OpClass::kAttention;
        d = seconds_to_duration(d.seconds() * (tensor_core ? in_.overlap.compute_slowdown : in_.overlap.memory_slowdown));
      }
      engine_.schedule_after(d, EventPriority::kCompletion, compute_done_, (static_cast<std::uint64_t>(sr) << 32) | t);
      break;
    }
    case TaskKind::kCollective:
      arrive_collective(sr, t);
      break;
    case TaskKind::kSend:
    case TaskKind::kRecv:
      arrive_p2p(sr, t);
      break;
  }
}

void Replayer::finish_task(std::uint32_t sr, TaskId t) {
  RankState& rs = ranks_[sr];
  const Task& task = rs.info->program->tasks()[t];
  const TimePoint now = engine_.now();
  rs.trace.end[t] = now;
  ++rs.done;
  const auto s = static_cast<std::size_t>(task.stream);
  rs.busy[s] = false;
  ++rs.head[s];
  const auto& info = *rs.info;
  for (std::uint32_t i = info.dependents_begin[t]; i < info.dependents_begin[t + 1]; ++i) {
    const TaskId d = info.dependents[i];
    if (--rs.deps_left[d] == 0) {
      rs.deps_ready[d] = now;
      rs.dep_cause[d] = TaskCause{static_cast<std::int32_t>(sr), t};
      try_start(sr, info.program->tasks()[d].stream);
    }
  }
  try_start(sr, task.stream);
}

std::vector<int> Replayer::ranks_of_stage(int stage) const {
  const auto& layout = *in_.layout;
  std::vector<int> out;
  out.reserve(static_cast<std::size_t>(layout.world_size() / layout.num_classes()));
  for (int r = 0; r < layout.world_size(); ++r) {
    if (layout.class_of(r) == stage) out.push_back(r);
  }
  return out;
}

void Replayer::arrive_collective(std::uint32_t sr, TaskId t) {
  RankState& rs = ranks_[sr];
  const Task& task = rs.info->program->tasks()[t];
  const models::CollectiveOp& op = rs.info->program->collective(task);
  const auto k = static_cast<std::size_t>(op.group);
  const std::vector<int>& group = rs.group[k];
  if (group.size() <= 1) {  // a group of one: nothing to exchange
    engine_.schedule_after(Duration::zero(), EventPriority::kCompletion, compute_done_,
                           (static_cast<std::uint64_t>(sr) << 32) | t);
    return;
  }
  const std::uint32_t seq = rs.collective_seq[k]++;
  const std::uint64_t key = pack_collective_key(op.group, group.front(), seq);
  Rendezvous& rv = collectives_waiting_[key];
  rv.arrived.push_back(Participant{sr, t});
  if (rv.arrived.size() < rs.simulated_in_group[k]) return;

  std::vector<Participant> participants = std::move(rv.arrived);
  collectives_waiting_.erase(key);
  // Every participant must have issued the same collective.
  for (const Participant& p : participants) {
    const RankState& o = ranks_[p.sim_rank];
    const auto& oop = o.info->program->collective(o.info->program->tasks()[p.task]);
    DTSIM_CHECK(oop.kind == op.kind && oop.bytes == op.bytes,
                "ranks of one group issued different collectives at the same position");
  }
  hardware::CollectivePlan plan = algorithms_.plan(op, group);
  if (op.kind == CollectiveKind::kAllToAll) keep_leader_transfers(plan, group);
  const RoutedPlan* routed = routed_collective(plan, op.group, group, op, rs.stage);
  // Last arrival enables everyone: record it as the cause of the others,
  // and now as the moment every member's collective could begin.
  const Participant last = participants.back();
  for (const Participant& p : participants) {
    ranks_[p.sim_rank].trace.rendezvous[p.task] = engine_.now();
    if (p.sim_rank == last.sim_rank && p.task == last.task) continue;
    ranks_[p.sim_rank].trace.cause[p.task] = TaskCause{static_cast<std::int32_t>(last.sim_rank), last.task};
  }
  launch_comm(std::move(plan), routed, std::move(participants));
}

void Replayer::arrive_p2p(std::uint32_t sr, TaskId t) {
  RankState& rs = ranks_[sr];
  const Task& task = rs.info->program->tasks()[t];
  const models::P2POp& op = rs.info->program->p2p(task);
  const int peer = in_.layout->peer_in_stage(rs.rank, op.peer_stage);
  DTSIM_CHECK(sim_index_[static_cast<std::size_t>(peer)] >= 0, "send/recv peer is not simulated");
  const bool sending = task.kind == TaskKind::kSend;
  const P2PKey key{sending ? rs.rank : peer, sending ? peer : rs.rank, op.match_key};
  Rendezvous& rv = p2p_waiting_[key];
  rv.arrived.push_back(Participant{sr, t});
  if (rv.arrived.size() < 2) return;
  std::vector<Participant> participants = std::move(rv.arrived);
  p2p_waiting_.erase(key);
  const RankState& a = ranks_[participants[0].sim_rank];
  const RankState& b = ranks_[participants[1].sim_rank];
  const Task& ta = a.info->program->tasks()[participants[0].task];
  const Task& tb = b.info->program->tasks()[participants[1].task];
  DTSIM_CHECK(ta.kind != tb.kind, "two sends (or two recvs) matched the same key");
  DTSIM_CHECK(a.info->program->p2p(ta).bytes == b.info->program->p2p(tb).bytes, "send and recv sizes differ");
  const std::array<int, 2> ends{key.src, key.dst};
  hardware::CollectivePlan plan = hardware::plan_collective(CollectiveKind::kSendRecv, ends, op.bytes, *in_.topology,
                                                            in_.collective_params, hardware::CollectiveAlgorithm::kDirect);
  const RoutedPlan* routed = routed_p2p(plan, key.src, key.dst);
  const Participant last = participants.back();
  const Participant first = participants.front();
  ranks_[first.sim_rank].trace.cause[first.task] = TaskCause{static_cast<std::int32_t>(last.sim_rank), last.task};
  ranks_[first.sim_rank].trace.rendezvous[first.task] = engine_.now();  // the last one's is its start already
  launch_comm(std::move(plan), routed, std::move(participants));
}

void Replayer::keep_leader_transfers(hardware::CollectivePlan& plan, const std::vector<int>& group) const {
  // An all-to-all has p(p-1) transfers, and the flow network's cost grows with
  // its flows (DeepSeek-V3's EP 64: 4,032 per exchange). When every node holds
  // the same number of members, every member's transfers see the same links
  // as the leader's, so the leader's alone, weighted by everyone's traffic on
  // each link (weigh_stage), finish when the whole exchange would.
  if (!in_.symmetric || group.size() < 3) return;
  std::map<int, int> per_node;
  for (const int gpu : group) ++per_node[in_.topology->node_of(gpu)];
  for (const auto& [node, members] : per_node) {
    if (members != per_node.begin()->second) return;
  }
  for (auto& stage : plan.stages) {
    std::erase_if(stage.transfers, [&](const hardware::Transfer& t) { return t.src != group.front(); });
  }
}

void Replayer::route_stage(const hardware::CollectiveStage& stage, RoutedStage& out) const {
  out.endpoints.clear();
  out.paths.clear();
  out.weights.clear();
  for (const auto& tr : stage.transfers) {
    out.endpoints.emplace_back(tr.src, tr.dst);
    std::vector<hardware::LinkId> path;
    if (tr.src != tr.dst) in_.topology->route(tr.src, tr.dst, path);
    out.paths.push_back(std::move(path));
  }
}

void Replayer::weigh_stage(RoutedStage& rep, const std::vector<const hardware::CollectiveStage*>& siblings) {
  // weight on link l = (transfers of all siblings crossing l) / (representative
  // transfers crossing l). Counted with scratch arrays sized to the link count.
  auto& count = link_count_scratch_;
  touched_scratch_.clear();
  std::vector<hardware::LinkId> path;
  for (const auto* st : siblings) {
    for (const auto& tr : st->transfers) {
      if (tr.src == tr.dst) continue;
      path.clear();
      in_.topology->route(tr.src, tr.dst, path);
      for (const auto l : path) {
        if (count[l] == 0.0) touched_scratch_.push_back(l);
        count[l] += 1.0;
      }
    }
  }
  std::unordered_map<hardware::LinkId, double> rep_count;
  for (const auto& p : rep.paths)
    for (const auto l : p) rep_count[l] += 1.0;
  rep.weights.resize(rep.paths.size());
  for (std::size_t i = 0; i < rep.paths.size(); ++i) {
    auto& w = rep.weights[i];
    w.clear();
    for (const auto l : rep.paths[i]) w.push_back(std::max(1.0, count[l] / rep_count[l]));
  }
  for (const auto l : touched_scratch_) count[l] = 0.0;
}

const RoutedPlan* Replayer::routed_collective(const hardware::CollectivePlan& plan, GroupKind kind,
                                              const std::vector<int>& group, models::CollectiveOp op, int stage) {
  const auto key = std::make_tuple(0, static_cast<int>(kind) * 64 + static_cast<int>(op.kind), group.front(),
                                   static_cast<int>(plan.algorithm), 0);
  auto& slot = routed_cache_[key];
  if (slot) {
    // Transfer patterns depend on the algorithm, not on the byte count.
    DTSIM_CHECK(slot->stages.size() == plan.stages.size(), "cached collective pattern changed shape");
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
      const auto& tr = plan.stages[i].transfers;
      DTSIM_CHECK(tr.size() == slot->stages[i].endpoints.size(), "cached collective pattern changed size");
      for (std::size_t j = 0; j < tr.size(); ++j) {
        DTSIM_CHECK(tr[j].src == slot->stages[i].endpoints[j].first && tr[j].dst == slot->stages[i].endpoints[j].second,
                    "cached collective pattern changed endpoints");
      }
    }
    return slot.get();
  }
  slot = std::make_unique<RoutedPlan>();
  slot->stages.resize(plan.stages.size());
  for (std::size_t i = 0; i < plan.stages.size(); ++i) route_stage(plan.stages[i], slot->stages[i]);
  if (in_.symmetric) {
    // Siblings: the same collective on every group of this kind that holds
    // ranks of this stage, all running at the same time.
    std::vector<std::vector<int>> groups;
    std::vector<int> leaders_seen;
    for (const int r : ranks_of_stage(stage)) {
      std::vector<int> g = in_.layout->group_of(kind, r);
      if (std::find(leaders_seen.begin(), leaders_seen.end(), g.front()) != leaders_seen.end()) continue;
      leaders_seen.push_back(g.front());
      groups.push_back(std::move(g));
    }
    std::vector<hardware::CollectivePlan> sibling_plans;
    sibling_plans.reserve(groups.size());
    for (const auto& g : groups) {
      sibling_plans.push_back(
          hardware::plan_collective(op.kind, g, op.bytes, *in_.topology, in_.collective_params, plan.algorithm));
    }
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
      std::vector<const hardware::CollectiveStage*> sib;
      for (const auto& sp : sibling_plans) {
        DTSIM_CHECK(sp.stages.size() == plan.stages.size(), "sibling collectives decompose differently");
        sib.push_back(&sp.stages[i]);
      }
      weigh_stage(slot->stages[i], sib);
    }
  }
  return slot.get();
}

const RoutedPlan* Replayer::routed_p2p(const hardware::CollectivePlan& plan, int src_rank, int dst_rank) {
  const auto key = std::make_tuple(1, src_rank, dst_rank, 0, 0);
  auto& slot = routed_cache_[key];
  if (slot) return slot.get();
  slot = std::make_unique<RoutedPlan>();
  slot->stages.resize(plan.stages.size());
  for (std::size_t i = 0; i < plan.stages.size(); ++i) route_stage(plan.stages[i], slot->stages[i]);
  if (in_.symmetric && !plan.stages.empty()) {
    // Siblings: every rank of the sender's stage sends to its peer at once.
    const auto& layout = *in_.layout;
    const int dst_stage = layout.class_of(dst_rank);
    std::vector<hardware::CollectiveStage> sib_stages;
    for (const int r : ranks_of_stage(layout.class_of(src_rank))) {
      hardware::CollectiveStage st;
      st.transfers.push_back(hardware::Transfer{r, layout.peer_in_stage(r, dst_stage), 1.0});
      sib_stages.push_back(std::move(st));
    }
    std::vector<const hardware::CollectiveStage*> sib;
    for (const auto& st : sib_stages) sib.push_back(&st);
    for (auto& st : slot->stages) weigh_stage(st, sib);
  }
  return slot.get();
}

void Replayer::launch_comm(hardware::CollectivePlan plan, const RoutedPlan* routed,
                           std::vector<Participant> participants) {
  std::uint32_t id;
  if (!free_comms_.empty()) {
    id = free_comms_.back();
    free_comms_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(comms_.size());
    comms_.emplace_back();
  }
  ActiveComm& c = comms_[id];
  c.plan = std::move(plan);
  c.routed = routed;
  c.stage = 0;
  c.pending_flows = 0;
  c.participants = std::move(participants);
  c.live = true;
  begin_stage(id);
}

void Replayer::begin_stage(std::uint32_t comm) {
  ActiveComm& c = comms_[comm];
  if (c.stage >= c.plan.stages.size()) {
    // Done: every participant's task completes now.
    std::vector<Participant> parts = std::move(c.participants);
    c.live = false;
    free_comms_.push_back(comm);
    for (const Participant& p : parts) finish_task(p.sim_rank, p.task);
    return;
  }
  const Duration latency = c.plan.stages[c.stage].latency;
  if (latency > Duration::zero()) {
    engine_.schedule_after(latency, EventPriority::kCompletion, comm_latency_, comm);
  } else {
    start_stage_flows(comm);
  }
}

void Replayer::start_stage_flows(std::uint32_t comm) {
  ActiveComm& c = comms_[comm];
  const auto& stage = c.plan.stages[c.stage];
  const RoutedStage& routed = c.routed->stages[c.stage];
  network_.advance_to(engine_.now());
  c.pending_flows = 0;
  for (std::size_t i = 0; i < stage.transfers.size(); ++i) {
    const auto& tr = stage.transfers[i];
    if (tr.bytes <= 0.0 || routed.paths[i].empty()) continue;
    const std::span<const double> w =
        routed.weights.empty() ? std::span<const double>() : std::span<const double>(routed.weights[i]);
    network_.add_flow(routed.paths[i], w, tr.bytes, comm);
    ++c.pending_flows;
  }
  if (c.pending_flows == 0) {
    finish_stage(comm);
    return;
  }
  request_reschedule();
}

void Replayer::finish_stage(std::uint32_t comm) {
  ++comms_[comm].stage;
  begin_stage(comm);
}

void Replayer::request_reschedule() {
  if (reschedule_pending_ && reschedule_time_ == engine_.now()) return;
  reschedule_pending_ = true;
  reschedule_time_ = engine_.now();
  engine_.schedule_after(Duration::zero(), EventPriority::kReschedule, reschedule_, 0);
}

void Replayer::on_reschedule() {
  reschedule_pending_ = false;
  network_.advance_to(engine_.now());
  network_.recompute_rates();
  ++flow_version_;  // any tick scheduled before this change is stale
  if (const auto next = network_.next_completion()) {
    engine_.schedule_at(*next, EventPriority::kCompletion, flow_tick_, flow_version_);
  }
}

void Replayer::on_flow_tick(std::uint64_t version) {
  if (version != flow_version_) return;
  network_.advance_to(engine_.now());
  finished_scratch_.clear();
  network_.collect_finished(finished_scratch_);
  // Collected before acting: finishing a stage may add flows, but only a later
  // tick collects again, so finished_scratch_ is stable during this loop.
  for (const std::uint64_t owner : finished_scratch_) {
    const auto comm = static_cast<std::uint32_t>(owner);
    ActiveComm& c = comms_[comm];
    DTSIM_CHECK(c.live && c.pending_flows > 0, "flow finished for a communication not in flight");
    if (--c.pending_flows == 0) finish_stage(comm);
  }
  request_reschedule();
}

}  // namespace

ReplayResult replay(const ReplayInputs& in) {
  DTSIM_CHECK(in.programs && in.layout && in.topology && in.cost, "replay inputs are incomplete");
  Replayer r(in);
  return r.run();
}

}  // namespace dtsim::sim
