// Turns a replay's task times into the report's breakdown and critical path.
#pragma once

#include <vector>

#include "dtsim/models/program.hpp"
#include "dtsim/sim/report.hpp"
#include "replay.hpp"

namespace dtsim::sim {

// Breakdown of the simulated rank that finishes last (`critical`, an index
// into result.ranks). Each idle gap on its compute stream is charged to the
// dependency that ended it: a pipeline recv -> bubble, a collective ->
// exposed communication (except the wait for a member on another pipeline
// stage before its rendezvous: bubble), anything else -> other.
Breakdown attribute_breakdown(const ReplayResult& result, std::size_t critical,
                              const std::vector<models::Program>& programs);

// Walks back from the last task to finish along each task's cause, merging
// consecutive tasks of one stage and phase into segments (in time order). A
// collective or transfer is charged from its rendezvous to its end; the wait
// before is on the path of the member that arrived last.
std::vector<CriticalPathSegment> critical_path(const ReplayResult& result, std::size_t critical,
                                               const std::vector<models::Program>& programs);

// Index of the simulated rank that finishes last (lowest rank on ties).
std::size_t critical_rank(const ReplayResult& result);

}  // namespace dtsim::sim
