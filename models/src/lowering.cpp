#include "dtsim/models/lowering.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "dtsim/core/error.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "lowering_stage.hpp"
#include "pass_emission.hpp"

namespace dtsim::models {
namespace {

using lowering_detail::ChunkModel;
using lowering_detail::ModelLayout;
using lowering_detail::PassEmission;
using lowering_detail::StageModel;
using lowering_detail::Unit;

constexpr TaskId kNoTask = UINT32_MAX;
// optimizer_ops names its gradient-norm kernel so; the norm's all-reduces follow it.
constexpr std::string_view kGradNormStep = "grad_norm";
constexpr Bytes kScalarBytes{4};  // one fp32: the squared gradient norm

// A few dependencies, kept inline: lowering emits ~10^5 tasks for the largest
// plans and must not allocate per task.
class DepList {
 public:
  void add(TaskId t) {
    if (t == kNoTask) return;
    for (std::size_t i = 0; i < n_; ++i) {
      if (ids_[i] == t) return;
    }
    DTSIM_CHECK(n_ < ids_.size(), "too many dependencies for one task");
    ids_[n_++] = t;
  }
  void clear() { n_ = 0; }
  std::span<const TaskId> span() const { return {ids_.data(), n_}; }

 private:
  std::array<TaskId, 8> ids_{};
  std::size_t n_ = 0;
};

// Where a task sits in the step, for the Task fields.
struct Tag {
  std::int32_t microbatch = -1;
  std::int32_t layer = -1;
  std::int16_t chunk = 0;
};

// What the next task of a pass waits for: the data flowing through the pass.
// An overlapped pair's two passes each have their own (lowering swaps them).
struct DataPath {
  DepList pending;                 // non-compute tasks the next kernel must wait for
  DepList after_dgrad;             // TP reductions of a dgrad: the next data-path kernel waits for them
  bool last_was_dgrad = false;     // the latest kernel was a backward input-gradient GEMM
  TaskId last_data = kNoTask;      // the latest producer of the data flowing through the pass
  TaskId unit_wgrad = kNoTask;     // the current unit's last weight-gradient kernel
  DepList join_after_next;         // overlapping collectives the kernel after next waits for

  // After an overlapped pair: what follows waits for both passes; `later` emitted last.
  void merge(const DataPath& later) {
    for (const TaskId t : later.pending.span()) pending.add(t);
    for (const TaskId t : later.after_dgrad.span()) after_dgrad.add(t);
    for (const TaskId t : later.join_after_next.span()) join_after_next.add(t);
    last_was_dgrad = later.last_was_dgrad;
    last_data = later.last_data;
    unit_wgrad = later.unit_wgrad;
  }
};

// A gradient bucket waiting to be issued after the backward (overlap off).
struct DeferredBucket {
  Bytes bytes;
  std::int32_t layer = -1;
  std::int16_t chunk = 0;
  GroupKind group = GroupKind::kData;
};

class StageLowering {
 public:
  StageLowering(const ModelLayout& layout, const TrainingSpec& training, const ParallelPlan& plan,
                std::int64_t microbatches, int stage)
      : layout_(layout),
        training_(training),
        plan_(plan),
        stage_(layout.stage(stage)),
        microbatches_(microbatches),
        bytes_(parameter_bytes(training.precision)),
        prog_(stage) {}

  Program run() {
    const auto passes = stage_passes(plan_, microbatches_, stage_.stage);
    // The pass ending each chunk's last backward (a whole backward, or a W):
    // where ZeRO 0-2 reduce its gradients.
    std::vector<std::size_t> last_backward(stage_.chunks.size(), 0);
    for (std::size_t i = 0; i < passes.size(); ++i) {
      const PassKind k = passes[i].kind;
      if (k == PassKind::kBackward || k == PassKind::kBackwardWeight) {
        last_backward[static_cast<std::size_t>(passes[i].chunk)] = i;
      }
    }
    auto emission = [&](std::size_t i) {
      const PipelinePass& p = passes[i];
      const bool last = last_backward[static_cast<std::size_t>(p.chunk)] == i;
      switch (p.kind) {
        case PassKind::kForward: return forward(p);
        case PassKind::kBackward:
        case PassKind::kBackwardInput: return backward(p, last);
        case PassKind::kBackwardWeight: break;
      }
      return weight_gradients(p, last);
    };
    for (std::size_t i = 0; i < passes.size(); ++i) {
      if (passes[i].overlaps_next) {
        DTSIM_CHECK(i + 1 < passes.size(), "an overlapped forward without a backward after it");
        // A pass emits nothing until resumed: the two arguments' evaluation order does not matter.
        overlapped_pair(emission(i), emission(i + 1));
        ++i;
      } else {
        emission(i).run_to_end();
      }
    }
    finish_step();
    return std::move(prog_);
  }

