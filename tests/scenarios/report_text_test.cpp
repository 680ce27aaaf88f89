// The readable report: what it must state, in the words users look for.
#include <catch2/catch.hpp>

#include "dtsim/scenarios/report_text.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;

namespace {

// Long fields wrap onto lines indented to the value column; join them back.
std::string unwrapped(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && text.compare(i + 1, 13, std::string(13, ' ')) == 0) {
      out += ' ';
      i += 13;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool has(const std::string& text, const std::string& part) { return unwrapped(text).find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the text report states what was simulated and the verdict", "[scenarios][report_text]") {
  const std::string t = render_text_report(sample_scenario(), sample_report());
  INFO(t);
  // The description follows the name, on lines of its own.
  CHECK(t.find("Scenario     sample\n             A \"quoted\" description.\n") != std::string::npos);
  CHECK(has(t, "Model        llama3-8b: 32 layers, hidden 4096, 32 heads (8 KV)"));
  CHECK(has(t, "Cluster      1 x dgx-h100 = 8 x h100-sxm"));
  CHECK(has(t, "Plan         TP 4 x PP 2 x DP 1; 1f1b; 16 micro-batches per replica"));
  CHECK(has(t, "Calibration  datasheet defaults (not fitted to measurements"));
  CHECK(has(t, "Step time    1.235 s\n"));
  CHECK(has(t, "Throughput   53,084 tokens/s (6,636 per GPU)"));
  CHECK(has(t, "MFU          41.2 % of 989.4 TFLOP/s bf16 per GPU"));
  CHECK(has(t, "  compute                      1.000 s    81.0 %\n"));
  CHECK(has(t, "  pipeline bubble           100.000 ms     8.1 %\n"));
  CHECK(has(t, "Peak 69.00 GiB of 79.18 GiB: fits."));
  CHECK(has(t, "symmetric: 2 ranks simulated (one per pipeline stage) for 8 GPUs; 123,456 events, 7,890 tasks"));
}

TEST_CASE("the text report lists the longest critical-path segments first", "[scenarios][report_text]") {
  TextReportOptions o;
  o.critical_path_segments = 2;
  const std::string t = render_text_report(sample_scenario(), sample_report(), o);
  INFO(t);
  CHECK(has(t, "Critical path: the 2 longest of 3 segments"));
  // Ties keep path order: the forward of layers 16-31 (starting at 200 ms) comes first.
  const auto fwd = t.find("forward mb 0 layers 16-31");
  const auto bwd = t.find("backward mb 0 layers 16-31");
  REQUIRE(fwd != std::string::npos);
  REQUIRE(bwd != std::string::npos);
  CHECK(fwd < bwd);
  CHECK_FALSE(has(t, "layers 0-15"));
}

TEST_CASE("the text report says out of memory plainly", "[scenarios][report_text]") {
  const std::string t = render_text_report(sample_scenario(), sample_report(false));
  INFO(t);
  CHECK(has(t, "OUT OF MEMORY: out of memory: stage 0 needs 69.00 GiB per GPU"));
  CHECK(has(t, "  OOM\n"));
}

TEST_CASE("a fitted calibration is named instead", "[scenarios][report_text]") {
  sim::Report r = sample_report();
  r.calibration_name = "h100-x1-fitted";
  const std::string t = render_text_report(sample_scenario(), r);
  CHECK(has(t, "Calibration  h100-x1-fitted\n"));
}
