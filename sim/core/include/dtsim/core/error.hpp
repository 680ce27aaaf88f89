// Errors that dtsim's libraries raise. Library code never exits the process:
// it throws one of these, and the CLI maps them to exit codes.
//
//  - InputError: the user's input is wrong. Carries the JSON pointer of the
//    offending value (e.g. "/cluster/fabric/bandwidth") and a message that
//    names the value and what was expected; what() is "path: message".
//  - InternalError: an invariant of dtsim itself broke (a bug). Raised by
//    DTSIM_CHECK, which stays on in release builds.
//  - Diagnostics: many input problems collected at once, for validate().
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace dtsim {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Diagnostic {
  std::string path;     // JSON pointer, "" for the document root
  std::string message;  // names the value and what was expected
};

class InputError : public Error {
 public:
  InputError(std::string path, std::string message);
  // Several problems found together; what() lists them one per line.
  explicit InputError(std::vector<Diagnostic> diagnostics);

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  const std::string& path() const { return diagnostics_.front().path; }
  const std::string& message() const { return diagnostics_.front().message; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

class InternalError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void fail_internal_check(const char* condition, const char* file, int line, const std::string& message);

}  // namespace dtsim

// Invariant check that stays on in release builds; throws InternalError.
#define DTSIM_CHECK(cond, msg)                                                 \
  do {                                                                         \
    if (!(cond)) ::dtsim::fail_internal_check(#cond, __FILE__, __LINE__, (msg)); \
  } while (false)

// A point the code never reaches (an exhausted switch, a table that must hold
// the key): an InternalError. Unlike DTSIM_CHECK(false, ...), the compiler
// sees that control does not continue, at every optimization level.
#define DTSIM_UNREACHABLE(msg) ::dtsim::fail_internal_check("unreachable", __FILE__, __LINE__, (msg))
