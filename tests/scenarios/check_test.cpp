// Baselines: comparisons within tolerance in the right direction, new and
// missing points, the file format round trip, and the JUnit report.
#include <catch2/catch.hpp>

#include "dtsim/scenarios/check.hpp"

namespace dtsim::scenarios {
namespace {

BaselineEntry entry(const char* point, double step, double tps, std::int64_t memory) {
  BaselineEntry e;
  e.file.assign("s.json");
  e.scenario.assign("scen");
  e.point.assign(point);
  e.step_time_s = step;
  e.tokens_per_second = tps;
  e.mfu = 0.5;
  e.peak_memory_bytes = memory;
  return e;
}

const CheckOutcome& outcome(const CheckReport& r, const std::string& point) {
  for (const CheckOutcome& o : r.outcomes) {
    if (o.point == point) return o;
  }
  FAIL("no outcome for " << point);
  return r.outcomes.front();
}

}  // namespace

TEST_CASE("checks fail only beyond the tolerance, in the worse direction", "[scenarios][check]") {
  Baseline b;  // default tolerances: step time 1 %, memory 0.5 %
  b.entries = {entry("a", 1.0, 100.0, 1000), entry("b", 1.0, 100.0, 1000), entry("c", 1.0, 100.0, 1000),
               entry("gone", 1.0, 100.0, 1000)};
  const std::vector<BaselineEntry> now{
      entry("a", 1.009, 100.0, 1000),  // +0.9 % < 1 %: holds
      entry("b", 1.02, 100.0, 1000),   // +2 %: regressed
      entry("c", 0.9, 111.0, 1000),    // faster and more throughput: improved, passes
      entry("fresh", 1.0, 100.0, 1000)};
  const CheckReport r = compare_to_baseline(b, now, {"s.json"});
  CHECK(outcome(r, "a").status == CheckStatus::kOk);
  CHECK(outcome(r, "b").status == CheckStatus::kRegressed);
  CHECK_THAT(outcome(r, "b").diffs[0].relative, Catch::Matchers::WithinRel(0.02, 1e-9));
  CHECK(outcome(r, "c").status == CheckStatus::kImproved);
  CHECK(outcome(r, "fresh").status == CheckStatus::kNew);
  CHECK(outcome(r, "gone").status == CheckStatus::kMissing);
  CHECK_FALSE(r.passed());

  Baseline only_ok = b;
  only_ok.entries = {entry("a", 1.0, 100.0, 1000), entry("c", 1.0, 100.0, 1000)};
  CHECK(compare_to_baseline(only_ok, {now[0], now[2]}, {"s.json"}).passed());
  // Entries of files not checked are neither compared nor missing.
  CHECK(compare_to_baseline(b, {}, {"other.json"}).outcomes.empty());
}

TEST_CASE("memory growth and a point that stops fitting are regressions", "[scenarios][check]") {
  Baseline b;
  b.entries = {entry("m", 1.0, 100.0, 1000), entry("oom", 1.0, 100.0, 1000)};
  BaselineEntry oom = entry("oom", 1.0, 100.0, 1000);
  oom.fits = false;
  const CheckReport r = compare_to_baseline(b, {entry("m", 1.0, 100.0, 1006), oom}, {"s.json"});
  CHECK(outcome(r, "m").status == CheckStatus::kRegressed);  // +0.6 % > 0.5 %
  CHECK(outcome(r, "oom").message == "no longer fits in memory");
}

TEST_CASE("baselines round-trip and reject bad tolerances", "[scenarios][check]") {
  Baseline b;
  b.tolerances.step_time = 0.02;
  b.entries = {entry("a", 1.0 / 3.0, 100.5, 123456789)};
  BaselineEntry skipped = entry("s", 0, 0, 0);
  skipped.skipped = true;
  skipped.reason = "/plan/tp: bad";
  b.entries.push_back(skipped);
  const std::string text = render_baseline(b);
  CHECK(render_baseline(parse_baseline(text)) == text);
  CHECK(parse_baseline(text).entries[0].step_time_s == 1.0 / 3.0);
  CHECK_THROWS_WITH(parse_baseline(R"({"baseline_version": 1, "tolerances": {"step_time": -1}, "entries": []})"),
                    "/tolerances/step_time: expected a relative tolerance from 0 to 10 (0.01 = 1 %), got -1.0");
  CHECK_THROWS_WITH(parse_baseline(R"({"baseline_version": 1, "tolerances": {"steptime": 1}, "entries": []})"),
                    "/tolerances/steptime: unknown key; did you mean 'step_time'?");
}

TEST_CASE("the JUnit report escapes names and marks failures", "[scenarios][check]") {
  CheckReport r;
  r.outcomes.push_back({"a&b.json", "s<1>", "tp=2", CheckStatus::kRegressed, {}, "no longer simulates: \"x\""});
  r.outcomes.push_back({"a&b.json", "s<1>", "tp=4", CheckStatus::kOk, {}, {}});
  const std::string xml = render_junit(r);
  CHECK(xml.find("<testsuites name=\"dtsim check\" tests=\"2\" failures=\"1\">") != std::string::npos);
  CHECK(xml.find("<testsuite name=\"a&amp;b.json\" tests=\"2\" failures=\"1\">") != std::string::npos);
  CHECK(xml.find("classname=\"dtsim.check.s&lt;1&gt;\" name=\"tp=4\" time=\"0\"/>") != std::string::npos);
  CHECK(xml.find("<failure message=\"REGRESSED: no longer simulates: &quot;x&quot;\"") != std::string::npos);
}

}  // namespace dtsim::scenarios
