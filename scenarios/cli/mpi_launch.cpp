// Reading an MPI launcher's environment, in builds with and without MPI: a
// binary without MPI must notice that it was started by mpirun rather than
// run the whole sweep once per rank.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sweep_mpi.hpp"

namespace dtsim::cli {
namespace {

// The integer in environment variable `name`; nullopt-like -1 when unset or not a number.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return -1;
  const std::string_view text(v);
  int out = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() ? out : -1;
}

}  // namespace

MpiLaunch mpi_launch_from_env() {
  MpiLaunch launch;
  // Open MPI's mpirun, then MPICH / Intel MPI (Hydra) and Slurm's PMI-2, then PMIx alone.
  static constexpr const char* kVariables[][2] = {
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}, {"PMIX_RANK", nullptr}};
  for (const auto& [rank_name, size_name] : kVariables) {
    const int rank = env_int(rank_name);
    if (rank < 0) continue;
    launch.launched = true;
    launch.rank = rank;
    launch.size = size_name != nullptr ? std::max(env_int(size_name), 0) : 0;
    break;
  }
  return launch;
}

std::string mpi_refusal(const MpiLaunch& launch, std::string_view command) {
  const bool several = launch.size > 1 || launch.rank > 0;
  if (!several) return {};
  const std::string ranks = launch.size > 1 ? std::to_string(launch.size) : "several";
  if (!built_with_mpi()) {
    return "started by mpirun as one of " + ranks +
           " processes, but this dtsim was built without MPI, so every process would run the whole command; "
           "rebuild with MPI (install libopenmpi-dev, cmake -DDTSIM_WITH_MPI=ON) or run it without mpirun";
  }
  if (command != "sweep") {
    return "only 'dtsim sweep' runs under mpirun; '" + std::string(command) + "' would run once in each of the " +
           ranks + " processes";
  }
  return {};
}

}  // namespace dtsim::cli
