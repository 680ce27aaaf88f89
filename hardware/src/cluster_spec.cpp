#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

std::string_view to_string(FabricKind k) {
  switch (k) {
    case FabricKind::kInfiniBand: return "infiniband";
    case FabricKind::kRoce: return "roce";
  }
  return "?";
}

}  // namespace dtsim::hardware
