// Replays per-stage Programs on a cluster: the discrete-event core of dtsim.
//
// Each simulated rank executes its stage's Program with the semantics stated
// in models/program.hpp: in-order streams, dependencies, collectives that
// start when every simulated member of the group has arrived, and send/recv
// pairs that start together. Collectives and transfers are decomposed by
// hardware::plan_collective into stages of transfers, which become flows in a
// FlowNetwork sharing link bandwidth (weighted max-min).
//
// Symmetric mode simulates one representative rank per pipeline stage (tp = 0,
// dp = 0). Its flows stand for every sibling flow of the same pattern in its
// rank class: each representative flow carries, per link, a weight equal to
// (sibling transfers on that link) / (representative transfers on that link),
// so link sharing matches the full replay whenever siblings run in lock-step,
// which they do because they run identical programs at identical times.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/rank_layout.hpp"

namespace dtsim::sim {

struct ReplayInputs {
  const std::vector<models::Program>* programs = nullptr;  // one per pipeline stage
  const models::RankLayout* layout = nullptr;
  const hardware::Topology* topology = nullptr;
  const hardware::OpCostModel* cost = nullptr;
  hardware::CollectiveParams collective_params;
  hardware::CollectiveAlgorithm algorithm = hardware::CollectiveAlgorithm::kAuto;
  bool symmetric = true;
  // Host time beyond the cost model's launch costs (PyTorch DTensor dispatch
  // under tensor parallelism; zero otherwise): per GEMM kernel, and per TP
  // collective times the DTensor reductions it stands for (GroupKind::kTensor).
  Duration extra_host_per_gemm;
  Duration extra_host_per_tp_collective;
  // PyTorch's data-parallel wrappers' own host work (HostParams::wrappers;
  // zero otherwise): FSDP2's per data-parallel all-gather and
  // reduce-scatter, beyond their launches and copies; DDP's per layer of the
  // program, charged to its data-parallel all-reduces in equal parts (the
  // hooks run as the gradients that fill the buckets arrive).
  Duration extra_host_per_dp_all_gather;
  Duration extra_host_per_dp_reduce_scatter;
  Duration extra_host_ddp_per_layer;
  // When set: the host time of every kernel launch and TP collective call,
  // in place of the calibration's launch costs (a measured eager layer's
  // host time spread over its kernels).
  std::optional<Duration> host_per_launch;
  // When set with host_per_launch: the host time of every forward kernel
  // launch (Phase::kForward), host_per_launch then being that of the others.
  std::optional<Duration> host_per_forward_launch;
  // Compute slowdown while the rank has a collective in flight.
  hardware::OverlapParams overlap;
  std::uint64_t event_limit = UINT64_MAX;
  // Remember kAuto's choice per collective shape (algorithm_memo.hpp). Off
  // only to check that remembering changes nothing.
  bool memoize_algorithm = true;
};

// Why a task started when it did: the task whose completion (or, for a
// collective, whose arrival) was the last thing it waited for.
struct TaskCause {
  std::int32_t sim_rank = -1;  // -1: nothing (started at time zero)
  std::uint32_t task = 0;
};

struct RankTrace {
  int rank = 0;   // global rank
  int stage = 0;  // pipeline stage (rank class)
  std::vector<TimePoint> start;  // per task of the stage's program: when it was posted on its stream
  std::vector<TimePoint> end;
  // When the task could make progress: for a collective, when its last
  // simulated member arrived; for a send or recv, when its peer posted the
  // matching end; for compute, its start. The time between start and
  // rendezvous is waiting, owed to whoever arrived last (its cause).
  std::vector<TimePoint> rendezvous;
  std::vector<TaskCause> cause;
};

struct ReplayResult {
  std::vector<RankTrace> ranks;  // simulated ranks, ascending global rank
  TimePoint makespan;
  std::uint64_t events = 0;
  std::uint64_t tasks = 0;
  std::uint64_t algorithm_choices = 0;  // collectives planned with kAuto evaluating every algorithm
};

ReplayResult replay(const ReplayInputs& in);

}  // namespace dtsim::sim
