#include "dtsim/models/rank_layout.hpp"

#include <string>

#include "dtsim/core/error.hpp"

namespace dtsim::models {
namespace {

// The first three GroupKinds name the three ParallelDim axes; this is the one mapping.
ParallelDim dim_of(GroupKind g) {
  switch (g) {
    case GroupKind::kTensor: return ParallelDim::kTensor;
    case GroupKind::kData: return ParallelDim::kData;
    case GroupKind::kPipeline: return ParallelDim::kPipeline;
    case GroupKind::kExpert:
    case GroupKind::kExpertData:
    case GroupKind::kExpertTensor:
    case GroupKind::kContext: break;
  }
  DTSIM_UNREACHABLE("not a layout axis");
  return ParallelDim::kTensor;
}

bool is_expert(GroupKind g) {
  return g == GroupKind::kExpert || g == GroupKind::kExpertData || g == GroupKind::kExpertTensor;
}

std::size_t index_of(ParallelDim d) { return static_cast<std::size_t>(d); }

}  // namespace

std::string_view to_string(GroupKind g) {
  switch (g) {
    case GroupKind::kTensor: return "tensor";
    case GroupKind::kData: return "data";
    case GroupKind::kPipeline: return "pipeline";
    case GroupKind::kExpert: return "expert";
    case GroupKind::kExpertData: return "expert-data";
    case GroupKind::kExpertTensor: return "expert-tensor";
    case GroupKind::kContext: return "context";
  }
  return "?";
}

RankLayout::RankLayout(const ParallelPlan& plan)
    : tp_(plan.tp), dp_(plan.dp), pp_(plan.pp), world_(0), cp_(plan.cp), order_(plan.order) {
  const std::array<std::pair<const char*, int>, 4> sizes{{{"/tp", tp_}, {"/dp", dp_}, {"/pp", pp_}, {"/cp", cp_}}};
  for (const auto& [path, size] : sizes) {
    if (size < 1) throw InputError(path, std::string(path + 1) + " = " + std::to_string(size) + "; expected an integer >= 1");
  }
  std::array<int, 3> seen{};
  for (const ParallelDim d : order_) {
    if (index_of(d) >= seen.size() || ++seen[index_of(d)] != 1) {
      throw InputError("/order", "order must name tensor, data and pipeline once each");
    }
  }
  // Innermost dimension first: its stride is 1, each next one is the product of those inside it.
  int stride = 1;
  for (const ParallelDim d : order_) {
    stride_[index_of(d)] = stride;
    stride *= size_of(d);
  }
  world_ = stride;
  ep_ = plan.ep;
  etp_ = plan.expert_tensor_parallel();
  const int stage_ranks = tp_ * dp_ * cp_;
  if (ep_ < 1 || etp_ < 1 || stage_ranks % (ep_ * etp_) != 0) {
    throw InputError("/ep", "ep x expert_tp = " + std::to_string(ep_) + " x " + std::to_string(etp_) +
                                " must divide tp x dp x cp = " + std::to_string(stage_ranks));
  }
  edp_ = stage_ranks / (ep_ * etp_);
}

std::vector<int> RankLayout::expert_group(GroupKind kind, int rank) const {
  const RankCoord c = coord_of(rank);
  const int i = c.tp + tp_ * data_index(c);
  const int e_tp = i % etp_;
  const int e_ep = (i / etp_) % ep_;
  const int e_dp = i / (etp_ * ep_);
  int size = etp_;
  if (kind == GroupKind::kExpert) size = ep_;
  if (kind == GroupKind::kExpertData) size = edp_;
  std::vector<int> members(static_cast<std::size_t>(size));
  for (int j = 0; j < size; ++j) {
    const int idx = kind == GroupKind::kExpertTensor ? j + etp_ * (e_ep + ep_ * e_dp)
                    : kind == GroupKind::kExpert     ? e_tp + etp_ * (j + ep_ * e_dp)
                                                     : e_tp + etp_ * (e_ep + ep_ * j);
    const int data = idx / tp_;
    members[static_cast<std::size_t>(j)] = rank_of(RankCoord{idx % tp_, data / cp_, c.pp, data % cp_});
  }
  return members;
}

int RankLayout::size_of(ParallelDim d) const {
  switch (d) {
    case ParallelDim::kTensor: return tp_;
    case ParallelDim::kData: return dp_ * cp_;
    case ParallelDim::kPipeline: return pp_;
  }
  return 1;
}

RankCoord RankLayout::coord_of(int rank) const {
  DTSIM_CHECK(rank >= 0 && rank < world_, "rank " + std::to_string(rank) + " outside the world of " +
                                              std::to_string(world_));
  auto along = [&](ParallelDim d) { return (rank / stride_[index_of(d)]) % size_of(d); };
  const int data = along(ParallelDim::kData);
  return RankCoord{along(ParallelDim::kTensor), data / cp_, along(ParallelDim::kPipeline), data % cp_};
}

int RankLayout::rank_of(RankCoord c) const {
  DTSIM_CHECK(c.tp >= 0 && c.tp < tp_ && c.dp >= 0 && c.dp < dp_ && c.pp >= 0 && c.pp < pp_ && c.cp >= 0 &&
                  c.cp < cp_,
              "rank coordinate outside the plan");
  return c.tp * stride_[index_of(ParallelDim::kTensor)] + data_index(c) * stride_[index_of(ParallelDim::kData)] +
         c.pp * stride_[index_of(ParallelDim::kPipeline)];
}

std::vector<int> RankLayout::group_of(GroupKind kind, int rank) const {
  if (is_expert(kind)) return expert_group(kind, rank);
  if (kind == GroupKind::kContext) {
    // The cp positions of the data axis that share rank's dp coordinate.
    RankCoord c = coord_of(rank);
    std::vector<int> members(static_cast<std::size_t>(cp_));
    for (int j = 0; j < cp_; ++j) {
      c.cp = j;
      members[static_cast<std::size_t>(j)] = rank_of(c);
    }
    return members;
  }
  const ParallelDim d = dim_of(kind);
  const int stride = stride_[index_of(d)];
  const int size = size_of(d);
  const int own = (rank / stride) % size;
  DTSIM_CHECK(rank >= 0 && rank < world_, "rank outside the world");
  const int base = rank - own * stride;
  std::vector<int> members(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) members[static_cast<std::size_t>(i)] = base + i * stride;
  return members;
}

int RankLayout::group_size(GroupKind kind) const {
  switch (kind) {
    case GroupKind::kExpert: return ep_;
    case GroupKind::kExpertData: return edp_;
    case GroupKind::kExpertTensor: return etp_;
    case GroupKind::kContext: return cp_;
    default: return size_of(dim_of(kind));
  }
}

int RankLayout::peer_in_stage(int rank, int stage) const {
  RankCoord c = coord_of(rank);
  DTSIM_CHECK(stage >= 0 && stage < pp_, "pipeline stage outside the plan");
  c.pp = stage;
  return rank_of(c);
}

}  // namespace dtsim::models
