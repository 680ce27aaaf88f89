#include <catch2/catch.hpp>

#include <vector>

#include "dtsim/core/error.hpp"
#include "flow_network.hpp"

using namespace dtsim;
using namespace dtsim::sim;
using Catch::Matchers::WithinRel;

namespace {

std::vector<Bandwidth> caps(std::initializer_list<double> gbps) {
  std::vector<Bandwidth> out;
  for (double g : gbps) out.push_back(Bandwidth::bytes_per_second(g * 1e9));
  return out;
}

}  // namespace

TEST_CASE("a lone flow gets the whole link", "[flow]") {
  // T = N / B = 1e9 B / 100 GB/s = 10 ms
  FlowNetwork net(caps({100}));
  const std::vector<FlowNetwork::LinkId> path{0};
  net.add_flow(path, {}, 1e9, 1);
  net.recompute_rates();
  CHECK_THAT(net.rate(0).bytes_per_second(), WithinRel(100e9, 1e-12));
  CHECK_THAT(net.next_completion()->since_start().seconds(), WithinRel(0.01, 1e-9));
}

TEST_CASE("two equal flows on one link each get half", "[flow]") {
  // Each flow: B/2; both finish at 2N/B.
  FlowNetwork net(caps({100}));
  const std::vector<FlowNetwork::LinkId> path{0};
  net.add_flow(path, {}, 1e9, 1);
  net.add_flow(path, {}, 1e9, 2);
  net.recompute_rates();
  CHECK_THAT(net.rate(0).bytes_per_second(), WithinRel(50e9, 1e-12));
  CHECK_THAT(net.rate(1).bytes_per_second(), WithinRel(50e9, 1e-12));
  const TimePoint done = *net.next_completion();
  CHECK_THAT(done.since_start().seconds(), WithinRel(0.02, 1e-9));
  net.advance_to(done);
  std::vector<std::uint64_t> owners;
  net.collect_finished(owners);
  CHECK(owners == std::vector<std::uint64_t>{1, 2});
  CHECK(net.active_flows() == 0);
}

TEST_CASE("max-min fairness: the classic two-link example", "[flow]") {
  // Link A (1 GB/s) carries f1 and f2, link B (2 GB/s) carries f2 and f3.
  // A is the bottleneck: f1 = f2 = 0.5; f3 takes B's rest: 1.5.
  FlowNetwork net(caps({1, 2}));
  const std::vector<FlowNetwork::LinkId> a{0}, ab{0, 1}, b{1};
  net.add_flow(a, {}, 1e9, 1);
  net.add_flow(ab, {}, 1e9, 2);
  net.add_flow(b, {}, 1e9, 3);
  net.recompute_rates();
  CHECK_THAT(net.rate(0).bytes_per_second(), WithinRel(0.5e9, 1e-12));
  CHECK_THAT(net.rate(1).bytes_per_second(), WithinRel(0.5e9, 1e-12));
  CHECK_THAT(net.rate(2).bytes_per_second(), WithinRel(1.5e9, 1e-12));
}

TEST_CASE("a weighted flow stands for several identical flows", "[flow]") {
  // One flow of weight 3 and one of weight 1 share 100 GB/s as 4 equal
  // flows would: each rate is 25 GB/s.
  FlowNetwork net(caps({100}));
  const std::vector<FlowNetwork::LinkId> path{0};
  const std::vector<double> w3{3.0};
  net.add_flow(path, w3, 1e9, 1);
  net.add_flow(path, {}, 1e9, 2);
  net.recompute_rates();
  CHECK_THAT(net.rate(0).bytes_per_second(), WithinRel(25e9, 1e-12));
  CHECK_THAT(net.rate(1).bytes_per_second(), WithinRel(25e9, 1e-12));
}

TEST_CASE("rates rise when a competing flow finishes", "[flow]") {
  // f1 = 1 GB, f2 = 3 GB on 100 GB/s. Shared until f1 ends at 2*1e9/1e11 = 20 ms
  // (f2 has 2 GB left), then f2 alone: 20 ms more. f2 ends at 40 ms.
  FlowNetwork net(caps({100}));
  const std::vector<FlowNetwork::LinkId> path{0};
  net.add_flow(path, {}, 1e9, 1);
  net.add_flow(path, {}, 3e9, 2);
  net.recompute_rates();
  TimePoint t = *net.next_completion();
  CHECK_THAT(t.since_start().seconds(), WithinRel(0.02, 1e-9));
  net.advance_to(t);
  std::vector<std::uint64_t> owners;
  net.collect_finished(owners);
  REQUIRE(owners == std::vector<std::uint64_t>{1});
  net.recompute_rates();
  t = *net.next_completion();
  CHECK_THAT(t.since_start().seconds(), WithinRel(0.04, 1e-9));
}

TEST_CASE("invalid flows are internal errors", "[flow][errors]") {
  FlowNetwork net(caps({100}));
  const std::vector<FlowNetwork::LinkId> bad{5};
  CHECK_THROWS_AS(net.add_flow(bad, {}, 1.0, 1), InternalError);
  const std::vector<FlowNetwork::LinkId> empty;
  CHECK_THROWS_AS(net.add_flow(empty, {}, 1.0, 1), InternalError);
}
