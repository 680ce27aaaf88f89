// A Program is what one rank class (pipeline stage) executes in one training
// step: compute kernels, collectives over its process groups, and pipeline
// send/recv, each on a stream, with dependencies. It says *what* runs; the
// replay (sim/) asks hardware/ *how long* each piece takes.
//
// Execution semantics (the replay implements exactly this):
//  - Each task belongs to one stream. A stream runs its tasks one at a time, in
//    the order they appear in `tasks` (like a CUDA stream).
//  - A task starts when it is at the head of its stream, the stream is idle,
//    and every task in its dependency list has completed.
//  - A collective additionally waits until every member of its group has
//    reached it (NCCL semantics); a send and its matching recv start together
//    when both are ready and complete together.
//  - Dependencies point only to earlier tasks of the same program (a DAG).
//
// Byte conventions (nccl-tests "S"): all-reduce and broadcast: the buffer each
// rank holds; all-gather and reduce-scatter: the full (gathered) array;
// all-to-all: the bytes each rank sends in total; send/recv: the message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/models/rank_layout.hpp"

namespace dtsim::models {

// Pipeline traffic uses one FIFO stream per direction and end, so that each
// (sender stream, receiver stream) pair is a channel whose two ends list the
// same transfers in the same order: the replay cannot deadlock on FIFO order.
// "Forward" is toward the next stage (activations; the last stage's forward
// sends wrap to stage 0 under interleaving), "backward" toward the previous
// (gradients). DualPipe's second direction (micro-batches entering at the last
// stage) has channels of its own, the "reverse" streams: sharing a FIFO with
// the first direction's would make each direction wait on the other's order.
enum class StreamKind : std::uint8_t {
  kCompute,
  kTensorComm,
  kDataComm,
  kSendForward,
  kSendBackward,
  kRecvForward,   // receives what the previous stage sent forward
  kRecvBackward,  // receives what the next stage sent backward
  kSendForwardReverse,   // DualPipe chunk 1: activations toward the previous stage
  kSendBackwardReverse,  // DualPipe chunk 1: gradients toward the next stage
  kRecvForwardReverse,
  kRecvBackwardReverse,
  // MoE dispatch and combine all-to-alls when plan.ep_comm_overlap
  // interleaves two passes (otherwise they run on kTensorComm): one pass's
  // all-to-all must not queue behind the other's TP collectives.
  kExpertComm,
};
inline constexpr int kStreamCount = 12;
std::string_view to_string(StreamKind s);

enum class TaskKind : std::uint8_t { kCompute, kCollective, kSend, kRecv };

// What part of the step a task belongs to; drives the report's breakdown.
enum class Phase : std::uint8_t {
  kForward,
  kBackward,
  kRecompute,
  kOptimizer,
  kTensorComm,     // TP / SP collectives
  kGradientSync,   // DP all-reduce / reduce-scatter of gradients
  kParameterSync,  // ZeRO parameter all-gathers
  kPipelineComm,   // stage-to-stage activations and gradients
  kExpertComm,     // MoE dispatch and combine all-to-alls over the expert-parallel group
  kContextComm,    // context parallelism's K/V exchange over the context-parallel group
};
std::string_view to_string(Phase p);

using TaskId = std::uint32_t;

struct CollectiveOp {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  GroupKind group = GroupKind::kTensor;
  Bytes bytes;
};

// One end of a stage-to-stage transfer. The sender's and receiver's P2POp
// carry the same match_key; peer_stage is the other end's pipeline stage.
struct P2POp {
  int peer_stage = 0;
  Bytes bytes;
  std::uint64_t match_key = 0;
};

struct Task {
  TaskKind kind = TaskKind::kCompute;
  StreamKind stream = StreamKind::kCompute;
  Phase phase = Phase::kForward;
  std::uint32_t payload = 0;     // index into works, collectives or p2ps, by kind
  std::uint32_t deps_begin = 0;  // range in Program::deps
  std::uint32_t deps_count = 0;
  std::uint32_t label = 0;       // index into Program::labels ("qkv_proj", ...)
  std::int32_t microbatch = -1;  // -1 when not tied to a micro-batch
  std::int32_t layer = -1;       // global decoder layer index, -1 for none
  std::int16_t chunk = 0;        // virtual stage (model chunk) on this rank
};

// Labels are interned: tasks store an index into labels(), assigned in order
// of first use, so the same building sequence gives the same table.
// The add_* functions throw InternalError (DTSIM_CHECK) on a dependency that
// is not an earlier task and on a stream the task's kind cannot use.
//
// Example:
//   Program p(0);
//   TaskId qkv = p.add_compute(work, Phase::kForward, "qkv_proj", {});
//   TaskId ar = p.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor, Bytes(1 << 20)},
//                                StreamKind::kTensorComm, Phase::kTensorComm, "tp_all_reduce",
//                                std::vector<TaskId>{qkv});
//   p.add_compute(next_work, Phase::kForward, "mlp_up", std::vector<TaskId>{ar});
class Program {
 public:
  explicit Program(int stage = 0) : stage_(stage) {}

