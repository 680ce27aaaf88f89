// dtsim sweep over MPI ranks (built only when CMake found MPI). Rank r runs
// the shard r+1/N exactly as `dtsim sweep --shard r+1/N` does and serializes
// it as --json does; rank 0 receives the shards' bytes, reads them back and
// merges them with merge_sweep_results, so its table, CSV, JSON and plot are
// those of the single-process run, byte for byte. The other ranks print
// nothing.
//
// Errors: every phase that can throw is followed by an agreement (one
// MPI_Allreduce): when a rank failed, the lowest failing rank rethrows for
// main to print, once, and leaves with its exit status; the others leave
// with 0, so none is left waiting in a collective and the launcher, which
// aborts the job at the first non-zero exit, cannot kill the failing rank
// before it printed. mpirun's own status is the failing rank's. MPI's own errors abort the job
// (MPI_ERRORS_ARE_FATAL); a rank that dies is killed with the others by the
// launcher.
#define OMPI_SKIP_MPICXX 1   // the C API only: no C++ bindings library to link
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_common.hpp"
#include "sweep_cli.hpp"
#include "sweep_mpi.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

// MPI_Init / MPI_Finalize around one command, with this process's place in it.
class MpiSession {
 public:
  MpiSession() {
    int provided = 0;
    // Only the main thread calls MPI; TBB's workers never do.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Runs `work` on this rank, then agrees with every rank on whether any
// threw. None did: nullopt. Otherwise the lowest failing rank rethrows its
// exception and every other rank returns 0 (see the top of this file).
template <class Work>
std::optional<int> agree(const MpiSession& mpi, Work&& work) {
  std::exception_ptr error;
  try {
    work();
  } catch (...) {
    error = std::current_exception();
  }
  const int mine = error ? mpi.rank() : mpi.size();
  int lowest = mpi.size();
  MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (lowest == mpi.size()) return std::nullopt;
  if (mpi.rank() == lowest) std::rethrow_exception(error);
  return kExitOk;
}

// Threads for this rank when --threads is not given: the cores this process
// may use (the launcher may have bound it), shared with the other ranks on
// the same node, so N ranks on one machine do not run N x cores threads.
int default_threads() {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int ranks_on_node = 1;
  MPI_Comm_size(node, &ranks_on_node);
  MPI_Comm_free(&node);
  cpu_set_t set;
  CPU_ZERO(&set);
  const int usable = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  const int machine = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, std::min(usable, machine / ranks_on_node));
}

// Shard bytes to rank 0 in pieces that fit MPI's int counts.
constexpr std::uint64_t kPiece = 1u << 30;
constexpr int kTagLength = 1;
constexpr int kTagBytes = 2;

void send_to_root(const std::string& bytes) {
  std::uint64_t length = bytes.size();
  MPI_Send(&length, 1, MPI_UINT64_T, 0, kTagLength, MPI_COMM_WORLD);
  for (std::uint64_t at = 0; at < length; at += kPiece) {
    const auto n = static_cast<int>(std::min(kPiece, length - at));
    MPI_Send(bytes.data() + at, n, MPI_CHAR, 0, kTagBytes, MPI_COMM_WORLD);
  }
}

std::string receive_from(int rank) {
  std::uint64_t length = 0;
  MPI_Recv(&length, 1, MPI_UINT64_T, rank, kTagLength, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string bytes(length, '\0');
  for (std::uint64_t at = 0; at < length; at += kPiece) {
    const auto n = static_cast<int>(std::min(kPiece, length - at));
    MPI_Recv(bytes.data() + at, n, MPI_CHAR, rank, kTagBytes, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  return bytes;
}

}  // namespace

bool built_with_mpi() { return true; }

int command_sweep_mpi(std::span<const std::string_view> args) {
  const MpiSession mpi;

  // 1. Every rank reads the arguments and the sweep (the same on every rank,
  // so a bad input fails everywhere and is printed by rank 0 alone).
  SweepArgs a;
  SweepDefinition sweep;
  if (const auto status = agree(mpi, [&] {
        a = parse_sweep_args(args);
        if (a.shard) {
          throw UsageError("--shard does not combine with mpirun: the ranks are the shards");
        }
        sweep = read_sweep_for(a);
      })) {
    return *status;
  }

  // 2. This rank's shard, serialized as `dtsim sweep --shard` writes it.
  SweepOptions options;
  options.threads = a.threads > 0 ? a.threads : default_threads();
  options.shard = Shard{mpi.rank() + 1, mpi.size()};
  SweepArgs shown = a;
  shown.quiet = a.quiet || mpi.rank() != 0;  // one progress bar: rank 0's shard
  std::string bytes;
  if (const auto status = agree(mpi, [&] { bytes = render_sweep_json(run_sweep_with_progress(sweep, shown, options)); })) {
    return *status;
  }

  // 3. Rank 0 gathers the shards (every rank reaches this, nothing in it throws),
  if (mpi.rank() != 0) {
    send_to_root(bytes);
    bytes = {};
  }
  std::vector<std::string> shards;
  if (mpi.rank() == 0) {
    shards.push_back(std::move(bytes));
    for (int r = 1; r < mpi.size(); ++r) shards.push_back(receive_from(r));
  }

  // 4. merges them and reports; every rank exits with rank 0's status (a
  // regression found by the report is not an error: nothing is left to print).
  int status = kExitOk;
  if (const auto failed = agree(mpi, [&] {
        if (mpi.rank() != 0) return;
        std::vector<SweepResult> results;
        for (std::string& s : shards) {
          results.push_back(parse_sweep_json(s));
          s = {};
        }
        status = report(merge_sweep_results(std::move(results)), a.out);
      })) {
    return *failed;
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return status;
}

}  // namespace dtsim::cli
