// Micro benchmarks of the replay's hot paths: event queue push/pop and the
// flow network's max-min solver. Prints one table row per case: median of
// several repeats, and the rate. Not a test: run it by hand and compare ratios
// measured in one run (shared machines are noisy).
//
// Usage: dtsim_micro_bench [repeats]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "dtsim/core/engine.hpp"
#include "flow_network.hpp"

namespace {

using namespace dtsim;

struct Sink final : EventHandler {
  std::uint64_t sum = 0;
  void handle(Engine&, std::uint64_t tag) override { sum += tag; }
};

// Pushes n events at pseudo-random times, then drains them.
double event_queue_case(std::uint64_t n) {
  Engine engine;
  Sink sink;
  engine.reserve(n);
  std::uint64_t x = 88172645463325252ull;
  const double t0 = bench::now_seconds();
  for (std::uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    engine.schedule_at(TimePoint::from_ps(static_cast<std::int64_t>(x % 1000000000ull)), EventPriority::kStart, sink, i);
  }
  engine.run();
  const double t1 = bench::now_seconds();
  if (sink.sum == 0) std::abort();  // keep the work observable
  return t1 - t0;
}

// `flows` flows over a fabric of `links` links, each crossing 4 links, then
// one rate recomputation per flow removed.
double flow_solver_case(std::size_t flows, std::size_t links) {
  std::vector<Bandwidth> caps(links, Bandwidth::bytes_per_second(50e9));
  sim::FlowNetwork net(caps);
  std::vector<sim::FlowNetwork::LinkId> path(4);
  for (std::size_t f = 0; f < flows; ++f) {
    for (std::size_t k = 0; k < 4; ++k) path[k] = static_cast<sim::FlowNetwork::LinkId>((f * 7 + k * 131) % links);
    net.add_flow(path, {}, 1e6 * static_cast<double>(1 + f % 13), f);
  }
  const double t0 = bench::now_seconds();
  std::vector<std::uint64_t> done;
  while (net.active_flows() > 0) {
    net.recompute_rates();
    net.advance_to(*net.next_completion());
    net.collect_finished(done);
  }
  const double t1 = bench::now_seconds();
  if (done.size() != flows) std::abort();
  return t1 - t0;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  std::printf("%-36s %12s %16s\n", "case", "median (ms)", "rate");
  for (const std::uint64_t n : {100000ull, 1000000ull}) {
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) t.push_back(event_queue_case(n));
    const double m = bench::median(t);
    std::printf("%-36s %12.2f %12.2f M events/s\n", ("event queue push+pop, n=" + std::to_string(n)).c_str(),
                m * 1e3, static_cast<double>(n) / m / 1e6);
  }
  for (const std::size_t flows : {64u, 512u, 2048u}) {
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) t.push_back(flow_solver_case(flows, 4096));
    const double m = bench::median(t);
    std::printf("%-36s %12.2f %12.2f k solves/s\n", ("flow solver drain, flows=" + std::to_string(flows)).c_str(),
                m * 1e3, static_cast<double>(flows) / m / 1e3);
  }
  std::printf("peak RSS %.1f MiB\n", bench::peak_rss_mib());
  return 0;
}
