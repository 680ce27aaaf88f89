// Time to train, GPU-hours, energy and cost from a step, and the cost section.
#include <catch2/catch.hpp>

#include "dtsim/scenarios/cost.hpp"
#include "scenario_test_util.hpp"

namespace dtsim::scenarios {

using Catch::Matchers::WithinRel;

TEST_CASE("cost figures follow from whole steps", "[scenarios][cost]") {
  sim::Report r;
  r.num_gpus = 8;
  r.tokens_per_step = 1000;
  r.step_time = seconds_to_duration(2.0);
  const CostSpec spec{.tokens = 10'500, .gpu_hour_price = 2.0, .currency = "EUR", .gpu_power = std::nullopt, .pue = 1.5};
  const CostEstimate e = estimate_cost(spec, r, Power::watts(700));
  // ceil(10500 / 1000) = 11 steps of 2 s = 22 s; 8 GPUs x 22 s = 176 GPU-seconds.
  CHECK(e.steps == 11);
  CHECK_THAT(e.time_to_train_s, WithinRel(22.0, 1e-12));
  CHECK_THAT(e.gpu_hours, WithinRel(176.0 / 3600.0, 1e-12));
  // 176/3600 GPU-hours x 700 W x PUE 1.5 = 51.33 Wh.
  CHECK_THAT(e.energy_kwh, WithinRel(176.0 / 3600.0 * 700.0 * 1.5 / 1000.0, 1e-12));
  REQUIRE(e.cost.has_value());
  CHECK_THAT(*e.cost, WithinRel(176.0 / 3600.0 * 2.0, 1e-12));

  CostSpec measured = spec;
  measured.gpu_power = Power::watts(350);
  measured.gpu_hour_price.reset();
  const CostEstimate half = estimate_cost(measured, r, Power::watts(700));
  CHECK_THAT(half.energy_kwh, WithinRel(e.energy_kwh / 2.0, 1e-12));
  CHECK_FALSE(half.cost.has_value());
}

TEST_CASE("the cost section is read with units and checked", "[scenarios][cost]") {
  auto j = testing::minimal_scenario();
  j["cost"] = testing::Json::parse(R"({"tokens": 1000000, "gpu_hour_price": 3.5, "gpu_power": "0.6 kW"})");
  const Scenario s = testing::load(j);
  REQUIRE(s.cost.has_value());
  CHECK(s.cost->tokens == 1'000'000);
  CHECK(s.cost->gpu_hour_price == 3.5);
  CHECK(s.cost->currency == "USD");
  CHECK(s.cost->gpu_power->watts() == 600.0);
  CHECK(s.cost->pue == 1.0);

  j["cost"] = testing::Json::parse(R"({"gpu_hour_price": -1, "pue": 0.5})");
  const auto problems = testing::problems(j);
  REQUIRE(problems.size() == 3);
  // In the table's order: tokens (missing), gpu_hour_price, pue.
  CHECK(problems[0].path == "/cost");
  CHECK(problems[0].message == "missing required key 'tokens'");
  CHECK(problems[1].path == "/cost/gpu_hour_price");
  CHECK(problems[2].path == "/cost/pue");

  CHECK_FALSE(testing::load(testing::minimal_scenario()).cost.has_value());
}

}  // namespace dtsim::scenarios
