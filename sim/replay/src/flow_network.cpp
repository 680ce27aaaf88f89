#include "flow_network.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dtsim/core/error.hpp"

namespace dtsim::sim {
namespace {

// A flow is finished when less than this many bytes remain: far below any
// real message, far above the rounding of rate x picosecond arithmetic.
constexpr double kFinishedBytes = 1e-3;

}  // namespace

FlowNetwork::FlowNetwork(std::vector<Bandwidth> link_capacities) {
  capacity_.reserve(link_capacities.size());
  for (const Bandwidth b : link_capacities) {
    DTSIM_CHECK(b.bytes_per_second() > 0.0, "link capacity must be positive");
    capacity_.push_back(b.bytes_per_second());
  }
  residual_.assign(capacity_.size(), 0.0);
  unfrozen_weight_.assign(capacity_.size(), 0.0);
  link_touched_.assign(capacity_.size(), 0);
}

FlowNetwork::FlowId FlowNetwork::add_flow(std::span<const LinkId> path, std::span<const double> weights,
                                          double bytes, std::uint64_t owner) {
  DTSIM_CHECK(!path.empty(), "a flow needs at least one link");
  DTSIM_CHECK(weights.empty() || weights.size() == path.size(), "one weight per link");
  DTSIM_CHECK(bytes >= 0.0 && std::isfinite(bytes), "flow size must be finite and non-negative");
  FlowId id;
  if (!free_.empty()) {
    id = free_.top();
    free_.pop();
  } else {
    id = static_cast<FlowId>(flows_.size());
    flows_.emplace_back();
    slot_links_.emplace_back();
    slot_weights_.emplace_back();
  }
  Flow& f = flows_[id];
  f = Flow{};
  f.remaining = bytes;
  f.owner = owner;
  auto& links = slot_links_[id];
  auto& ws = slot_weights_[id];
  links.assign(path.begin(), path.end());
  ws.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    DTSIM_CHECK(path[i] < capacity_.size(), "flow path names an unknown link");
    const double w = weights.empty() ? 1.0 : weights[i];
    DTSIM_CHECK(w >= 1.0 && std::isfinite(w), "flow weights are multiplicities >= 1");
    ws.push_back(w);
  }
  active_.insert(std::upper_bound(active_.begin(), active_.end(), id), id);
  return id;
}

void FlowNetwork::advance_to(TimePoint now) {
  DTSIM_CHECK(now >= now_, "flow network time ran backwards");
  const double dt = (now - now_).seconds();
  now_ = now;
  if (dt <= 0.0) return;
  for (const FlowId id : active_) {
    Flow& f = flows_[id];
    f.remaining = std::max(0.0, f.remaining - f.rate * dt);
  }
}

void FlowNetwork::recompute_rates() {
  // Progressive filling: raise every unfrozen flow's rate together; the link
  // whose residual capacity runs out first freezes the flows crossing it.
  touched_links_.clear();
  for (const FlowId id : active_) {
    Flow& f = flows_[id];
    f.frozen = false;
    f.rate = 0.0;
    const auto& links = slot_links_[id];
    const auto& ws = slot_weights_[id];
    for (std::size_t i = 0; i < links.size(); ++i) {
      const LinkId l = links[i];
      if (!link_touched_[l]) {
        link_touched_[l] = 1;
        touched_links_.push_back(l);
        residual_[l] = capacity_[l];
        unfrozen_weight_[l] = 0.0;
      }
      unfrozen_weight_[l] += ws[i];
    }
  }
  // No need to sort the links: the minimum below is exact whatever the order,
  // each link's update is its own, and flows freeze in id order.

  std::size_t unfrozen = active_.size();
  double level = 0.0;  // the common rate of every unfrozen flow
  while (unfrozen > 0) {
    double best = std::numeric_limits<double>::infinity();
    for (const LinkId l : touched_links_) {
      if (unfrozen_weight_[l] <= 0.0) continue;
      best = std::min(best, residual_[l] / unfrozen_weight_[l]);
    }
    DTSIM_CHECK(std::isfinite(best), "unfrozen flows without a constraining link");
    const double increment = std::max(0.0, best);
    level += increment;
    // Charge the increment to every link, then freeze flows on saturated links.
    for (const LinkId l : touched_links_) {
      if (unfrozen_weight_[l] > 0.0) residual_[l] -= increment * unfrozen_weight_[l];
    }
    for (const FlowId id : active_) {
      Flow& f = flows_[id];
      if (f.frozen) continue;
      const auto& links = slot_links_[id];
      bool saturated = false;
      for (const LinkId l : links) {
        // Relative tolerance: the residual of a saturated link is rounding noise.
        if (residual_[l] <= 1e-9 * capacity_[l]) {
          saturated = true;
          break;
        }
      }
      if (!saturated) continue;
      f.frozen = true;
      f.rate = level;
      --unfrozen;
      const auto& ws = slot_weights_[id];
      for (std::size_t i = 0; i < links.size(); ++i) unfrozen_weight_[links[i]] -= ws[i];
    }
  }
  for (const LinkId l : touched_links_) link_touched_[l] = 0;
}

std::optional<TimePoint> FlowNetwork::next_completion() const {
  std::optional<TimePoint> best;
  for (const FlowId id : active_) {
    const Flow& f = flows_[id];
    TimePoint t = now_;
    if (f.remaining > kFinishedBytes) {
      DTSIM_CHECK(f.rate > 0.0, "a pending flow has no bandwidth");
      // Round up so that at the event the flow has fully drained.
      const double ps = std::ceil(f.remaining / f.rate * 1e12);
      t = now_ + Duration::from_ps(static_cast<std::int64_t>(ps));
    }
    if (!best || t < *best) best = t;
  }
  return best;
}

void FlowNetwork::collect_finished(std::vector<std::uint64_t>& owners) {
  std::size_t kept = 0;
  for (const FlowId id : active_) {
    Flow& f = flows_[id];
    if (f.remaining <= kFinishedBytes) {
      owners.push_back(f.owner);
      free_.push(id);
    } else {
      active_[kept++] = id;
    }
  }
  active_.resize(kept);
}

}  // namespace dtsim::sim
