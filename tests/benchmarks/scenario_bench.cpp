// Scenario benchmark: for each scenario, the wall time of loading and
// simulating it (median of several runs), the simulated events per second and
// the peak memory. Each scenario runs in a child process of its own so that
// its peak resident set is its own (the parent reads it from wait4).
// Not a test: run it by hand on a quiet machine; docs/performance.md keeps
// its output.
//
// Usage: dtsim_scenario_bench [--repeat N] [SCENARIO.json...]
//        (no scenario: every scenarios/*.json of the source tree)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/simulation.hpp"

namespace {

using namespace dtsim;

struct Measurement {
  int gpus = 0;
  int simulated_ranks = 0;
  std::uint64_t events = 0;
  double wall_s = 0.0;      // load + lower + simulate, median
  double simulate_s = 0.0;  // simulate() alone, median
};

// Child side: run one scenario `repeat` times and print one result line.
int run_one(const std::string& file, int repeat) {
  const scenarios::Catalogs catalogs = scenarios::builtin_catalogs();
  std::vector<double> wall, simulate;
  Measurement m;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = bench::now_seconds();
    const scenarios::Scenario s = scenarios::load_scenario_file(file, catalogs);
    const double t1 = bench::now_seconds();
    const sim::Report r = sim::simulate(s.spec);
    const double t2 = bench::now_seconds();
    wall.push_back(t2 - t0);
    simulate.push_back(t2 - t1);
    m.gpus = r.num_gpus;
    m.simulated_ranks = r.simulated_ranks;
    m.events = r.events;
  }
  std::printf("RESULT %d %d %llu %.6f %.6f\n", m.gpus, m.simulated_ranks, static_cast<unsigned long long>(m.events),
              bench::median(wall), bench::median(simulate));
  return 0;
}

// Parent side: the child's result line and its peak RSS in MiB.
bool measure_in_child(const char* self, const std::string& file, int repeat, Measurement& m, double& rss_mib) {
  int fd[2];
  if (pipe(fd) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], STDOUT_FILENO);
    const std::string rep = std::to_string(repeat);
    execl(self, self, "--one", file.c_str(), "--repeat", rep.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fd[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fd[0]);
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  unsigned long long events = 0;
  if (std::sscanf(out.c_str(), "RESULT %d %d %llu %lf %lf", &m.gpus, &m.simulated_ranks, &events, &m.wall_s,
                  &m.simulate_s) != 5) {
    return false;
  }
  m.events = events;
  return true;
}

std::vector<std::string> default_scenarios() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(DTSIM_SOURCE_DIR) + "/scenarios")) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5;
  std::string one;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--one" && i + 1 < argc) {
      one = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "usage: dtsim_scenario_bench [--repeat N] [SCENARIO.json...]\n");
      return 2;
    } else {
      files.push_back(a);
    }
  }
  try {
    if (!one.empty()) return run_one(one, repeat);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", one.c_str(), e.what());
    return 1;
  }
  if (files.empty()) files = default_scenarios();
  std::printf("%-44s %7s %6s %9s %9s %10s %12s %9s\n", "scenario", "GPUs", "ranks", "events", "wall s",
              "simulate s", "events/s", "peak MiB");
  int failures = 0;
  for (const std::string& f : files) {
    Measurement m;
    double rss = 0.0;
    const std::string name = std::filesystem::path(f).stem().string();
    if (!measure_in_child("/proc/self/exe", f, repeat, m, rss)) {
      std::printf("%-44s failed\n", name.c_str());
      ++failures;
      continue;
    }
    const double rate = m.simulate_s > 0.0 ? static_cast<double>(m.events) / m.simulate_s : 0.0;
    std::printf("%-44s %7d %6d %9llu %9.3f %10.3f %12.0f %9.1f\n", name.c_str(), m.gpus, m.simulated_ranks,
                static_cast<unsigned long long>(m.events), m.wall_s, m.simulate_s, rate, rss);
  }
  std::printf("(median of %d runs per scenario, each scenario in its own process)\n", repeat);
  return failures == 0 ? 0 : 1;
}
