#include "cli_common.hpp"

#include "dtsim/scenarios/did_you_mean.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

std::string node_for_gpu(const std::string& gpu_name) {
  // The presets hold the SXM parts; a PCIe or NVL card has other peaks and
  // bandwidths, so it maps to none (the caller asks for --node).
  if (gpu_name.find("PCIe") != std::string::npos || gpu_name.find("NVL") != std::string::npos) return {};
  if (gpu_name.find("H200") != std::string::npos) return "dgx-h200";
  if (gpu_name.find("H100") != std::string::npos) return "dgx-h100";
  if (gpu_name.find("A100") != std::string::npos) return "dgx-a100";
  if (gpu_name.find("B200") != std::string::npos) return "dgx-b200";
  return {};
}

// "unknown option '--jsn' for 'run'; did you mean '--json'?"
std::string with_hint(std::string_view what, std::string_view got, std::span<const std::string_view> known,
                      std::string_view context) {
  std::string message = "unknown " + std::string(what) + " '" + std::string(got) + "'";
  if (!context.empty()) message += " for '" + std::string(context) + "'";
  if (const auto hint = closest_name(got, known)) message += "; did you mean '" + std::string(*hint) + "'?";
  return message;
}

Scenario load(const std::string& file, const Catalogs& catalogs) {
  try {
    return load_scenario_file(file, catalogs);
  } catch (const InputError& e) {
    throw FileInputError(file, e);
  }
}

}  // namespace dtsim::cli
