// The --json report: every promised field, fixed key order, deterministic
// bytes, and a document (docs/report-format.md) that names every field.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "dtsim/scenarios/report_json.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;

namespace {

// Every field's dotted path, arrays as "[]": "memory.stages[].total_bytes".
void collect_paths(const Json& j, const std::string& prefix, std::set<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      const std::string p = prefix.empty() ? k : prefix + "." + k;
      out.insert(p);
      collect_paths(v, p, out);
    }
  } else if (j.is_array()) {
    for (const auto& e : j) collect_paths(e, prefix + "[]", out);
  }
}

}  // namespace

TEST_CASE("the JSON report holds every promised field", "[scenarios][report_json]") {
  const Scenario s = sample_scenario();
  const Json j = Json::parse(render_json_report(s, sample_report()));
  CHECK(j["report_version"] == kReportVersion);
  CHECK(j["step_time_s"].get<double>() == Approx(1.234567890123));
  CHECK(j["tokens_per_s"].get<double>() == Approx(65536 / 1.234567890123));
  CHECK(j["mfu"].get<double>() == Approx(0.4123456789));
  for (const char* k : {"compute_s", "exposed_comm_s", "bubble_s", "optimizer_s", "host_wait_s", "other_s"}) {
    INFO(k);
    CHECK(j["breakdown"][k].is_number());
  }
  CHECK(j["breakdown"]["compute_s"].get<double>() == Approx(1.0));
  CHECK(j["memory"]["peak_bytes"].get<std::int64_t>() == 69LL << 30);
  CHECK(j["memory"]["capacity_bytes"].get<std::int64_t>() == 85'017'493'504);
  CHECK(j["memory"]["fits"] == true);
  REQUIRE(j["memory"]["stages"].size() == 2);
  CHECK(j["memory"]["stages"][0]["total_bytes"].get<std::int64_t>() == 69LL << 30);
  CHECK(j["memory"]["stages"][1]["activations_bytes"].get<std::int64_t>() == 10LL << 30);
  REQUIRE(j["critical_path"].size() == 3);
  CHECK(j["critical_path"][2]["phase"] == "backward");
  CHECK(j["critical_path"][2]["start_s"].get<double>() == Approx(0.5));
  CHECK(j["calibration"]["name"] == "datasheet-defaults");
  CHECK(j["calibration"]["datasheet_defaults"] == true);
  CHECK(j["scenario"]["name"] == "sample");
  CHECK(j["scenario"]["description"] == "A \"quoted\" description.");
  CHECK(j["simulation"]["symmetric"] == true);
  CHECK(j["simulation"]["simulated_ranks"] == 2);
  CHECK(j["simulation"]["events"] == 123456);
  CHECK(j["plan"]["schedule"] == "1f1b");
  CHECK(j["training"]["precision"] == "megatron_bf16");
  CHECK(j["cluster"]["num_gpus"] == 8);
}

TEST_CASE("the JSON report's top-level keys come in a fixed order", "[scenarios][report_json]") {
  const std::string text = render_json_report(sample_scenario(), sample_report());
  const char* order[] = {"\"report_version\"", "\"dtsim_version\"", "\"scenario\"", "\"model\"", "\"training\"",
                         "\"plan\"", "\"cluster\"", "\"calibration\"", "\"step_time_s\"", "\"tokens_per_s\"",
                         "\"tokens_per_s_per_gpu\"", "\"mfu\"", "\"model_flops\"", "\"breakdown\"", "\"memory\"",
                         "\"critical_path\"", "\"simulation\""};
  std::size_t at = 0;
  for (const char* k : order) {
    INFO(k);
    const std::size_t found = text.find(std::string("\n  ") + k);
    REQUIRE(found != std::string::npos);
    CHECK(found >= at);
    at = found;
  }
}

TEST_CASE("the JSON report is byte-identical for the same input", "[scenarios][report_json]") {
  const Scenario s = sample_scenario();
  const std::string a = render_json_report(s, sample_report());
  const std::string b = render_json_report(sample_scenario(), sample_report());
  CHECK(a == b);
  // Numbers print with 9 significant digits.
  CHECK(a.find("\"step_time_s\": 1.23456789,") != std::string::npos);
  CHECK(a.find("\"mfu\": 0.412345679,") != std::string::npos);
}

TEST_CASE("an out-of-memory verdict is carried", "[scenarios][report_json]") {
  const Json j = Json::parse(render_json_report(sample_scenario(), sample_report(false)));
  CHECK(j["memory"]["fits"] == false);
  CHECK(j["memory"]["stages"][0]["fits"] == false);
  CHECK(j["memory"]["oom_message"].get<std::string>().rfind("out of memory: stage 0", 0) == 0);
}

TEST_CASE("docs/report-format.md documents every field", "[scenarios][report_json][docs]") {
  std::ifstream in(source_path("docs/report-format.md"));
  std::ostringstream doc;
  doc << in.rdbuf();
  REQUIRE_FALSE(doc.str().empty());
  std::set<std::string> paths;
  collect_paths(Json::parse(render_json_report(sample_scenario(), sample_report())), "", paths);
  for (const std::string& p : paths) {
    INFO(p);
    CHECK(doc.str().find("`" + p + "`") != std::string::npos);
  }
}
