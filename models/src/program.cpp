#include "dtsim/models/program.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "dtsim/core/error.hpp"

// Boost.Graph stays private to this file: embedders of dtsim::models never see it.
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>

namespace dtsim::models {
namespace {

bool is_send_stream(StreamKind s) {
  return s == StreamKind::kSendForward || s == StreamKind::kSendBackward || s == StreamKind::kSendForwardReverse ||
         s == StreamKind::kSendBackwardReverse;
}
bool is_recv_stream(StreamKind s) {
  return s == StreamKind::kRecvForward || s == StreamKind::kRecvBackward || s == StreamKind::kRecvForwardReverse ||
         s == StreamKind::kRecvBackwardReverse;
}

// The receiving end's stream of a send stream's channel, and back.
StreamKind recv_stream_of(StreamKind send) {
  switch (send) {
    case StreamKind::kSendForward: return StreamKind::kRecvForward;
    case StreamKind::kSendForwardReverse: return StreamKind::kRecvForwardReverse;
    case StreamKind::kSendBackwardReverse: return StreamKind::kRecvBackwardReverse;
    default: return StreamKind::kRecvBackward;
  }
}
StreamKind send_stream_of(StreamKind recv) {
  switch (recv) {
    case StreamKind::kRecvForward: return StreamKind::kSendForward;
    case StreamKind::kRecvForwardReverse: return StreamKind::kSendForwardReverse;
    case StreamKind::kRecvBackwardReverse: return StreamKind::kSendBackwardReverse;
    default: return StreamKind::kSendBackward;
  }
}
bool is_collective_stream(StreamKind s) {
  return s == StreamKind::kTensorComm || s == StreamKind::kDataComm || s == StreamKind::kExpertComm;
}

bool stream_fits(TaskKind kind, StreamKind s) {
  switch (kind) {
    case TaskKind::kCompute: return s == StreamKind::kCompute;
    case TaskKind::kCollective: return is_collective_stream(s);
    case TaskKind::kSend: return is_send_stream(s);
    case TaskKind::kRecv: return is_recv_stream(s);
  }
  return false;
}

std::string_view to_string(TaskKind k) {
  switch (k) {
    case TaskKind::kCompute: return "compute";
    case TaskKind::kCollective: return "collective";
    case TaskKind::kSend: return "send";
    case TaskKind::kRecv: return "recv";
  }
  return "?";
}

std::string task_path(std::string_view prefix, std::size_t i) {
  return std::string(prefix) + "/tasks/" + std::to_string(i);
}

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// Records the first back edge a depth-first search meets: an edge on a cycle.
struct BackEdgeRecorder : boost::default_dfs_visitor {
  explicit BackEdgeRecorder(std::pair<Vertex, Vertex>* out, bool* found) : out_(out), found_(found) {}
  template <class Edge, class G>
  void back_edge(Edge e, const G& g) {
    if (!*found_) {
      *out_ = {boost::source(e, g), boost::target(e, g)};
      *found_ = true;
    }
  }
  std::pair<Vertex, Vertex>* out_;
  bool* found_;
};

// Returns a vertex on a cycle of `g`, or false when `g` is a DAG.
bool find_cycle(const Graph& g, Vertex& on_cycle) {
  std::vector<Vertex> order;
  order.reserve(boost::num_vertices(g));
  try {
    boost::topological_sort(g, std::back_inserter(order));
    return false;
  } catch (const boost::not_a_dag&) {
    // Locate one edge of the cycle for the diagnostic.
    std::pair<Vertex, Vertex> edge{};
    bool found = false;
    boost::depth_first_search(g, boost::visitor(BackEdgeRecorder(&edge, &found)));
    DTSIM_CHECK(found, "topological sort found a cycle that depth-first search did not");
    on_cycle = edge.second;
    return true;
  }
}

// Structural problems of one program (indices, streams); does not look for cycles.
void check_structure(const Program& p, std::string_view prefix, std::vector<Diagnostic>& out) {
  const auto& tasks = p.tasks();
  // The replay numbers collectives per group kind in arrival order: all of one kind on one stream.
  std::array<int, kGroupKindCount> group_stream{};
  group_stream.fill(-1);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (!stream_fits(t.kind, t.stream)) {
      out.push_back({task_path(prefix, i), "a " + std::string(to_string(t.kind)) + " task on stream '" +
                                               std::string(to_string(t.stream)) +
                                               "'; expected a stream for its kind"});
    }
    for (const TaskId d : p.deps_of(t)) {
      if (d >= i) {
        out.push_back({task_path(prefix, i), "depends on task " + std::to_string(d) +
                                                 "; expected a dependency on an earlier task"});
      }
    }
    if (t.kind == TaskKind::kCollective) {
      const auto g = static_cast<std::size_t>(p.collective(t).group);
      const int s = static_cast<int>(t.stream);
      if (g < group_stream.size()) {
        if (group_stream[g] < 0) group_stream[g] = s;
        if (group_stream[g] != s) {
          out.push_back({task_path(prefix, i),
                         "a " + std::string(to_string(p.collective(t).group)) + " collective on stream '" +
                             std::string(to_string(t.stream)) + "' while earlier ones use '" +
                             std::string(to_string(static_cast<StreamKind>(group_stream[g]))) +
                             "'; expected one stream per group kind"});
        }
      }
    }
  }
}

// Adds dependency and stream-order edges of program `p`, whose task i is vertex rep[base + i].
void add_program_edges(const Program& p, std::size_t base, const std::vector<Vertex>& rep, Graph& g) {
  std::array<std::int64_t, kStreamCount> last_on_stream;
  last_on_stream.fill(-1);
  const auto& tasks = p.tasks();
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    const Vertex v = rep[base + i];
    for (const TaskId d : p.deps_of(t)) {
      if (d < tasks.size()) boost::add_edge(rep[base + d], v, g);
    }
    auto& prev = last_on_stream[static_cast<std::size_t>(t.stream)];
    if (prev >= 0) boost::add_edge(rep[base + static_cast<std::size_t>(prev)], v, g);
    prev = static_cast<std::int64_t>(i);
  }
}

