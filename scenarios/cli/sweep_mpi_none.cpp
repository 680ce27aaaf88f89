// The build without MPI (DTSIM_WITH_MPI=OFF or MPI not found): main refuses
// to run under a launcher with more than one rank (mpi_refusal), and
// command_sweep never calls command_sweep_mpi.
#include "dtsim/core/error.hpp"
#include "sweep_mpi.hpp"

namespace dtsim::cli {

bool built_with_mpi() { return false; }

int command_sweep_mpi(std::span<const std::string_view> /*args*/) {
  throw InternalError("command_sweep_mpi called in a build without MPI");
}

}  // namespace dtsim::cli