  TaskId add_compute(const ComputeWork& work, Phase phase, std::string_view label, std::span<const TaskId> deps,
                     std::int32_t microbatch = -1, std::int32_t layer = -1, std::int16_t chunk = 0);
  TaskId add_collective(const CollectiveOp& op, StreamKind stream, Phase phase, std::string_view label,
                        std::span<const TaskId> deps, std::int32_t microbatch = -1, std::int32_t layer = -1,
                        std::int16_t chunk = 0);
  // `stream` must be a kSend* stream for sends, a kRecv* stream for recvs.
  TaskId add_send(const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                  std::span<const TaskId> deps, std::int32_t microbatch = -1, std::int16_t chunk = 0);
  TaskId add_recv(const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                  std::span<const TaskId> deps, std::int32_t microbatch = -1, std::int16_t chunk = 0);

  int stage() const { return stage_; }
  const std::vector<Task>& tasks() const { return tasks_; }
  std::span<const TaskId> deps_of(const Task& t) const {
    return std::span<const TaskId>(deps_).subspan(t.deps_begin, t.deps_count);
  }
  const ComputeWork& work(const Task& t) const { return works_[t.payload]; }
  const CollectiveOp& collective(const Task& t) const { return collectives_[t.payload]; }
  const P2POp& p2p(const Task& t) const { return p2ps_[t.payload]; }
  const std::string& label(const Task& t) const { return labels_[t.label]; }
  std::size_t size() const { return tasks_.size(); }

  // Total FLOPs of compute tasks, or of those of one phase.
  Flops total_flops() const;
  Flops total_flops(Phase phase) const;

 private:
  TaskId add_task(Task t, std::string_view label, std::span<const TaskId> deps);
  // Shared body of add_send and add_recv (they differ only in kind and stream check).
  TaskId add_p2p(TaskKind kind, const P2POp& op, StreamKind stream, Phase phase, std::string_view label,
                 std::span<const TaskId> deps, std::int32_t microbatch, std::int16_t chunk);
  std::uint32_t intern_label(std::string_view label);
  std::uint32_t intern_work(const ComputeWork& work);
  struct WorkHash {
    std::size_t operator()(const ComputeWork& w) const;
  };

  int stage_;
  std::vector<Task> tasks_;
  std::vector<TaskId> deps_;
  // Distinct works only: a step repeats each layer's kernels for every
  // micro-batch, and storing one copy per task dominated lowering time.
  std::vector<ComputeWork> works_;
  std::unordered_map<ComputeWork, std::uint32_t, WorkHash> work_index_;
  std::vector<CollectiveOp> collectives_;
  std::vector<P2POp> p2ps_;
  std::vector<std::string> labels_;
  std::map<std::string, std::uint32_t, std::less<>> label_index_;  // interning: label -> index in labels_
};

// Problems with one program, each as a Diagnostic whose path is "/tasks/<i>":
// a dependency on a task that is not earlier, a task
// on a stream its kind cannot use (compute: kCompute; collectives: kTensorComm,
// kDataComm or kExpertComm; sends: kSend*; recvs: kRecv*), collectives of one group kind on two streams
// (the replay matches collectives by their order per group kind, so they must
// be issued in program order), and dependency cycles. Empty when sound.
// O(tasks + deps).
std::vector<Diagnostic> check_program(const Program& program);

// Problems across a step's programs (one per pipeline stage, stage i at index
// i), after check_program on each: every send has exactly one recv with the
// same match_key on its peer stage, naming this stage as its peer, with equal
// bytes and the matching direction (kSendForward -> kRecvForward,
// kSendBackward -> kRecvBackward, and the same for the reverse streams); each channel (sender stage and stream,
// receiver stage and stream) lists its transfers in the same order at both
// ends; and the step cannot deadlock: the graph of dependencies, stream order
// and send/recv rendezvous (a matched pair is one node) has no cycle. Paths
// are "/programs/<stage>/tasks/<i>".
//
// Example:
//   auto programs = lower_to_programs(model, training, plan);
//   DTSIM_CHECK(check_programs(programs).empty(), "lowering produced an unsound step");
std::vector<Diagnostic> check_programs(std::span<const Program> programs);

}  // namespace dtsim::models
