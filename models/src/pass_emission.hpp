// A pipeline pass's task emission as a coroutine, so that lowering can
// interleave two passes (lowering.cpp).
//
// The pass's body emits tasks into the stage's Program and suspends
// (`co_yield PassEmission::kExchangeIssued`) after each expert all-to-all it
// issues. An ordinary pass is run to its end at once; an overlapped
// forward-backward pair resumes its two passes in turn, so each pass's next
// kernels enter the compute stream while the other pass's all-to-all is in
// flight. The body must not outlive what it references: lowering keeps the
// emission inside the call that created it.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

namespace dtsim::models::lowering_detail {

class PassEmission {
 public:
  enum Suspension { kExchangeIssued };

  struct promise_type {
    PassEmission get_return_object() { return PassEmission(Handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    std::suspend_always yield_value(Suspension) noexcept { return {}; }
    void return_void() noexcept {}
    // Lowering reports errors by throwing; they reach the caller of resume().
    void unhandled_exception() noexcept { error = std::current_exception(); }
    std::exception_ptr error;
  };
  using Handle = std::coroutine_handle<promise_type>;

  PassEmission(PassEmission&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  PassEmission& operator=(PassEmission&&) = delete;
  PassEmission(const PassEmission&) = delete;
  PassEmission& operator=(const PassEmission&) = delete;
  ~PassEmission() {
    if (handle_) handle_.destroy();
  }

  // Emits up to the next suspension point. False once the pass is emitted
  // whole (and on every later call).
  bool resume() {
    if (handle_.done()) return false;
    handle_.resume();
    if (handle_.promise().error) std::rethrow_exception(std::exchange(handle_.promise().error, nullptr));
    return !handle_.done();
  }
  void run_to_end() {
    while (resume()) {
    }
  }

 private:
  explicit PassEmission(Handle h) : handle_(h) {}
  Handle handle_;
};

}  // namespace dtsim::models::lowering_detail
