// What a training run costs, from one step's prediction: time to train a
// number of tokens, GPU-hours, energy and money. A scenario's optional "cost"
// section (docs/scenario-format.md, docs/sweeps.md) holds the inputs.
//
// Contract (all exact but for the final floating-point products):
//   steps          = ceil(tokens / tokens_per_step)
//   time_to_train  = steps x step_time                       (seconds)
//   gpu_hours      = GPUs x time_to_train / 3600
//   energy         = GPUs x power x time_to_train x pue      (kWh; power is the
//                    GPU's board power unless the section gives one)
//   cost           = gpu_hours x gpu_hour_price              (in `currency`)
//
// Example:
//   CostSpec c{.tokens = 300'000'000'000, .gpu_hour_price = 2.0};
//   CostEstimate e = estimate_cost(c, report, gpu.tdp);   // e.cost: USD
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dtsim/core/units.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios {

struct CostSpec {
  std::int64_t tokens = 0;                 // tokens to train
  std::optional<double> gpu_hour_price;    // money per GPU per hour, in `currency`; none: no money figure
  std::string currency = "USD";            // a label for the price's unit
  std::optional<Power> gpu_power;          // average draw per GPU; none: the GPU's board power (tdp)
  double pue = 1.0;                        // facility power / IT power (>= 1)
};

struct CostEstimate {
  std::int64_t steps = 0;
  double time_to_train_s = 0.0;    // seconds
  double gpu_hours = 0.0;          // GPU x hours
  double energy_kwh = 0.0;         // kilowatt-hours at the facility
  std::optional<double> cost;      // in CostSpec::currency; none without a price
};

// Throws InputError when the report has no tokens per step or no step time.
CostEstimate estimate_cost(const CostSpec& spec, const sim::Report& report, Power gpu_board_power);

}  // namespace dtsim::scenarios
