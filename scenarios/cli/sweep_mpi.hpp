// `mpirun -n N dtsim sweep FILE ...`: the sweep's points split over the MPI
// ranks as the shards 1/N .. N/N, gathered and merged on rank 0, which alone
// prints and writes, the same bytes as `dtsim sweep FILE ...` in one process.
// MPI is optional (CMake DTSIM_WITH_MPI): sweep_mpi.cpp when the build found
// it, sweep_mpi_none.cpp otherwise; mpi_launch.cpp is in both. Nothing below
// the command line knows about MPI.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dtsim::cli {

// What an MPI launcher (Open MPI's mpirun, MPICH's Hydra, a PMIx launcher)
// told this process through its environment.
struct MpiLaunch {
  bool launched = false;  // started by a launcher, even as the only rank
  int rank = 0;
  int size = 1;  // 0 when the launcher does not say (PMIx alone)
};
MpiLaunch mpi_launch_from_env();

// True when this binary was built with MPI.
bool built_with_mpi();

// Why `command` must not run in this process as launched (a binary without
// MPI started as one of several ranks would run every rank's copy in full; a
// command other than sweep would too); empty when it may run.
std::string mpi_refusal(const MpiLaunch& launch, std::string_view command);

// dtsim sweep over the MPI ranks (MPI builds only; the other build's refusal
// keeps it from being called). Errors are agreed on by every rank: the
// lowest rank that failed throws (main prints the error once) and the others
// return its exit status without printing.
int command_sweep_mpi(std::span<const std::string_view> args);

}  // namespace dtsim::cli
