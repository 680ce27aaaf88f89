// dtsim's version, as the build configured it ("0.1.0").
#pragma once

#include <string_view>

namespace dtsim::scenarios {

std::string_view version();

}  // namespace dtsim::scenarios
