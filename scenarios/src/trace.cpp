#include "dtsim/scenarios/trace.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "dtsim/models/rank_layout.hpp"
#include "dtsim/scenarios/version.hpp"
#include "json_writer.hpp"

namespace dtsim::scenarios {
namespace {

using detail::JsonWriter;

// Thread names as a performance engineer reads them; tid is the stream's index.
std::string_view stream_title(models::StreamKind s) {
  switch (s) {
    case models::StreamKind::kCompute: return "compute";
    case models::StreamKind::kTensorComm: return "tp comm";
    case models::StreamKind::kDataComm: return "dp comm";
    case models::StreamKind::kSendForward: return "pp send fwd";
    case models::StreamKind::kSendBackward: return "pp send bwd";
    case models::StreamKind::kRecvForward: return "pp recv fwd";
    case models::StreamKind::kRecvBackward: return "pp recv bwd";
    case models::StreamKind::kSendForwardReverse: return "pp send fwd (reverse)";
    case models::StreamKind::kSendBackwardReverse: return "pp send bwd (reverse)";
    case models::StreamKind::kRecvForwardReverse: return "pp recv fwd (reverse)";
    case models::StreamKind::kRecvBackwardReverse: return "pp recv bwd (reverse)";
    case models::StreamKind::kExpertComm: return "ep comm";
  }
  return "stream";
}

// Trace time is microseconds; printing picoseconds as integer micro and
// fraction keeps it exact and independent of floating-point formatting.
std::string microseconds(std::int64_t ps) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%06" PRId64, ps / 1000000, ps % 1000000);
  return buf;
}

// "0-7, 64-71, 128-135, 192-199, ...": the ranks of one stage, as ranges.
std::string rank_ranges(const std::vector<int>& ranks) {
  constexpr std::size_t kShownRanges = 4;
  std::string out;
  std::size_t ranges = 0;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (ranges == kShownRanges) {
      out += ", ...";
      break;
    }
    if (ranges > 0) out += ", ";
    out += std::to_string(ranks[i]);
    if (j > i) out.append("-").append(std::to_string(ranks[j]));
    ++ranges;
    i = j + 1;
  }
  return out;
}

// Symmetric runs show one representative per stage: name every rank it stands for.
std::string stage_title(int stage, const std::vector<int>& members) {
  std::string title = "stage " + std::to_string(stage);
  if (members.size() == 1) return title + " (rank " + std::to_string(members.front()) + ")";
  return title + " (" + std::to_string(members.size()) + " ranks: " + rank_ranges(members) + ")";
}

std::string rank_title(const models::RankLayout& layout, int rank, int stage) {
  const models::RankCoord c = layout.coord_of(rank);
  return "rank " + std::to_string(rank) + " (stage " + std::to_string(stage) + ", tp " + std::to_string(c.tp) +
         ", dp " + std::to_string(c.dp) + ")";
}

void write_metadata(std::ostream& out, const Scenario& s, const sim::Report& r) {
  const models::RankLayout layout(s.spec.plan);
  std::map<int, int> stage_of_rank;                // ordered: deterministic output
  std::map<int, std::set<int>> streams_of_rank;
  for (const sim::TimelineEntry& e : r.timeline) {
    stage_of_rank.emplace(e.rank, e.stage);
    streams_of_rank[e.rank].insert(static_cast<int>(e.stream));
  }
  // O(world) once, not per stage: clusters reach a million ranks.
  std::vector<std::vector<int>> members(static_cast<std::size_t>(layout.num_classes()));
  if (r.symmetric) {
    for (int q = 0; q < layout.world_size(); ++q) members[static_cast<std::size_t>(layout.class_of(q))].push_back(q);
  }
  for (const auto& [rank, stage] : stage_of_rank) {
    DTSIM_CHECK(stage >= 0 && stage < layout.num_classes(), "a timeline entry has no pipeline stage of the plan");
    const std::string title = r.symmetric ? stage_title(stage, members[static_cast<std::size_t>(stage)])
                                          : rank_title(layout, rank, stage);
    JsonWriter w;
    w.begin_object().key("ph").string("M").key("name").string("process_name").key("pid").integer(rank);
    w.key("tid").integer(0).key("args").begin_object().key("name").string(title);
    w.end_object().end_object();
    out << w.text() << ",\n";
    JsonWriter order;
    order.begin_object().key("ph").string("M").key("name").string("process_sort_index").key("pid").integer(rank);
    order.key("tid").integer(0).key("args").begin_object().key("sort_index").integer(rank).end_object().end_object();
    out << order.text() << ",\n";
    for (const int stream : streams_of_rank[rank]) {
      JsonWriter t;
      t.begin_object().key("ph").string("M").key("name").string("thread_name").key("pid").integer(rank);
      t.key("tid").integer(stream).key("args").begin_object().key("name");
      t.string(stream_title(static_cast<models::StreamKind>(stream))).end_object().end_object();
      out << t.text() << ",\n";
      JsonWriter ts;
      ts.begin_object().key("ph").string("M").key("name").string("thread_sort_index").key("pid").integer(rank);
      ts.key("tid").integer(stream).key("args").begin_object().key("sort_index").integer(stream);
      ts.end_object().end_object();
      out << ts.text() << ",\n";
    }
  }
}

}  // namespace

void write_trace(std::ostream& out, const Scenario& s, const sim::Report& r) {
  DTSIM_CHECK(!r.timeline.empty(), "the report has no timeline: simulate with options.record_timeline = true");
  out << "{\"traceEvents\":[\n";
  write_metadata(out, s, r);
  bool first = true;
  for (const sim::TimelineEntry& e : r.timeline) {
    DTSIM_CHECK(e.label < r.labels.size(), "a timeline entry names a label the report does not have");
    JsonWriter w;
    const std::string_view phase = models::to_string(e.phase);
    w.begin_object();
    w.key("ph").string("X");
    w.key("name").string(r.labels[e.label]);
    w.key("cat").string(phase);
    w.key("pid").integer(e.rank);
    w.key("tid").integer(static_cast<int>(e.stream));
    w.key("ts").raw_number(microseconds(e.start.ps()));
    w.key("dur").raw_number(microseconds((e.end - e.start).ps()));
    w.key("args").begin_object();
    w.key("phase").string(phase);
    w.key("stage").integer(e.stage);
    if (e.microbatch >= 0) w.key("microbatch").integer(e.microbatch);
    if (e.layer >= 0) w.key("layer").integer(e.layer);
    w.end_object();
    w.end_object();
    if (!first) out << ",\n";
    out << w.text();
    first = false;
  }
  JsonWriter other;
  other.begin_object();
  other.key("scenario").string(s.name);
  other.key("dtsim_version").string(version());
  other.key("step_time_s").number(r.step_time.seconds());
  other.key("symmetric").boolean(r.symmetric);
  other.end_object();
  out << "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":" << other.text() << "}\n";
}

std::string render_trace(const Scenario& scenario, const sim::Report& report) {
  std::ostringstream out;
  write_trace(out, scenario, report);
  return out.str();
}

}  // namespace dtsim::scenarios
