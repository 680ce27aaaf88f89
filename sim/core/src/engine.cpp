#include "dtsim/core/engine.hpp"

#include <algorithm>

#include "dtsim/core/error.hpp"

namespace dtsim {

// std heap functions build a max-heap; "later" as the less-than makes the
// earliest event the top. The sequence number breaks every tie, so the order
// never depends on addresses.
bool EventQueue::later(const Event& a, const Event& b) {
  if (a.time != b.time) return a.time > b.time;
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.sequence > b.sequence;
}

void EventQueue::push(TimePoint time, EventPriority priority, EventHandler& handler, std::uint64_t tag) {
  heap_.push_back(Event{time, next_sequence_++, &handler, tag, priority});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

EventQueue::Event EventQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Event e = heap_.back();
  heap_.pop_back();
  return e;
}

void Engine::schedule_at(TimePoint time, EventPriority priority, EventHandler& handler, std::uint64_t tag) {
  DTSIM_CHECK(time >= now_, "event scheduled in the past");
  queue_.push(time, priority, handler, tag);
}

void Engine::run(std::uint64_t event_limit) {
  while (!queue_.empty()) {
    const EventQueue::Event e = queue_.pop();
    DTSIM_CHECK(e.time >= now_, "simulated time ran backwards");
    DTSIM_CHECK(events_processed_ < event_limit, "event limit reached: the model does not quiesce");
    now_ = e.time;
    ++events_processed_;
    e.handler->handle(*this, e.tag);
  }
}

}  // namespace dtsim