 private:
  // Ranks sharing this rank's weights: data and context parallel ones.
  bool data_parallel() const { return plan_.data_ranks() > 1; }
  bool expert_data_parallel() const { return stage_.expert_parameters > 0 && plan_.expert_data_parallel() > 1; }
  static GroupKind group_of(LayerStep::Kind k) {
    switch (k) {
      case LayerStep::Kind::kExpertCollective: return GroupKind::kExpert;
      case LayerStep::Kind::kExpertTensorCollective: return GroupKind::kExpertTensor;
      case LayerStep::Kind::kContextCollective: return GroupKind::kContext;
      default: return GroupKind::kTensor;
    }
  }
  bool fsdp() const { return plan_.zero_stage >= 3 && data_parallel(); }
  // Under the PyTorch frameworks FSDP2 accumulates a step's micro-batches in
  // its unsharded gradients and reduce-scatters them once, after the last
  // (set_requires_gradient_sync(False) before the others, as the training
  // harness does); ZeRO-3 elsewhere reduces every micro-batch.
  bool fsdp_reduces(bool last_of_chunk) const {
    return fsdp() && (last_of_chunk || training_.framework == Framework::kMegatron);
  }
  int last_model_chunk() const { return layout_.num_model_chunks() - 1; }
  // DualPipe's chunk 1 runs the other way, on channels of its own (program.hpp).
  bool reverse(const PipelinePass& p) const { return plan_.schedule == PipelineSchedule::kDualPipe && p.chunk == 1; }
  // The stage holding `model_chunk` as its chunk `chunk` (DualPipe: the direction matters).
  int stage_of(int model_chunk, int chunk) const { return stage_holding(plan_.schedule, plan_.pp, model_chunk, chunk); }
  // Gradients reduced over DP (everything but the routed experts), and over expert-DP.
  Bytes gradient_bytes(const Unit& u) const { return Bytes((u.parameters - u.expert_parameters) * bytes_.gradients); }
  Bytes expert_gradient_bytes(const Unit& u) const { return Bytes(u.expert_parameters * bytes_.gradients); }

  // --- task emission -------------------------------------------------------

  // Which backward steps a pass emits: all, the B part (everything but the
  // weight-gradient kernels) or the W part (only those).
  enum class Part : std::uint8_t { kAll, kInputGradient, kWeightGradient };

  // Emits steps[at..] until and including the next expert-parallel
  // collective, advancing `at`; true when it stopped at one (a pass
  // suspends there), false when the list is done.
  bool emit_until_exchange(const std::vector<LayerStep>& steps, Phase phase, Tag tag, Part part, std::size_t& at) {
    while (at < steps.size()) {
      const LayerStep& s = steps[at++];
      const bool wgrad = s.kind == LayerStep::Kind::kCompute && s.weight_gradient;
      if ((part == Part::kInputGradient && wgrad) || (part == Part::kWeightGradient && !wgrad)) continue;
      if (s.kind == LayerStep::Kind::kCompute) {
        // Weight-gradient kernels read the layer's saved input and its output
        // gradient, never the dgrad result: they need not wait for the TP
        // reduction of a dgrad (Megatron overlaps the two); the next kernel on
        // the data path does.
        DepList deps = path_.pending;
        if (!s.weight_gradient) {
          for (const TaskId t : path_.after_dgrad.span()) deps.add(t);
          path_.after_dgrad.clear();
        }
        const TaskId id =
            prog_.add_compute(s.work, phase, s.name, deps.span(), tag.microbatch, tag.layer, tag.chunk);
        path_.pending.clear();
        // Collectives that ran alongside this kernel gate the next one.
        for (const TaskId t : path_.join_after_next.span()) path_.pending.add(t);
        path_.join_after_next.clear();
        last_compute_ = id;
        path_.last_was_dgrad = phase == Phase::kBackward && !s.weight_gradient && s.work.op_class == OpClass::kGemm;
        if (s.weight_gradient) {
          path_.unit_wgrad = id;  // off the data path: path_.last_data stays
        } else {
          path_.last_data = id;
        }
      } else {
        const GroupKind group = group_of(s.kind);
        if (group == GroupKind::kTensor && plan_.tp == 1) continue;  // a group of one exchanges nothing
        if (group == GroupKind::kContext && plan_.cp == 1) continue;
        if (s.overlaps_next) {
          // Starts when its input is ready; the next kernel does not wait for it.
          DepList deps;
          deps.add(path_.last_data);
          const TaskId id = prog_.add_collective({s.collective, group, s.collective_bytes}, StreamKind::kTensorComm,
                                                 Phase::kContextComm, s.name, deps.span(), tag.microbatch, tag.layer,
                                                 tag.chunk);
          path_.join_after_next.add(id);
          continue;
        }
        DepList deps = path_.pending;
        deps.add(path_.last_data);
        // Expert all-to-alls share the TP stream (both block the layer's data
        // path), unless overlapped pairs need them on their own.
        const StreamKind stream =
            group == GroupKind::kExpert && plan_.ep_comm_overlap ? StreamKind::kExpertComm : StreamKind::kTensorComm;
        const Phase comm_phase = group == GroupKind::kExpert    ? Phase::kExpertComm
                                 : group == GroupKind::kContext ? Phase::kContextComm
                                                                : Phase::kTensorComm;
        const TaskId id = prog_.add_collective({s.collective, group, s.collective_bytes}, stream, comm_phase, s.name, deps.span(), tag.microbatch, tag.layer, tag.chunk);
        // The next kernel consumes the collective's output (the next data-path
        // kernel, for a reduction of a dgrad).
        path_.pending.clear();
        (path_.last_was_dgrad ? path_.after_dgrad : path_.pending).add(id);
        path_.last_data = id;
        if (group == GroupKind::kExpert) return true;
      }
    }
    return false;
  }

