// The parameter tables: internally consistent, aligned with the structs and
// enumerations they fill, and carried verbatim by docs/scenario-format.md.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/scenarios/parameters.hpp"
#include "field_reader.hpp"
#include "scenario_tables.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::detail;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename E, std::size_t N>
void check_choices_match(const NamedValue (&choices)[N], std::string_view (*name)(E)) {
  for (const NamedValue& c : choices) {
    INFO(c.name);
    CHECK(name(static_cast<E>(c.value)) == c.name);
  }
}

}  // namespace

TEST_CASE("every section's keys are unique and every default parses", "[scenarios][parameters]") {
  for (const Section& s : scenario_sections()) {
    std::set<std::string_view> keys;
    for (const Parameter& p : s.parameters) {
      INFO(std::string(s.name) + "." + std::string(p.key));
      CHECK(keys.insert(p.key).second);
      CHECK_FALSE(p.description.empty());
      if (p.presence == Presence::kDerived) CHECK_FALSE(p.default_value.empty());
      if (p.presence == Presence::kDefault && p.type != ValueType::kObject) CHECK_NOTHROW(default_value(p));
      if (p.type == ValueType::kObject || p.type == ValueType::kNameOrObject) {
        CHECK(find_section(scenario_sections(), p.section) != nullptr);
      }
      if (p.type == ValueType::kChoice || p.type == ValueType::kChoiceList) CHECK_FALSE(p.choices.empty());
    }
  }
}

TEST_CASE("choice names are the library's own names for its enumerators", "[scenarios][parameters]") {
  check_choices_match<models::MlpKind>(kMlpChoices, models::to_string);
  check_choices_match<models::NormKind>(kNormChoices, models::to_string);
  check_choices_match<models::PositionKind>(kPositionChoices, models::to_string);
  check_choices_match<models::PrecisionMode>(kPrecisionChoices, models::to_string);
  check_choices_match<models::Recompute>(kRecomputeChoices, models::to_string);
  check_choices_match<models::PipelineSchedule>(kScheduleChoices, models::to_string);
  check_choices_match<hardware::GpuArch>(kArchChoices, hardware::to_string);
  check_choices_match<hardware::FabricKind>(kFabricChoices, hardware::to_string);
  check_choices_match<hardware::CollectiveAlgorithm>(kAlgorithmChoices, hardware::to_string);
}

TEST_CASE("table defaults equal the library's own defaults", "[scenarios][parameters]") {
  // Applying every default to a zeroed struct must give the struct's defaults.
  models::ParallelPlan plan;
  plan.tp = plan.pp = plan.dp = plan.virtual_stages = 99;
  plan.zero_stage = 3;
  plan.sequence_parallel = true;
  plan.overlap_grad_reduce = plan.fsdp_prefetch = false;
  plan.schedule = models::PipelineSchedule::kGPipe;
  plan.order = {models::ParallelDim::kPipeline, models::ParallelDim::kData, models::ParallelDim::kTensor};
  plan.dp_bucket_size = Bytes(1);
  Diagnostics d;
  read_fields(Json::object(), "/plan", kPlanFields, plan, d);
  const models::ParallelPlan fresh;
  CHECK(plan.tp == fresh.tp);
  CHECK(plan.pp == fresh.pp);
  CHECK(plan.dp == fresh.dp);
  CHECK(plan.virtual_stages == fresh.virtual_stages);
  CHECK(plan.zero_stage == fresh.zero_stage);
  CHECK(plan.sequence_parallel == fresh.sequence_parallel);
  CHECK(plan.overlap_grad_reduce == fresh.overlap_grad_reduce);
  CHECK(plan.fsdp_prefetch == fresh.fsdp_prefetch);
  CHECK(plan.schedule == fresh.schedule);
  CHECK(plan.order == fresh.order);
  CHECK(plan.dp_bucket_size == fresh.dp_bucket_size);

  models::TrainingSpec training;
  training.micro_batch = 7;
  training.precision = models::PrecisionMode::kPureBf16;
  training.recompute = models::Recompute::kFull;
  training.clip_grad_norm = false;
  read_fields(Json::parse(R"({"seq_len": 1, "global_batch": 1})"), "/training", kTrainingFields, training, d);
  const models::TrainingSpec fresh_training;
  CHECK(training.micro_batch == fresh_training.micro_batch);
  CHECK(training.precision == fresh_training.precision);
  CHECK(training.recompute == fresh_training.recompute);
  CHECK(training.clip_grad_norm == fresh_training.clip_grad_norm);

  sim::SimulationOptions options;
  options.use_symmetry = false;
  options.algorithm = hardware::CollectiveAlgorithm::kTree;
  options.event_limit = 1;
  read_fields(Json::object(), "/simulation", kSimulationFields, options, d);
  const sim::SimulationOptions fresh_options;
  CHECK(options.use_symmetry == fresh_options.use_symmetry);
  CHECK(options.algorithm == fresh_options.algorithm);
  CHECK(options.event_limit == fresh_options.event_limit);
  CHECK(d.empty());
}

TEST_CASE("docs/scenario-format.md carries every table verbatim", "[scenarios][parameters][docs]") {
  const std::string doc = read(testing::source_path("docs/scenario-format.md"));
  REQUIRE_FALSE(doc.empty());
  for (const Section& s : scenario_sections()) {
    INFO("section " << s.name << ": regenerate with `dtsim describe " << s.name << " --markdown`");
    CHECK(doc.find(render_markdown(s)) != std::string::npos);
  }
}

TEST_CASE("describe text lists every key with its default", "[scenarios][parameters]") {
  const auto sections = scenario_sections();
  const Section* plan = find_section(sections, "plan");
  REQUIRE(plan != nullptr);
  const std::string text = render_text(*plan);
  for (const Parameter& p : plan->parameters) CHECK(text.find("\n  " + std::string(p.key) + "\n") != std::string::npos);
  CHECK(text.find("integer, 1 to 4096; default: 1") != std::string::npos);
  CHECK(find_section(sections, "nope") == nullptr);
  CHECK(plan->find("tp")->default_value == "1");
  CHECK(plan->find("nope") == nullptr);
}

TEST_CASE("type and default texts read as documented", "[scenarios][parameters]") {
  const auto sections = scenario_sections();
  const Section& node = *find_section(sections, "node");
  CHECK(type_text(*node.find("nic_bandwidth")) == "bandwidth > 0 (\"400 Gb/s\")");
  CHECK(default_text(*node.find("nic_bandwidth")) == "from base");
  CHECK(default_text(*node.find("base")) == "required");
  const Section& plan = *find_section(sections, "plan");
  CHECK(type_text(*plan.find("schedule")) == "one of gpipe, 1f1b, interleaved-1f1b, zb-h1, dualpipe");
  CHECK(type_text(*plan.find("order")) == "array of tp, dp, pp");
  CHECK(default_text(*plan.find("dp_bucket_size")) == "\"160 MB\"");
  CHECK(render_markdown(plan).find("| `tp` | integer, 1 to 4096 | `1` | Tensor-parallel size") != std::string::npos);
}