struct EndKey {
  int src = 0;
  int dst = 0;
  std::uint64_t match = 0;
  bool operator==(const EndKey&) const = default;
};
struct EndKeyHash {
  std::size_t operator()(const EndKey& k) const {
    std::uint64_t h = k.match * 0x9E3779B97F4A7C15ull;
    h ^= (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.src)) << 32) ^
         static_cast<std::uint32_t>(k.dst);
    return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9ull);
  }
};

}  // namespace

std::string_view to_string(StreamKind s) {
  switch (s) {
    case StreamKind::kCompute: return "compute";
    case StreamKind::kTensorComm: return "tensor_comm";
    case StreamKind::kDataComm: return "data_comm";
    case StreamKind::kSendForward: return "send_forward";
    case StreamKind::kSendBackward: return "send_backward";
    case StreamKind::kRecvForward: return "recv_forward";
    case StreamKind::kRecvBackward: return "recv_backward";
    case StreamKind::kSendForwardReverse: return "send_forward_reverse";
    case StreamKind::kSendBackwardReverse: return "send_backward_reverse";
    case StreamKind::kRecvForwardReverse: return "recv_forward_reverse";
    case StreamKind::kRecvBackwardReverse: return "recv_backward_reverse";
    case StreamKind::kExpertComm: return "expert_comm";
  }
  return "?";
}

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::kForward: return "forward";
    case Phase::kBackward: return "backward";
    case Phase::kRecompute: return "recompute";
    case Phase::kOptimizer: return "optimizer";
    case Phase::kTensorComm: return "tensor_comm";
    case Phase::kGradientSync: return "gradient_sync";
    case Phase::kParameterSync: return "parameter_sync";
    case Phase::kPipelineComm: return "pipeline_comm";
    case Phase::kExpertComm: return "expert_comm";
    case Phase::kContextComm: return "context_comm";
  }
  return "?";
}