  // A list that a pass emits whole (no suspension: casts, FSDP copies).
  void emit_steps(const std::vector<LayerStep>& steps, Phase phase, Tag tag, Part part = Part::kAll) {
    std::size_t at = 0;
    while (emit_until_exchange(steps, phase, tag, part, at)) {
    }
  }

  TaskId data_collective(CollectiveKind kind, GroupKind group, Bytes bytes, Phase phase, std::string_view label,
                         std::span<const TaskId> deps, Tag tag) {
    const TaskId id =
        prog_.add_collective({kind, group, bytes}, StreamKind::kDataComm, phase, label, deps, tag.microbatch, tag.layer,
                             tag.chunk);
    last_data_comm_ = id;
    return id;
  }

  void recv(StreamKind stream, int peer, std::uint64_t key, std::string_view label, Tag tag) {
    const TaskId id = prog_.add_recv({peer, layout_.p2p_bytes(), key}, stream, Phase::kPipelineComm, label, {},
                                     tag.microbatch, tag.chunk);
    path_.pending.add(id);
    path_.last_data = id;
  }

  void send(StreamKind stream, int peer, std::uint64_t key, std::string_view label, Tag tag) {
    DepList deps;
    deps.add(path_.last_data);
    prog_.add_send({peer, layout_.p2p_bytes(), key}, stream, Phase::kPipelineComm, label, deps.span(), tag.microbatch,
                   tag.chunk);
  }

  // A data-parallel wrapper's buffer copy (PyTorch only; none under Megatron),
  // on the compute stream, after `deps`; kNoTask when there is none. It is
  // off the data path: the caller decides what waits for it.
  TaskId buffer_copy(DataParallelCopy which, std::int64_t elements, std::span<const TaskId> deps, Phase phase,
                     Tag tag) {
    TaskId id = kNoTask;
    for (const LayerStep& s : data_parallel_copy_ops(which, elements, training_)) {
      id = prog_.add_compute(s.work, phase, s.name, deps, tag.microbatch, tag.layer, tag.chunk);
      deps = std::span<const TaskId>(&id, 1);
    }
    return id;
  }

  // ZeRO-3: all-gather a unit's parameters (full gathered array, TP shard).
  // FSDP2 first copies the local shard into the flat send buffer.
  TaskId gather(const Unit& u, TaskId after, Tag tag, Phase phase) {
    DepList deps;
    deps.add(after);
    tag.layer = u.layer;
    const std::int64_t dp = plan_.data_ranks();
    const TaskId copy_in = buffer_copy(DataParallelCopy::kFsdpGatherCopyIn, (u.parameters + dp - 1) / dp,
                                       deps.span(), phase, tag);
    if (copy_in != kNoTask) {
      deps.clear();
      deps.add(copy_in);
    }
    return data_collective(CollectiveKind::kAllGather, GroupKind::kData, Bytes(u.parameters * gathered_weight_bytes(training_.precision)),
                           Phase::kParameterSync, "fsdp_all_gather", deps.span(), tag);
  }

  // --- passes --------------------------------------------------------------

