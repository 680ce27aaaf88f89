// Flow-level network: transfers in flight share link bandwidth by weighted
// max-min fairness (progressive filling), recomputed whenever the set of
// flows changes. Packet-level effects are out of scope.
//
// Weights: a flow crossing link l with weight w consumes w x its rate of l's
// capacity. The symmetric replay simulates one representative of k identical
// sibling flows on a link by giving it weight k there; a full replay uses 1.
//
// Contract: the owner calls advance_to(now) before every change (add, remove,
// finish collection); rates are constant between changes. Complexity of
// recompute_rates(): O(iterations x (flows x path length)), where iterations
// is the number of distinct bottleneck levels (usually 1-3).
//
// Example:
//   FlowNetwork net({Bandwidth::bytes_per_second(1e9)});
//   net.add_flow(path_of_link0, {}, 1e9, /*owner=*/7);
//   net.recompute_rates();                   // the flow gets 1 GB/s
//   TimePoint done = *net.next_completion(); // 1 s after the last advance
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <functional>
#include <queue>
#include <vector>

#include "dtsim/core/units.hpp"

namespace dtsim::sim {

class FlowNetwork {
 public:
  using FlowId = std::uint32_t;
  using LinkId = std::uint32_t;

  explicit FlowNetwork(std::vector<Bandwidth> link_capacities);

  // Adds a flow of `bytes` over `path`. `weights` is empty (all 1) or one
  // weight >= 1 per link of the path. `owner` is returned when it finishes.
  FlowId add_flow(std::span<const LinkId> path, std::span<const double> weights, double bytes, std::uint64_t owner);

  // Drains every flow at its current rate up to `now`.
  void advance_to(TimePoint now);
  // Weighted max-min fair rates for the current flows.
  void recompute_rates();
  // When the earliest flow finishes at current rates (nullopt when idle).
  std::optional<TimePoint> next_completion() const;
  // Removes flows that have finished by the last advance_to() and appends
  // their owners, in flow-id order (deterministic).
  void collect_finished(std::vector<std::uint64_t>& owners);

  std::size_t active_flows() const { return active_.size(); }
  Bandwidth rate(FlowId id) const { return Bandwidth::bytes_per_second(flows_[id].rate); }
  TimePoint last_update() const { return now_; }

 private:
  struct Flow {
    double remaining = 0.0;  // bytes
    double rate = 0.0;       // bytes per second
    std::uint64_t owner = 0;
    bool frozen = false;  // rate fixed in the current progressive-filling pass
  };

  std::vector<double> capacity_;  // bytes per second, per link
  std::vector<Flow> flows_;  // slots, reused via free_
  std::vector<std::vector<LinkId>> slot_links_;    // path of the flow in each slot
  std::vector<std::vector<double>> slot_weights_;  // its weight on each path link
  // Free slots, lowest id on top: reusing low ids first keeps ids (and so tie
  // orders) independent of the history of frees.
  std::priority_queue<FlowId, std::vector<FlowId>, std::greater<>> free_;
  std::vector<FlowId> active_;  // live flow ids, kept sorted for determinism

  // Scratch for recompute_rates, sized to the link count.
  std::vector<double> residual_;
  std::vector<double> unfrozen_weight_;
  std::vector<LinkId> touched_links_;
  std::vector<std::uint8_t> link_touched_;

  TimePoint now_ = TimePoint::start();
};

}  // namespace dtsim::sim
