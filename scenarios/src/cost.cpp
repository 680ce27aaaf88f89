#include "dtsim/scenarios/cost.hpp"

#include "dtsim/core/error.hpp"

namespace dtsim::scenarios {

CostEstimate estimate_cost(const CostSpec& spec, const sim::Report& report, Power gpu_board_power) {
  if (report.tokens_per_step <= 0 || report.step_time <= Duration()) {
    throw InputError("/cost", "the prediction has no step time or no tokens per step to cost");
  }
  CostEstimate e;
  // Whole steps: a run stops after the step that reaches the token count.
  e.steps = (spec.tokens + report.tokens_per_step - 1) / report.tokens_per_step;
  e.time_to_train_s = static_cast<double>(e.steps) * report.step_time.seconds();
  const double gpus = static_cast<double>(report.num_gpus);
  e.gpu_hours = gpus * e.time_to_train_s / 3600.0;
  const double watts = spec.gpu_power.value_or(gpu_board_power).watts();
  e.energy_kwh = e.gpu_hours * watts * spec.pue / 1000.0;
  if (spec.gpu_hour_price) e.cost = e.gpu_hours * *spec.gpu_hour_price;
  return e;
}

}  // namespace dtsim::scenarios