  // The passes are coroutines (pass_emission.hpp): each suspends after every
  // expert all-to-all it issues. Arguments are taken by value: a coroutine's
  // frame outlives the call expression.
  PassEmission forward(PipelinePass p) {
    const ChunkModel& ch = stage_.chunks[static_cast<std::size_t>(p.chunk)];
    const int k = ch.model_chunk;
    const Tag tag{p.microbatch, -1, p.chunk};
    if (k > 0) {
      recv(reverse(p) ? StreamKind::kRecvForwardReverse : StreamKind::kRecvForward, stage_of(k - 1, p.chunk),
           pipeline_match_key(TransferKind::kActivation, p.microbatch, k), "recv_fwd", tag);
    }
    for (PassEmission units = run_units(ch, PassKind::kForward, tag, false, false); units.resume();) {
      co_yield PassEmission::kExchangeIssued;
    }
    if (k < last_model_chunk()) {
      send(reverse(p) ? StreamKind::kSendForwardReverse : StreamKind::kSendForward, stage_of(k + 1, p.chunk),
           pipeline_match_key(TransferKind::kActivation, p.microbatch, k + 1), "send_fwd", tag);
    }
  }

  // A whole backward (kBackward), or its B part (kBackwardInput): what the
  // previous stage waits for.
  PassEmission backward(PipelinePass p, bool last_of_chunk) {
    const ChunkModel& ch = stage_.chunks[static_cast<std::size_t>(p.chunk)];
    const int k = ch.model_chunk;
    const Tag tag{p.microbatch, -1, p.chunk};
    if (k < last_model_chunk()) {
      recv(reverse(p) ? StreamKind::kRecvBackwardReverse : StreamKind::kRecvBackward, stage_of(k + 1, p.chunk),
           pipeline_match_key(TransferKind::kGradient, p.microbatch, k), "recv_bwd", tag);
    }
    const bool whole = p.kind == PassKind::kBackward;
    const bool reduce = whole && reduces_gradients(last_of_chunk);
    for (PassEmission units = run_units(ch, p.kind, tag, reduce, fsdp_reduces(last_of_chunk)); units.resume();) {
      co_yield PassEmission::kExchangeIssued;
    }
    if (reduce) {
      close_bucket(tag, dense_bucket_);
      close_bucket(tag, expert_bucket_);
    }
    if (k > 0) {
      send(reverse(p) ? StreamKind::kSendBackwardReverse : StreamKind::kSendBackward, stage_of(k - 1, p.chunk),
           pipeline_match_key(TransferKind::kGradient, p.microbatch, k - 1), "send_bwd", tag);
    }
  }

  // The W part of a split backward: the weight-gradient kernels of every
  // unit, in backward order, and the gradient buckets they fill. Nothing is
  // received or sent: B already passed the input gradient on.
  PassEmission weight_gradients(PipelinePass p, bool last_of_chunk) {
    const ChunkModel& ch = stage_.chunks[static_cast<std::size_t>(p.chunk)];
    const Tag tag{p.microbatch, -1, p.chunk};
    const bool reduce = reduces_gradients(last_of_chunk);
    for (PassEmission units = run_units(ch, PassKind::kBackwardWeight, tag, reduce, false); units.resume();) {
      co_yield PassEmission::kExchangeIssued;
    }
    if (reduce) {
      close_bucket(tag, dense_bucket_);
      close_bucket(tag, expert_bucket_);
    }
  }

  // An overlapped forward-backward pair (stage_passes): the two passes, each
  // on its own data path, take turns at their expert all-to-alls, the forward
  // first. The compute stream then holds forward kernels up to a dispatch,
  // backward kernels up to its next all-to-all, the forward's experts, and so
  // on: each all-to-all runs while the other pass computes, as in
  // Megatron-Core's combined 1F1B and DeepSeek-V3's DualPipe. The compute
  // slowdown while a collective runs (the calibration's) applies as always.
  void overlapped_pair(PassEmission first, PassEmission second) {
    DataPath other;  // the backward's: nothing of the forward's data path feeds it
    bool first_live = true;
    bool second_live = true;
    bool second_last = false;  // which pass emitted last
    while (first_live || second_live) {
      if (first_live) {
        first_live = first.resume();
        second_last = false;
      }
      if (second_live) {
        std::swap(path_, other);
        second_live = second.resume();
        std::swap(path_, other);
        second_last = true;
      }
    }
    if (second_last) {
      path_.merge(other);
    } else {
      other.merge(path_);
      path_ = other;
    }
  }

