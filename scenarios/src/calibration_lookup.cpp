// Finding calibration files by name or path (calibration_io.hpp).
#include <algorithm>
#include <system_error>

#include "dtsim/scenarios/calibration_io.hpp"

namespace dtsim::scenarios {

namespace fs = std::filesystem;

std::optional<fs::path> find_calibration_file(std::string_view value, const fs::path& base_dir,
                                              std::span<const fs::path> dirs) {
  std::error_code ec;
  const bool is_path = value.find('/') != std::string_view::npos ||
                       (value.size() > 5 && value.substr(value.size() - 5) == ".json");
  if (is_path) {
    fs::path p(value);
    if (p.is_relative() && !base_dir.empty()) p = base_dir / p;
    if (fs::is_regular_file(p, ec)) return p;
    return std::nullopt;
  }
  for (const fs::path& dir : dirs) {
    const fs::path p = dir / (std::string(value) + ".json");
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

std::vector<std::string> calibration_names(std::span<const fs::path> dirs) {
  std::vector<std::string> names;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace dtsim::scenarios
