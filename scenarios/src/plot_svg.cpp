// SVG charts: scatter plots with axes and ticks, and stacked memory bars.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/plot.hpp"
#include "sweep_format.hpp"

namespace dtsim::scenarios {
namespace {

constexpr double kWidth = 720;
constexpr double kPanelHeight = 360;
constexpr double kLeft = 80, kRight = 30, kTop = 40, kBottom = 60;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string xml(std::string_view in) {
  std::string out;
  for (const char c : in) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// One axis: linear, or log2 when the data span a factor of 8 or more.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;

  static Axis fit(const std::vector<double>& values, bool allow_log) {
    Axis a;
    if (values.empty()) return a;
    a.lo = *std::min_element(values.begin(), values.end());
    a.hi = *std::max_element(values.begin(), values.end());
    a.log = allow_log && a.lo > 0 && a.hi / a.lo >= 8;
    if (a.log) {
      a.lo = std::exp2(std::floor(std::log2(a.lo)));
      a.hi = std::exp2(std::ceil(std::log2(a.hi)));
    } else {
      const double pad = a.hi > a.lo ? 0.05 * (a.hi - a.lo) : std::max(1e-12, 0.1 * std::fabs(a.hi));
      a.lo = std::max(0.0, a.lo - pad);
      a.hi += pad;
    }
    return a;
  }
  // 0..1 along the axis.
  double at(double v) const {
    if (log) return (std::log2(v) - std::log2(lo)) / (std::log2(hi) - std::log2(lo));
    return (v - lo) / (hi - lo);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (double v = lo; v <= hi * 1.0001; v *= 2) t.push_back(v);
      return t;
    }
    for (int i = 0; i <= 5; ++i) t.push_back(lo + (hi - lo) * i / 5.0);
    return t;
  }
};

struct Panel {
  double top = 0;  // y offset of the panel in the document
  Axis x, y;
  double px(double v) const { return kLeft + x.at(v) * (kWidth - kLeft - kRight); }
  double py(double v) const { return top + kPanelHeight - kBottom - y.at(v) * (kPanelHeight - kTop - kBottom); }
};

std::string axes(const Panel& p, const std::string& title, const std::string& xlabel, const std::string& ylabel,
                 bool x_ticks = true) {
  const double bottom = p.top + kPanelHeight - kBottom;
  std::string out = "<g class=\"axes\">\n";
  out += "<text x=\"" + num(kWidth / 2) + "\" y=\"" + num(p.top + 24) + "\" text-anchor=\"middle\" font-size=\"16\">" +
         xml(title) + "</text>\n";
  out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(bottom) + "\" x2=\"" + num(kWidth - kRight) + "\" y2=\"" +
         num(bottom) + "\" stroke=\"black\"/>\n";
  out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(p.top + kTop) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
         num(bottom) + "\" stroke=\"black\"/>\n";
  for (const double t : x_ticks ? p.x.ticks() : std::vector<double>{}) {
    out += "<text x=\"" + num(p.px(t)) + "\" y=\"" + num(bottom + 18) + "\" text-anchor=\"middle\" font-size=\"11\">" +
           xml(detail::si(t)) + "</text>\n";
  }
  for (const double t : p.y.ticks()) {
    out += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(p.py(t) + 4) + "\" text-anchor=\"end\" font-size=\"11\">" +
           xml(detail::si(t)) + "</text>\n";
    out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(p.py(t)) + "\" x2=\"" + num(kWidth - kRight) + "\" y2=\"" +
           num(p.py(t)) + "\" stroke=\"#ddd\"/>\n";
  }
  out += "<text x=\"" + num(kWidth / 2) + "\" y=\"" + num(bottom + 40) + "\" text-anchor=\"middle\" font-size=\"13\">" +
         xml(xlabel) + "</text>\n";
  out += "<text x=\"18\" y=\"" + num(p.top + kPanelHeight / 2) + "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 " +
         num(p.top + kPanelHeight / 2) + ")\">" + xml(ylabel) + "</text>\n";
  return out + "</g>\n";
}

std::string document(double height, const std::string& title, const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) +
         "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(height) +
         "\" font-family=\"sans-serif\">\n<title>" + xml(title) + "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
         body + "</svg>\n";
}

}  // namespace