  // ZeRO 0-2 reduce the gradients accumulated over every micro-batch, once, in
  // the pass that completes the chunk's last backward (Megatron's distributed
  // optimizer; FSDP's no-sync accumulation).
  bool reduces_gradients(bool last_of_chunk) const {
    return (data_parallel() || expert_data_parallel()) && plan_.zero_stage < 3 && last_of_chunk;
  }

  // The units of one chunk pass, forward order for a forward, reverse for a
  // backward (or its B or W part), with ZeRO-3's gathers around them and
  // gradient handling after each unit's weight gradients: buckets filled
  // (ZeRO 0-2) or each unit reduce-scattered (ZeRO-3) where asked.
  PassEmission run_units(const ChunkModel& ch, PassKind kind, Tag tag, bool fill_buckets, bool reduce_scatter) {
    const bool is_forward = kind == PassKind::kForward;
    // validate_plan keeps ZeRO-3 to the schedules with whole backwards.
    DTSIM_CHECK(!(fsdp() && (kind == PassKind::kBackwardInput || kind == PassKind::kBackwardWeight)),
                "ZeRO-3 with a split backward");
    const std::size_t n = ch.units.size();
    auto unit_at = [&](std::size_t i) -> const Unit& { return is_forward ? ch.units[i] : ch.units[n - 1 - i]; };
    const bool prefetch = fsdp() && plan_.fsdp_prefetch;
    TaskId gather_now = kNoTask;
    TaskId gather_next = kNoTask;
    const Phase phase = is_forward ? Phase::kForward : Phase::kBackward;
    if (prefetch && n > 0) {
      // Unit 0's gather, and unit 1's prefetched behind it.
      gather_now = gather(unit_at(0), kNoTask, tag, phase);
      if (n > 1) gather_next = gather(unit_at(1), kNoTask, tag, phase);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Unit& u = unit_at(i);
      Tag ut = tag;
      ut.layer = u.layer;
      if (fsdp()) {
        if (!prefetch) gather_now = gather(u, last_compute_, tag, phase);
        path_.pending.add(gather_now);
        // FSDP2 copies the gathered buffer out into the unsharded parameters
        // before the unit runs.
        emit_steps(data_parallel_copy_ops(DataParallelCopy::kFsdpGatherCopyOut, u.parameters, training_), phase, ut);
      }
      path_.unit_wgrad = kNoTask;
      // The unit's lists, suspending after each expert all-to-all.
      std::size_t at = 0;
      if (is_forward) {
        emit_steps(*u.casts, Phase::kForward, ut);
        while (emit_until_exchange(u.ops->forward, Phase::kForward, ut, Part::kAll, at)) {
          co_yield PassEmission::kExchangeIssued;
        }
      } else if (kind == PassKind::kBackwardWeight) {
        emit_steps(u.ops->backward, Phase::kBackward, ut, Part::kWeightGradient);
      } else {
        // Full recompute re-runs the forward under autocast: the casts happen again.
        if (training_.recompute == Recompute::kFull) emit_steps(*u.casts, Phase::kRecompute, ut);
        while (emit_until_exchange(u.ops->recompute, Phase::kRecompute, ut, Part::kAll, at)) {
          co_yield PassEmission::kExchangeIssued;
        }
        at = 0;
        const Part part = kind == PassKind::kBackwardInput ? Part::kInputGradient : Part::kAll;
        while (emit_until_exchange(u.ops->backward, Phase::kBackward, ut, part, at)) {
          co_yield PassEmission::kExchangeIssued;
        }
      }
      if (prefetch) {
        // Keep one unit prefetched: unit i + 2's gather waits for unit i's kernels.
        const TaskId after = i + 2 < n ? gather(unit_at(i + 2), last_compute_, tag, phase) : kNoTask;
        gather_now = gather_next;
        gather_next = after;
      }
      if (is_forward || kind == PassKind::kBackwardInput) continue;  // no weight gradients yet
      if (tag.microbatch > 0) {
        // Eager autograd adds this micro-batch's weight gradients into .grad.
        const auto adds = gradient_accumulation_ops(u.parameters, layout_.parameter_tensors(u), training_, plan_);
        if (!adds.empty()) {
          emit_steps(adds, Phase::kBackward, ut);
          path_.unit_wgrad = last_compute_;
        }
      }
      const TaskId grads_ready = path_.unit_wgrad != kNoTask ? path_.unit_wgrad : last_compute_;
      if (fsdp()) {
        if (!reduce_scatter) continue;  // accumulated unsharded until the step's last micro-batch
        DepList deps;
        deps.add(grads_ready);
        // FSDP2 concatenates the unsharded gradients (in the reduce dtype)
        // into the reduce-scatter's input.
        const TaskId copy_in = buffer_copy(DataParallelCopy::kFsdpReduceCopyIn, u.parameters - u.expert_parameters,
                                           deps.span(), Phase::kBackward, ut);
        if (copy_in != kNoTask) {
          deps.clear();
          deps.add(copy_in);
        }
        data_collective(CollectiveKind::kReduceScatter, GroupKind::kData, gradient_bytes(u), Phase::kGradientSync,
                        "fsdp_reduce_scatter", deps.span(), ut);
      } else if (fill_buckets) {
        if (data_parallel()) fill_bucket(dense_bucket_, gradient_bytes(u), grads_ready, ut);
        if (expert_data_parallel()) fill_bucket(expert_bucket_, expert_gradient_bytes(u), grads_ready, ut);
      }
    }
  }