TaskId Program::add_compute(const ComputeWork& work, Phase phase, std::string_view label,
                            std::span<const TaskId> deps, std::int32_t microbatch, std::int32_t layer,
                            std::int16_t chunk) {
  Task t;
  t.kind = TaskKind::kCompute;
  t.stream = StreamKind::kCompute;
  t.phase = phase;
  t.payload = intern_work(work);
  t.microbatch = microbatch;
  t.layer = layer;
  t.chunk = chunk;
  return add_task(t, label, deps);
}

TaskId Program::add_collective(const CollectiveOp& op, StreamKind stream, Phase phase, std::string_view label,
                               std::span<const TaskId> deps, std::int32_t microbatch, std::int32_t layer,
                               std::int16_t chunk) {
  DTSIM_CHECK(is_collective_stream(stream), "a collective must run on kTensorComm, kDataComm or kExpertComm");
  Task t;
  t.kind = TaskKind::kCollective;
  t.stream = stream;
  t.phase = phase;
  t.payload = static_cast<std::uint32_t>(collectives_.size());
  t.microbatch = microbatch;
  t.layer = layer;
  t.chunk = chunk;
  collectives_.push_back(op);
  return add_task(t, label, deps);
}

TaskId Program::add_send(const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                         std::span<const TaskId> deps, std::int32_t microbatch, std::int16_t chunk) {
  DTSIM_CHECK(is_send_stream(stream), "a send must run on a send stream");
  return add_p2p(TaskKind::kSend, op, stream, phase, label, deps, microbatch, chunk);
}

TaskId Program::add_recv(const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                         std::span<const TaskId> deps, std::int32_t microbatch, std::int16_t chunk) {
  DTSIM_CHECK(is_recv_stream(stream), "a recv must run on a recv stream");
  return add_p2p(TaskKind::kRecv, op, stream, phase, label, deps, microbatch, chunk);
}

TaskId Program::add_p2p(TaskKind kind, const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                        std::span<const TaskId> deps, std::int32_t microbatch, std::int16_t chunk) {
  Task t;
  t.kind = kind;
  t.stream = stream;
  t.phase = phase;
  t.payload = static_cast<std::uint32_t>(p2ps_.size());
  t.microbatch = microbatch;
  t.chunk = chunk;
  p2ps_.push_back(op);
  return add_task(t, label, deps);
}

TaskId Program::add_task(Task t, std::string_view label, std::span<const TaskId> deps) {
  const auto id = static_cast<TaskId>(tasks_.size());
  DTSIM_CHECK(tasks_.size() < UINT32_MAX, "program has too many tasks");
  for (const TaskId d : deps) {
    // The replay's semantics (and its deadlock freedom within a program) rest on this.
    DTSIM_CHECK(d < id, "a dependency must point to an earlier task");
  }
  t.deps_begin = static_cast<std::uint32_t>(deps_.size());
  t.deps_count = static_cast<std::uint32_t>(deps.size());
  deps_.insert(deps_.end(), deps.begin(), deps.end());
  t.label = intern_label(label);
  tasks_.push_back(t);
  return id;
}

std::size_t Program::WorkHash::operator()(const ComputeWork& w) const {
  // Equal works hash equal; fields left out only cost collisions, which
  // operator== resolves.
  std::size_t h = static_cast<std::size_t>(w.op_class) * 0x9E3779B97F4A7C15ull;
  const auto mix = [&h](std::int64_t v) { h = (h ^ static_cast<std::size_t>(v)) * 0x100000001B3ull; };
  mix(std::bit_cast<std::int64_t>(w.flops.count()));
  mix(w.bytes_read.count());
  mix(w.bytes_written.count());
  if (w.gemm) {
    mix(w.gemm->m);
    mix(w.gemm->n);
    mix(w.gemm->k);
  }
  return h;
}

