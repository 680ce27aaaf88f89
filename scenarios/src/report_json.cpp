#include "dtsim/scenarios/report_json.hpp"

#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/scenarios/version.hpp"
#include "json_writer.hpp"
#include "scenario_tables.hpp"

namespace dtsim::scenarios {
namespace {

using detail::JsonWriter;
using detail::name_of;

void write_identity(JsonWriter& w, const Scenario& s, const sim::Report& r) {
  const auto& spec = s.spec;
  w.key("scenario").begin_object();
  w.key("name").string(s.name);
  w.key("description").string(s.description);
  w.key("file").string(s.file);
  w.end_object();

  const models::ModelSpec& m = spec.model;
  w.key("model").begin_object();
  w.key("name").string(m.name);
  w.key("base").string(s.model_base);
  w.key("parameters").integer(models::parameter_count(m));
  w.key("num_layers").integer(m.num_layers);
  w.key("hidden").integer(m.hidden);
  w.key("num_heads").integer(m.num_heads);
  w.key("num_kv_heads").integer(m.num_kv_heads);
  w.key("ffn_hidden").integer(m.ffn_hidden);
  w.key("vocab_size").integer(m.vocab_size);
  w.end_object();

  const models::TrainingSpec& t = spec.training;
  w.key("training").begin_object();
  w.key("seq_len").integer(t.seq_len);
  w.key("global_batch").integer(t.global_batch);
  w.key("micro_batch").integer(t.micro_batch);
  w.key("precision").string(name_of(detail::kPrecisionChoices, t.precision));
  w.key("recompute").string(name_of(detail::kRecomputeChoices, t.recompute));
  // Only when the scenario lists them: a report without the key is a
  // scenario without the list (selective = the attention core).
  if (!t.recompute_modules.empty()) {
    w.key("recompute_modules").begin_array();
    for (const models::RecomputeModule module : t.recompute_modules) {
      w.string(name_of(detail::kRecomputeModuleChoices, module));
    }
    w.end_array();
  }
  // Only when not the default (fused), as recompute_modules.
  if (t.optimizer != models::OptimizerImpl::kFused) w.key("optimizer").string(name_of(detail::kOptimizerChoices, t.optimizer));
  w.key("tokens_per_step").integer(r.tokens_per_step);
  w.end_object();

  const models::ParallelPlan& p = spec.plan;
  w.key("plan").begin_object();
  w.key("tp").integer(p.tp);
  w.key("pp").integer(p.pp);
  w.key("dp").integer(p.dp);
  w.key("cp").integer(p.cp);
  w.key("ep").integer(p.ep);
  w.key("virtual_stages").integer(p.virtual_stages);
  w.key("sequence_parallel").boolean(p.sequence_parallel);
  w.key("zero_stage").integer(p.zero_stage);
  w.key("schedule").string(name_of(detail::kScheduleChoices, p.schedule));
  if (p.ep_comm_overlap) w.key("ep_comm_overlap").boolean(true);
  w.key("num_microbatches").integer(r.num_microbatches);
  w.end_object();

  const hardware::ClusterSpec& c = spec.cluster;
  w.key("cluster").begin_object();
  w.key("node").string(c.node.name);
  w.key("gpu").string(c.node.gpu.name);
  w.key("num_nodes").integer(c.num_nodes);
  w.key("gpus_per_node").integer(c.node.gpus_per_node);
  w.key("num_gpus").integer(r.num_gpus);
  w.key("gpu_peak_bf16_flops").number(c.node.gpu.peak_bf16.flops_per_second());
  w.key("gpu_memory_bytes").integer(c.node.gpu.memory_capacity.count());
  w.key("fabric").string(name_of(detail::kFabricChoices, c.fabric.kind));
  w.end_object();

  w.key("calibration").begin_object();
  w.key("name").string(r.calibration_name);
  w.key("datasheet_defaults").boolean(r.calibration_name == "datasheet-defaults");
  w.key("source").string(spec.calibration.source);
  w.key("host_slowdown").number(r.host_slowdown);
  w.end_object();
}

void write_memory(JsonWriter& w, const sim::Report& r) {
  w.key("memory").begin_object();
  w.key("peak_bytes").integer(r.peak_memory.count());
  w.key("capacity_bytes").integer(r.memory_capacity.count());
  w.key("fits").boolean(r.fits);
  w.key("oom_message").string(r.oom_message);
  w.key("stages").begin_array();
  for (const sim::StageMemory& st : r.memory) {
    const models::MemoryBreakdown& m = st.memory;
    w.begin_object();
    w.key("stage").integer(st.stage);
    w.key("weights_bytes").integer(m.weights.count());
    w.key("gradients_bytes").integer(m.gradients.count());
    w.key("optimizer_state_bytes").integer(m.optimizer_state.count());
    w.key("activations_bytes").integer(m.activations.count());
    w.key("temporary_bytes").integer(m.temporary.count());
    w.key("communication_buffers_bytes").integer(m.communication_buffers.count());
    w.key("gradients_replace_activations").boolean(m.gradients_replace_activations);
    w.key("first_backward_gradients_bytes").integer(m.first_backward_gradients.count());
    w.key("loss_temporary_bytes").integer(m.loss_temporary.count());
    w.key("other_temporary_bytes").integer(m.other_temporary.count());
    w.key("total_bytes").integer(m.total().count());
    w.key("microbatches_in_flight").integer(m.microbatches_in_flight);
    w.key("activations_per_microbatch_bytes").integer(m.activations_per_microbatch.count());
    w.key("fits").boolean(st.fits);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace

std::string render_json_report(const Scenario& scenario, const sim::Report& r) {
  JsonWriter w(2);
  w.begin_object();
  w.key("report_version").integer(kReportVersion);
  w.key("dtsim_version").string(version());
  write_identity(w, scenario, r);

  w.key("step_time_s").number(r.step_time.seconds());
  w.key("tokens_per_s").number(r.tokens_per_second);
  w.key("tokens_per_s_per_gpu").number(r.num_gpus > 0 ? r.tokens_per_second / r.num_gpus : 0.0);
  w.key("mfu").number(r.mfu);
  w.key("model_flops").number(r.model_flops.count());

  w.key("breakdown").begin_object();
  w.key("critical_stage").integer(r.critical_stage);
  w.key("compute_s").number(r.breakdown.compute.seconds());
  w.key("exposed_comm_s").number(r.breakdown.exposed_comm.seconds());
  w.key("bubble_s").number(r.breakdown.bubble.seconds());
  w.key("optimizer_s").number(r.breakdown.optimizer.seconds());
  w.key("host_wait_s").number(r.breakdown.host_wait.seconds());
  w.key("other_s").number(r.breakdown.other.seconds());
  w.end_object();

  write_memory(w, r);

  w.key("critical_path").begin_array();
  for (const sim::CriticalPathSegment& seg : r.critical_path) {
    w.begin_object();
    w.key("stage").integer(seg.stage);
    w.key("phase").string(models::to_string(seg.phase));
    w.key("what").string(seg.what);
    w.key("start_s").number(seg.start.since_start().seconds());
    w.key("duration_s").number(seg.duration.seconds());
    w.end_object();
  }
  w.end_array();

  w.key("simulation").begin_object();
  w.key("symmetric").boolean(r.symmetric);
  w.key("simulated_ranks").integer(r.simulated_ranks);
  w.key("events").unsigned_integer(r.events);
  w.key("tasks").unsigned_integer(r.tasks);
  w.end_object();

  w.end_object();
  std::string out = w.take();
  out += '\n';
  return out;
}

}  // namespace dtsim::scenarios