std::vector<std::size_t> pareto_front(const SweepResult& result) {
  std::vector<std::size_t> with_cost;
  for (std::size_t i = 0; i < result.points.size(); ++i) {
    const PointResult& p = result.points[i];
    if (!p.skipped && p.metrics.fits && p.metrics.cost && p.metrics.cost->cost) with_cost.push_back(i);
  }
  auto cost = [&](std::size_t i) { return *result.points[i].metrics.cost->cost; };
  auto time = [&](std::size_t i) { return result.points[i].metrics.cost->time_to_train_s; };
  std::sort(with_cost.begin(), with_cost.end(), [&](std::size_t a, std::size_t b) {
    if (cost(a) != cost(b)) return cost(a) < cost(b);
    if (time(a) != time(b)) return time(a) < time(b);
    return a < b;
  });
  // By ascending cost, a point is on the front when it is faster than every cheaper one.
  std::vector<std::size_t> front;
  for (const std::size_t i : with_cost) {
    if (front.empty() || time(i) < time(front.back())) front.push_back(i);
  }
  return front;
}

std::string render_sweep_plot(const SweepResult& result) {
  std::vector<std::size_t> sim;
  for (std::size_t i = 0; i < result.points.size(); ++i) {
    if (!result.points[i].skipped) sim.push_back(i);
  }
  const std::vector<std::string> headers = detail::axis_headers(result.axis_paths);
  bool one_gpu_count = true;
  for (const std::size_t i : sim) one_gpu_count = one_gpu_count && result.points[i].metrics.num_gpus == result.points[sim.front()].metrics.num_gpus;
  auto xvalue = [&](std::size_t i) {
    return one_gpu_count ? static_cast<double>(result.points[i].index) : static_cast<double>(result.points[i].metrics.num_gpus);
  };
  std::vector<double> xs, ys;
  for (const std::size_t i : sim) {
    xs.push_back(xvalue(i));
    ys.push_back(result.points[i].metrics.step_time.seconds());
  }
  Panel time{0, Axis::fit(xs, !one_gpu_count), Axis::fit(ys, false)};
  std::string body = "<g id=\"step-time\">\n" +
                     axes(time, "Step time, " + result.name, one_gpu_count ? "sweep point" : "GPUs", "step time (s)");
  for (const std::size_t i : sim) {
    const PointResult& p = result.points[i];
    const std::string label = detail::point_label(headers, p.values);
    body += "<circle class=\"point\" data-point=\"" + std::to_string(p.index) + "\" data-gpus=\"" +
            std::to_string(p.metrics.num_gpus) + "\" data-step-time-s=\"" + detail::exact_number(p.metrics.step_time.seconds()) +
            "\" cx=\"" + num(time.px(xvalue(i))) + "\" cy=\"" + num(time.py(p.metrics.step_time.seconds())) +
            "\" r=\"4\" fill=\"" + (p.metrics.fits ? "#1f77b4" : "none") + "\" stroke=\"#1f77b4\"><title>" +
            xml(label) + ": " + xml(format_duration(p.metrics.step_time)) + " on " + std::to_string(p.metrics.num_gpus) +
            " GPUs" + (p.metrics.fits ? "" : " (does not fit)") + "</title></circle>\n";
  }
  body += "</g>\n";
  double height = kPanelHeight;

  const std::vector<std::size_t> front = pareto_front(result);
  if (!front.empty()) {
    std::vector<double> cs, ts;
    for (const std::size_t i : sim) {
      const auto& c = result.points[i].metrics.cost;
      if (!c || !c->cost) continue;
      cs.push_back(*c->cost);
      ts.push_back(c->time_to_train_s / 3600.0);
    }
    Panel pareto{kPanelHeight, Axis::fit(cs, true), Axis::fit(ts, true)};
    const std::string currency = result.points[front.front()].metrics.currency;
    body += "<g id=\"pareto\">\n" + axes(pareto, "Time to train against cost (Pareto front)", "cost (" + currency + ")",
                                         "time to train (h)");
    for (const std::size_t i : sim) {
      const auto& m = result.points[i].metrics;
      if (!m.cost || !m.cost->cost) continue;
      const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
      body += "<circle class=\"" + std::string(on_front ? "front" : "point") + "\" data-point=\"" +
              std::to_string(result.points[i].index) + "\" data-cost=\"" + detail::exact_number(*m.cost->cost) +
              "\" data-time-to-train-s=\"" + detail::exact_number(m.cost->time_to_train_s) + "\" cx=\"" +
              num(pareto.px(*m.cost->cost)) + "\" cy=\"" + num(pareto.py(m.cost->time_to_train_s / 3600.0)) +
              "\" r=\"4\" fill=\"" + (on_front ? "#d62728" : "#aaa") + "\"><title>" +
              xml(detail::point_label(headers, result.points[i].values)) + ": " + xml(detail::si(*m.cost->cost)) + " " +
              xml(currency) + ", " + xml(detail::format_long_time(m.cost->time_to_train_s)) + "</title></circle>\n";
    }
    std::string path;
    for (const std::size_t i : front) {
      const auto& c = *result.points[i].metrics.cost;
      path += (path.empty() ? "M" : " L") + num(pareto.px(*c.cost)) + " " + num(pareto.py(c.time_to_train_s / 3600.0));
    }
    body += "<path class=\"front-line\" d=\"" + path + "\" fill=\"none\" stroke=\"#d62728\"/>\n</g>\n";
    height += kPanelHeight;
  }
  return document(height, "dtsim sweep " + result.name, body);
}