std::uint32_t Program::intern_work(const ComputeWork& work) {
  const auto [it, fresh] = work_index_.try_emplace(work, static_cast<std::uint32_t>(works_.size()));
  if (fresh) works_.push_back(work);
  return it->second;
}

std::uint32_t Program::intern_label(std::string_view label) {
  // Indices follow first use, so the same building order gives the same table.
  const auto it = label_index_.find(label);
  if (it != label_index_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(labels_.size());
  labels_.emplace_back(label);
  label_index_.emplace(std::string(label), index);
  return index;
}

Flops Program::total_flops() const {
  Flops sum;
  for (const Task& t : tasks_) {
    if (t.kind == TaskKind::kCompute) sum += works_[t.payload].flops;
  }
  return sum;
}

Flops Program::total_flops(Phase phase) const {
  Flops sum;
  for (const Task& t : tasks_) {
    if (t.kind == TaskKind::kCompute && t.phase == phase) sum += works_[t.payload].flops;
  }
  return sum;
}

std::vector<Diagnostic> check_program(const Program& program) {
  std::vector<Diagnostic> out;
  check_structure(program, "", out);
  if (!out.empty()) return out;
  const std::size_t n = program.size();
  std::vector<Vertex> rep(n);
  for (std::size_t i = 0; i < n; ++i) rep[i] = i;
  Graph g(n);
  add_program_edges(program, 0, rep, g);
  Vertex v = 0;
  if (find_cycle(g, v)) {
    out.push_back({task_path("", v), "lies on a dependency cycle; expected a DAG"});
  }
  return out;
}

std::vector<Diagnostic> check_programs(std::span<const Program> programs) {
  std::vector<Diagnostic> out;
  const int stages = static_cast<int>(programs.size());
  std::vector<std::size_t> base(programs.size() + 1, 0);
  for (std::size_t s = 0; s < programs.size(); ++s) {
    const std::string prefix = "/programs/" + std::to_string(s);
    check_structure(programs[s], prefix, out);
    base[s + 1] = base[s] + programs[s].size();
  }
  if (!out.empty()) return out;

  // Index every send by (src stage, dst stage, key).
  struct End {
    int stage = 0;
    TaskId task = 0;
    bool matched = false;
  };
  std::unordered_map<EndKey, End, EndKeyHash> sends;
  for (int s = 0; s < stages; ++s) {
    const Program& p = programs[static_cast<std::size_t>(s)];
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Task& t = p.tasks()[i];
      if (t.kind != TaskKind::kSend) continue;
      const P2POp& op = p.p2p(t);
      const std::string path = task_path("/programs/" + std::to_string(s), i);
      if (op.peer_stage < 0 || op.peer_stage >= stages || op.peer_stage == s) {
        out.push_back({path, "sends to stage " + std::to_string(op.peer_stage) + "; expected another stage in 0.." +
                                 std::to_string(stages - 1)});
        continue;
      }
      const auto [it, fresh] = sends.try_emplace(EndKey{s, op.peer_stage, op.match_key},
                                                 End{s, static_cast<TaskId>(i), false});
      if (!fresh) {
        out.push_back({path, "a second send to stage " + std::to_string(op.peer_stage) + " with match_key " +
                                 std::to_string(op.match_key) + "; expected one send per key"});
      }
    }
  }

  // Match each recv; a matched pair becomes one vertex (the send's).
  std::vector<Vertex> rep(base.back());
  for (std::size_t i = 0; i < rep.size(); ++i) rep[i] = i;
  // Per channel (sender stage, sender stream, receiver stage, receiver stream): keys in order at each end.
  std::map<std::tuple<int, int, int, int>, std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>>> channels;
  for (int s = 0; s < stages; ++s) {
    const Program& p = programs[static_cast<std::size_t>(s)];
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Task& t = p.tasks()[i];
      if (t.kind != TaskKind::kRecv) continue;
      const P2POp& op = p.p2p(t);
      const std::string path = task_path("/programs/" + std::to_string(s), i);
      const auto it = sends.find(EndKey{op.peer_stage, s, op.match_key});
      if (it == sends.end()) {
        out.push_back({path, "receives match_key " + std::to_string(op.match_key) + " from stage " +
                                 std::to_string(op.peer_stage) + "; expected a send with that key there"});
        continue;
      }
      End& e = it->second;
      if (e.matched) {
        out.push_back({path, "a second recv of match_key " + std::to_string(op.match_key) +
                                 "; expected one recv per send"});
        continue;
      }
      e.matched = true;
      const Program& sp = programs[static_cast<std::size_t>(e.stage)];
      const Task& st = sp.tasks()[e.task];
      const StreamKind want = recv_stream_of(st.stream);
      if (t.stream != want) {
        out.push_back({path, "receives on '" + std::string(to_string(t.stream)) + "' what stage " +
                                 std::to_string(e.stage) + " sends on '" + std::string(to_string(st.stream)) +
                                 "'; expected '" + std::string(to_string(want)) + "'"});
      }
      if (sp.p2p(st).bytes != op.bytes) {
        out.push_back({path, "receives " + std::to_string(op.bytes.count()) + " B but the send carries " +
                                 std::to_string(sp.p2p(st).bytes.count()) + " B; expected equal sizes"});
      }
      rep[base[static_cast<std::size_t>(s)] + i] = base[static_cast<std::size_t>(e.stage)] + e.task;
    }
  }
  for (const auto& [key, end] : sends) {
    if (!end.matched) {
      out.push_back({task_path("/programs/" + std::to_string(end.stage), end.task),
                     "sends match_key " + std::to_string(key.match) + " to stage " + std::to_string(key.dst) +
                         " but no recv there has it; expected exactly one"});
    }
  }
  if (!out.empty()) {
    // Unordered-map iteration above must not make the output order depend on hashing.
    std::sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return a.path != b.path ? a.path < b.path : a.message < b.message;
    });
    return out;
  }

  // Channel order: each end's stream lists the same transfers in the same order.
  for (int s = 0; s < stages; ++s) {
    const Program& p = programs[static_cast<std::size_t>(s)];
    for (const Task& t : p.tasks()) {
      if (t.kind == TaskKind::kSend) {
        const P2POp& op = p.p2p(t);
        const int rs = static_cast<int>(recv_stream_of(t.stream));
        channels[{s, static_cast<int>(t.stream), op.peer_stage, rs}].first.push_back(op.match_key);
      } else if (t.kind == TaskKind::kRecv) {
        const P2POp& op = p.p2p(t);
        const int ss = static_cast<int>(send_stream_of(t.stream));
        channels[{op.peer_stage, ss, s, static_cast<int>(t.stream)}].second.push_back(op.match_key);
      }
    }
  }
  for (const auto& [ch, keys] : channels) {
    if (keys.first != keys.second) {
      out.push_back({"/programs/" + std::to_string(std::get<0>(ch)),
                     "stage " + std::to_string(std::get<0>(ch)) + " sends on '" +
                         std::string(to_string(static_cast<StreamKind>(std::get<1>(ch)))) + "' to stage " +
                         std::to_string(std::get<2>(ch)) +
                         " in a different order than that stage receives; expected the same order at both ends"});
    }
  }
  if (!out.empty()) return out;

  Graph g(base.back());
  for (std::size_t s = 0; s < programs.size(); ++s) add_program_edges(programs[s], base[s], rep, g);
  Vertex v = 0;
  if (find_cycle(g, v)) {
    const auto it = std::upper_bound(base.begin(), base.end(), v);
    const auto stage = static_cast<std::size_t>(it - base.begin() - 1);
    out.push_back({task_path("/programs/" + std::to_string(stage), v - base[stage]),
                   "lies on a cycle of dependencies, stream order and send/recv matching; the step would "
                   "deadlock"});
  }
  return out;
}

}  // namespace dtsim::models