  // Gradient buckets: one over DP for the dense parameters, one over
  // expert-DP for the routed experts' (Megatron keeps separate buffers).
  struct Bucket {
    GroupKind group = GroupKind::kData;
    Bytes bytes;
    TaskId ready = kNoTask;
    std::int32_t layer = -1;
  };

  void fill_bucket(Bucket& b, Bytes bytes, TaskId ready, Tag tag) {
    if (bytes.count() == 0) return;
    b.bytes += bytes;
    b.ready = ready;
    b.layer = tag.layer;
    if (b.bytes >= plan_.dp_bucket_size) close_bucket(tag, b);
  }

  // Issues (or defers) the filled part of a gradient bucket.
  void close_bucket(Tag tag, Bucket& b) {
    if (b.bytes.count() == 0) return;
    tag.layer = b.layer;
    tag.microbatch = -1;  // the accumulated gradients of every micro-batch
    if (!plan_.overlap_grad_reduce) {
      deferred_.push_back({b.bytes, tag.layer, tag.chunk, b.group});
    } else {
      DepList deps;
      deps.add(b.ready);
      issue_bucket(b.group, b.bytes, deps.span(), tag);
    }
    b.bytes = Bytes(0);
  }

  TaskId issue_bucket(GroupKind group, Bytes bytes, std::span<const TaskId> deps, Tag tag) {
    // PyTorch's DDP copies the gradients into the bucket and scales it first.
    const TaskId copy = buffer_copy(DataParallelCopy::kDdpBucketCopy, bytes.count() / bytes_.gradients, deps,
                                    Phase::kBackward, tag);
    if (copy != kNoTask) deps = std::span<const TaskId>(&copy, 1);
    const bool all_reduce = plan_.zero_stage == 0;
    const bool expert = group == GroupKind::kExpertData;
    const std::string_view label = all_reduce ? (expert ? "expert_dp_all_reduce" : "dp_all_reduce")
                                              : (expert ? "expert_dp_reduce_scatter" : "dp_reduce_scatter");
    return data_collective(all_reduce ? CollectiveKind::kAllReduce : CollectiveKind::kReduceScatter, group, bytes,
                           Phase::kGradientSync, label, deps, tag);
  }

  // --- end of step -----------------------------------------------------------

  void finish_step() {
    const Tag step_tag{};
    for (const DeferredBucket& b : deferred_) {
      DepList deps;
      deps.add(last_compute_);
      issue_bucket(b.group, b.bytes, deps.span(), Tag{-1, b.layer, b.chunk});
    }
    pipelining_step_end();
    DepList ready;  // what the optimizer waits for
    ready.add(last_data_comm_);
    ready.add(last_compute_);
    for (const TaskId t : path_.after_dgrad.span()) ready.add(t);
    path_.after_dgrad.clear();

    if (plan_.sequence_parallel && plan_.tp > 1) {
      // Megatron all-reduces the norm weights' gradients over TP after the DP sync:
      // each TP rank saw only its sequence shard.
      std::int64_t norms = 0;
      for (const ChunkModel& ch : stage_.chunks) {
        for (const Unit& u : ch.units) {
          if (u.kind == lowering_detail::UnitKind::kDecoder) norms += layout_.norm_parameters_per_layer();
          if (u.kind == lowering_detail::UnitKind::kHead) norms += layout_.final_norm_parameters();
        }
      }
      if (norms > 0) {
        const TaskId id = prog_.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor,
                                                Bytes(norms * bytes_.gradients)},
                                               StreamKind::kTensorComm, Phase::kGradientSync,
                                               "sp_norm_grad_all_reduce", ready.span());
        ready.add(id);
      }
    }
    tied_embedding_exchange(ready);

