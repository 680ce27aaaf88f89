// The measured-bandwidth correction of a fitted calibration for collectives
// inside one node (CollectiveParams::curves): plan_collective divides the
// bytes its transfers carry by this factor, so a plan's bandwidth term matches
// what NCCL was measured to reach for that kind, group size and message size.
#pragma once

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/calibration.hpp"

namespace dtsim::hardware {

// 1 when no curve has this kind. Otherwise the curve of the nearest measured
// group size (ties: the larger), interpolated linearly in log2(bytes) between
// its points and flat beyond its ends.
//
// Example: a 4-GPU all-reduce curve with factor 0.9 at 1 MiB and 1.0 at 4 MiB
// gives 0.95 at 2 MiB, for 4 GPUs and (nearest) 8 GPUs alike.
double collective_curve_factor(const CollectiveParams& params, CollectiveKind kind, int group_size, Bytes bytes);

}  // namespace dtsim::hardware
