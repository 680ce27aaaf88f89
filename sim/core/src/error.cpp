#include "dtsim/core/error.hpp"

#include <sstream>
#include <utility>

namespace dtsim {
namespace {

std::string render(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (i > 0) out += '\n';
    out += (ds[i].path.empty() ? std::string("(document)") : ds[i].path);
    out += ": ";
    out += ds[i].message;
  }
  return out;
}

}  // namespace

InputError::InputError(std::string path, std::string message)
    : InputError(std::vector<Diagnostic>{{std::move(path), std::move(message)}}) {}

InputError::InputError(std::vector<Diagnostic> diagnostics)
    : Error(render(diagnostics)), diagnostics_(std::move(diagnostics)) {
  if (diagnostics_.empty()) diagnostics_.push_back({"", "invalid input"});
}

void fail_internal_check(const char* condition, const char* file, int line, const std::string& message) {
  std::ostringstream os;
  os << "internal error: " << message << " (check '" << condition << "' failed at " << file << ':' << line << ')';
  throw InternalError(os.str());
}

}  // namespace dtsim