    const std::int64_t params = stage_.parameters;
    const std::int64_t experts = stage_.expert_parameters;
    const std::int64_t dense = params - experts;
    const std::int64_t dp = plan_.data_ranks();
    const std::int64_t edp = plan_.expert_data_parallel();
    // ZeRO shards the dense parameters over DP (x CP) and the experts' over expert-DP.
    const std::int64_t shard =
        plan_.zero_stage >= 1 ? (dense + dp - 1) / dp + (experts + edp - 1) / edp : params;
    replica_gradient_exchange(ready, shard);
    const std::int64_t grad_buffer = plan_.zero_stage >= 2 ? shard : params;
    path_.pending.clear();
    for (const TaskId t : ready.span()) path_.pending.add(t);
    for (const LayerStep& s : optimizer_ops(shard, training_, grad_buffer)) {
      DTSIM_CHECK(s.kind == LayerStep::Kind::kCompute, "optimizer steps are kernels");
      const TaskId id = prog_.add_compute(s.work, Phase::kOptimizer, s.name, path_.pending.span());
      path_.pending.clear();
      last_compute_ = id;
      if (s.name == kGradNormStep) grad_norm_all_reduces(id);
    }
    if (plan_.zero_stage >= 1 && plan_.zero_stage <= 2 && data_parallel()) {
      DepList deps;
      deps.add(last_compute_);
      data_collective(CollectiveKind::kAllGather, GroupKind::kData, Bytes(dense * bytes_.weights),
                      Phase::kParameterSync, "dp_param_all_gather", deps.span(), step_tag);
    }
    if (plan_.zero_stage >= 1 && plan_.zero_stage <= 2 && expert_data_parallel()) {
      DepList deps;
      deps.add(last_compute_);
      data_collective(CollectiveKind::kAllGather, GroupKind::kExpertData, Bytes(experts * bytes_.weights),
                      Phase::kParameterSync, "expert_dp_param_all_gather", deps.span(), step_tag);
    }
  }

  // torch.distributed.pipelining (PyTorch frameworks, pp > 1) ends step()
  // by scaling every gradient of the stage by 1 / micro-batches and, on the
  // last stage, concatenating the micro-batches' outputs, after the last
  // backward and before the optimizer.
  void pipelining_step_end() {
    if (plan_.pp <= 1) return;
    std::int32_t tensors = 0;
    for (const ChunkModel& ch : stage_.chunks) {
      for (const Unit& u : ch.units) tensors += layout_.parameter_tensors(u);
    }
    const std::int64_t merged = stage_.holds_head ? microbatches_ * layout_.output_bytes_per_microbatch() : 0;
    // Gradients sharded by ZeRO-2/3 are scaled as the shards they are.
    const std::int64_t dp = plan_.data_ranks();
    const std::int64_t grads = plan_.zero_stage >= 2 ? (stage_.parameters + dp - 1) / dp : stage_.parameters;
    for (const LayerStep& s : pipelining_step_end_ops(grads, tensors, merged, training_)) {
      // After the backward's kernels and its gradient reductions (DDP's and
      // FSDP's finish inside the backward that step() runs).
      DepList deps;
      deps.add(last_compute_);
      deps.add(last_data_comm_);
      last_compute_ = prog_.add_compute(s.work, Phase::kBackward, s.name, deps.span());
    }
  }

  // The squared norm summed over every rank holding a different slice of the
  // gradients: TP, then the pipeline, then (sharded gradients) DP.
  void grad_norm_all_reduces(TaskId norm) {
    TaskId prev = norm;
    auto next = [&](GroupKind g, StreamKind s) {
      DepList deps;
      deps.add(prev);
      prev = prog_.add_collective({CollectiveKind::kAllReduce, g, kScalarBytes}, s, Phase::kGradientSync,
                                  "grad_norm_all_reduce", deps.span());
      if (s == StreamKind::kDataComm) last_data_comm_ = prev;
    };
    if (plan_.tp > 1) next(GroupKind::kTensor, StreamKind::kTensorComm);
    // Pipeline-group collectives share kDataComm: one stream per group kind.
    if (plan_.pp > 1) next(GroupKind::kPipeline, StreamKind::kDataComm);
    if (plan_.zero_stage >= 1 && data_parallel()) next(GroupKind::kData, StreamKind::kDataComm);
    if (prev != norm) path_.pending.add(prev);
  }

