// Shared by the dtsim command-line sources: exit codes, the two error kinds
// the CLI adds to the library's, and small argument helpers. Each command
// lives in its own file (run_commands.cpp, catalog_commands.cpp, ...) and
// main.cpp dispatches to them.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/scenarios/scenario.hpp"

namespace dtsim::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInput = 2;
inline constexpr int kExitInternal = 3;
inline constexpr int kExitCheckFailed = 4;  // dtsim check: a metric regressed

// Wrong arguments: exit 2 with a pointer to --help.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An input problem in a named file: diagnostics are printed after the file name.
class FileInputError : public std::runtime_error {
 public:
  FileInputError(std::string file, const InputError& e)
      : std::runtime_error(e.what()), file_(std::move(file)), diagnostics_(e.diagnostics()) {}
  const std::string& file() const { return file_; }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// "unknown option '--jsn' for 'run'; did you mean '--json'?"
std::string with_hint(std::string_view what, std::string_view got, std::span<const std::string_view> known,
                      std::string_view context = {});

// The node preset for what the driver calls a GPU ("NVIDIA H200" -> "dgx-h200"); "" if none
// (also for PCIe and NVL cards, which no preset holds).
std::string node_for_gpu(const std::string& gpu_name);

// Loads a scenario file; input problems become FileInputError naming it.
scenarios::Scenario load(const std::string& file, const scenarios::Catalogs& catalogs);

// The commands. Each takes the arguments after its name and returns the exit code.
int command_run(std::span<const std::string_view> args);
int command_validate(std::span<const std::string_view> args);
int command_list(std::span<const std::string_view> args);
int command_describe(std::span<const std::string_view> args);
int command_calibrate(std::span<const std::string_view> args);
int command_compare(std::span<const std::string_view> args);
int command_sweep(std::span<const std::string_view> args);
int command_merge(std::span<const std::string_view> args);
int command_plan(std::span<const std::string_view> args);
int command_check(std::span<const std::string_view> args);

}  // namespace dtsim::cli
