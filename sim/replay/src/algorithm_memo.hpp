// kAuto's algorithm choice, remembered per (group kind, collective kind,
// group, size): the choice depends on nothing else, and evaluating every
// algorithm on a group spread over many nodes costs milliseconds a call
// (estimate_plan routes every transfer of every candidate), while a replay
// issues the same collective thousands of times.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/rank_layout.hpp"

namespace dtsim::sim {

class AlgorithmMemo {
 public:
  // `algorithm` is the replay's setting: anything but kAuto is passed through.
  // With `remember` false every kAuto call evaluates every algorithm (to
  // check that remembering changes nothing).
  AlgorithmMemo(const hardware::Topology& topology, const hardware::CollectiveParams& params,
                hardware::CollectiveAlgorithm algorithm, bool remember = true)
      : topology_(topology), params_(params), algorithm_(algorithm), remember_(remember) {}

  // The plan for `op` over `group` (its members in rank order; the first one
  // names the group among those of its kind). An explicit algorithm builds
  // exactly the plan kAuto built when it chose that algorithm.
  hardware::CollectivePlan plan(const models::CollectiveOp& op, const std::vector<int>& group);

  // How many calls evaluated every algorithm.
  std::uint64_t evaluations() const { return evaluations_; }

 private:
  const hardware::Topology& topology_;
  const hardware::CollectiveParams& params_;
  hardware::CollectiveAlgorithm algorithm_;
  bool remember_;
  std::map<std::tuple<int, int, int, std::int64_t>, hardware::CollectiveAlgorithm> chosen_;
  std::uint64_t evaluations_ = 0;
};

}  // namespace dtsim::sim