  // Tied embeddings split over the pipeline: Megatron all-reduces the
  // embedding gradient between the first and last stage. A 2-rank all-reduce
  // moves N bytes each way, which a send and a recv in each direction model
  // on the pipeline channels (they wrap between the last stage and stage 0).
  void tied_embedding_exchange(DepList& ready) {
    // DualPipe: the ends hold both the embedding and the head; the replica exchange covers them.
    if (plan_.schedule == PipelineSchedule::kDualPipe) return;
    const bool first = stage_.holds_embedding;
    const bool last = stage_.holds_head;
    if (!layout_.tied_embeddings() || plan_.pp == 1 || !(first || last)) return;
    const Bytes bytes(layout_.embedding_matrix_parameters() * bytes_.gradients);
    const int peer = first ? plan_.pp - 1 : 0;
    const std::uint64_t out_key = pipeline_match_key(TransferKind::kTiedEmbeddingGradient, first ? 0 : 1, 0);
    const std::uint64_t in_key = pipeline_match_key(TransferKind::kTiedEmbeddingGradient, first ? 1 : 0, 0);
    prog_.add_send({peer, bytes, out_key}, first ? StreamKind::kSendBackward : StreamKind::kSendForward,
                   Phase::kGradientSync, "tied_embedding_grad_send", ready.span());
    const TaskId in = prog_.add_recv({peer, bytes, in_key}, first ? StreamKind::kRecvForward : StreamKind::kRecvBackward,
                                     Phase::kGradientSync, "tied_embedding_grad_recv", {});
    ready.add(in);
  }

  // DualPipe keeps every model stage on two GPUs (stage s's chunk 0 and stage
  // pp - 1 - s's chunk 1): their gradients must be summed before the update.
  // After the DP reduction each of the pair holds the reduced gradients of
  // the same shard (`optimizer_params` of them: the ZeRO shard, or all), so the
  // pair swaps that much, a send and a recv each way (a 2-rank all-reduce's
  // bytes), on the pipeline channels.
  void replica_gradient_exchange(DepList& ready, std::int64_t optimizer_params) {
    if (plan_.schedule != PipelineSchedule::kDualPipe) return;
    const int s = stage_.stage;
    const int mirror = plan_.pp - 1 - s;
    const bool lower = s < mirror;
    const Bytes bytes(optimizer_params * bytes_.gradients);
    const int pair = std::min(s, mirror);
    const std::uint64_t out_key = pipeline_match_key(TransferKind::kReplicaGradient, lower ? 0 : 1, pair);
    const std::uint64_t in_key = pipeline_match_key(TransferKind::kReplicaGradient, lower ? 1 : 0, pair);
    prog_.add_send({mirror, bytes, out_key}, lower ? StreamKind::kSendForward : StreamKind::kSendBackward,
                   Phase::kGradientSync, "replica_grad_send", ready.span());
    const TaskId in = prog_.add_recv({mirror, bytes, in_key},
                                     lower ? StreamKind::kRecvBackward : StreamKind::kRecvForward,
                                     Phase::kGradientSync, "replica_grad_recv", {});
    ready.add(in);
  }

  const ModelLayout& layout_;
  const TrainingSpec& training_;
  const ParallelPlan& plan_;
  const StageModel stage_;
  const std::int64_t microbatches_;
  const ParameterBytes bytes_;
  Program prog_;

  DataPath path_;                    // the data path of the pass being emitted
  TaskId last_compute_ = kNoTask;    // the latest kernel on the compute stream, whichever pass
  TaskId last_data_comm_ = kNoTask;  // the latest task on kDataComm
  Bucket dense_bucket_{GroupKind::kData, Bytes(), kNoTask, -1};
  Bucket expert_bucket_{GroupKind::kExpertData, Bytes(), kNoTask, -1};
  std::vector<DeferredBucket> deferred_;
};

}  // namespace

std::uint64_t pipeline_match_key(TransferKind kind, std::int64_t microbatch, std::int64_t model_chunk) {
  DTSIM_CHECK(microbatch >= 0 && microbatch < (std::int64_t{1} << 32), "micro-batch outside the match key's field");
  DTSIM_CHECK(model_chunk >= 0 && model_chunk < (std::int64_t{1} << 24), "model chunk outside the match key's field");
  return (static_cast<std::uint64_t>(kind) << 56) | (static_cast<std::uint64_t>(microbatch) << 24) |
         static_cast<std::uint64_t>(model_chunk);
}

std::vector<Program> lower_to_programs(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan) {
  const ModelLayout layout(model, training, plan);  // validates the plan
  const std::int64_t m = num_microbatches(training, plan);
  std::vector<Program> programs;
  programs.reserve(static_cast<std::size_t>(plan.pp));
  for (int s = 0; s < plan.pp; ++s) programs.push_back(StageLowering(layout, training, plan, m, s).run());
  return programs;
}

}  // namespace dtsim::models
