#include "algorithm_memo.hpp"

namespace dtsim::sim {

hardware::CollectivePlan AlgorithmMemo::plan(const models::CollectiveOp& op, const std::vector<int>& group) {
  if (algorithm_ != hardware::CollectiveAlgorithm::kAuto) {
    return hardware::plan_collective(op.kind, group, op.bytes, topology_, params_, algorithm_);
  }
  const auto key =
      std::make_tuple(static_cast<int>(op.group), static_cast<int>(op.kind), group.front(), op.bytes.count());
  if (remember_) {
    if (const auto it = chosen_.find(key); it != chosen_.end()) {
      return hardware::plan_collective(op.kind, group, op.bytes, topology_, params_, it->second);
    }
  }
  ++evaluations_;
  hardware::CollectivePlan plan =
      hardware::plan_collective(op.kind, group, op.bytes, topology_, params_, hardware::CollectiveAlgorithm::kAuto);
  if (remember_) chosen_.emplace(key, plan.algorithm);
  return plan;
}

}  // namespace dtsim::sim
