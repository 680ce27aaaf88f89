#include "record_reader.hpp"

#include <cmath>

namespace dtsim::scenarios::detail {

const Json* RecordReader::get(std::string_view key) {
  const auto it = o_.find(std::string(key));
  if (it == o_.end()) {
    d_.add(child_path(path_, key), "missing");
    return nullptr;
  }
  return &*it;
}

std::string RecordReader::text(std::string_view key) {
  const Json* v = get(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) {
    problem(key, "expected a string, got " + describe(*v));
    return {};
  }
  return v->get<std::string>();
}

std::int64_t RecordReader::integer(std::string_view key, std::int64_t lo) {
  const Json* v = get(key);
  if (v == nullptr) return lo;
  if (!v->is_number_integer() || v->get<std::int64_t>() < lo) {
    problem(key, "expected an integer >= " + std::to_string(lo) + ", got " + describe(*v));
    return lo;
  }
  return v->get<std::int64_t>();
}

std::optional<std::int64_t> RecordReader::optional_integer(std::string_view key) {
  const auto it = o_.find(std::string(key));
  if (it == o_.end() || it->is_null()) return std::nullopt;
  return integer(key);
}

bool RecordReader::boolean(std::string_view key) {
  const Json* v = get(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) {
    problem(key, "expected true or false, got " + describe(*v));
    return false;
  }
  return v->get<bool>();
}

double RecordReader::positive(std::string_view key) {
  const Json* v = get(key);
  if (v == nullptr) return 0.0;
  if (!v->is_number() || !(v->get<double>() > 0.0) || !std::isfinite(v->get<double>())) {
    problem(key, "expected a positive number, got " + describe(*v));
    return 0.0;
  }
  return v->get<double>();
}

}  // namespace dtsim::scenarios::detail