std::string render_memory_plot(const std::vector<models::MemoryBreakdown>& stages, Bytes capacity,
                               const std::string& title) {
  constexpr double kGiB = 1073741824.0;
  double top = capacity.as_double() / kGiB;
  for (const auto& s : stages) top = std::max(top, s.total().as_double() / kGiB);
  Panel p{0, Axis{0, std::max(1.0, static_cast<double>(stages.size())), false}, Axis{0, top * 1.05, false}};
  std::string body = axes(p, title, "", "memory per GPU (GiB)", false);
  struct Part {
    const char* name;
    const char* color;
    Bytes models::MemoryBreakdown::*member;
  };
  static constexpr Part kParts[] = {{"weights", "#1f77b4", &models::MemoryBreakdown::weights},
                                    {"gradients", "#ff7f0e", &models::MemoryBreakdown::gradients},
                                    {"optimizer state", "#2ca02c", &models::MemoryBreakdown::optimizer_state},
                                    {"activations", "#d62728", &models::MemoryBreakdown::activations},
                                    {"temporary", "#9467bd", &models::MemoryBreakdown::temporary},
                                    {"communication buffers", "#8c564b", &models::MemoryBreakdown::communication_buffers}};
  const double slot = (kWidth - kLeft - kRight) / std::max<double>(1.0, static_cast<double>(stages.size()));
  for (std::size_t s = 0; s < stages.size(); ++s) {
    double base = 0;
    const double x = kLeft + slot * static_cast<double>(s) + slot * 0.15;
    body += "<g class=\"stage\" data-stage=\"" + std::to_string(s) + "\" data-total-bytes=\"" +
            std::to_string(stages[s].total().count()) + "\">\n";
    for (const Part& part : kParts) {
      const double gib = (stages[s].*part.member).as_double() / kGiB;
      if (gib <= 0) continue;
      body += "<rect x=\"" + num(x) + "\" y=\"" + num(p.py(base + gib)) + "\" width=\"" + num(slot * 0.7) + "\" height=\"" +
              num(p.py(base) - p.py(base + gib)) + "\" fill=\"" + part.color + "\"><title>stage " + std::to_string(s) + " " +
              part.name + ": " + xml(format_bytes(stages[s].*part.member)) + "</title></rect>\n";
      base += gib;
    }
    body += "<text x=\"" + num(x + slot * 0.35) + "\" y=\"" + num(p.py(0) + 16) +
            "\" text-anchor=\"middle\" font-size=\"11\">stage " + std::to_string(s) + "</text>\n</g>\n";
  }
  const double cap = capacity.as_double() / kGiB;
  body += "<line class=\"capacity\" data-capacity-bytes=\"" + std::to_string(capacity.count()) + "\" x1=\"" + num(kLeft) +
          "\" y1=\"" + num(p.py(cap)) + "\" x2=\"" + num(kWidth - kRight) + "\" y2=\"" + num(p.py(cap)) +
          "\" stroke=\"black\" stroke-dasharray=\"6 4\"><title>capacity " + xml(format_bytes(capacity)) + "</title></line>\n";
  double lx = kLeft;
  for (const Part& part : kParts) {
    body += "<rect x=\"" + num(lx) + "\" y=\"" + num(kPanelHeight - 16) + "\" width=\"10\" height=\"10\" fill=\"" + part.color +
            "\"/><text x=\"" + num(lx + 14) + "\" y=\"" + num(kPanelHeight - 7) + "\" font-size=\"10\">" + part.name + "</text>\n";
    lx += 105;
  }
  return document(kPanelHeight, title, body);
}

}  // namespace dtsim::scenarios
