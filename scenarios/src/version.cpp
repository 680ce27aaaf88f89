#include "dtsim/scenarios/version.hpp"

namespace dtsim::scenarios {

// DTSIM_VERSION comes from the project() version in the top CMakeLists.txt.
std::string_view version() { return DTSIM_VERSION; }

}  // namespace dtsim::scenarios
