// The discrete-event engine: a value, not a singleton. Many engines may run at
// once in one process (sweeps, embedders); nothing here is global.
//
// Events are ordered by (time, priority, sequence): at equal time a lower
// priority value runs first, and among equal priorities events run in the
// order they were scheduled. Never by pointer, so runs are deterministic.
//
// An event is a (handler, tag) pair; the handler interprets the 64-bit tag
// (task index, flow index, version stamp...). Scheduling stores a small POD in
// a binary heap: no allocation per event once the heap has grown. There is no
// cancel: handlers that need to retract an event stamp the tag with a version
// and ignore stale ones (lazy deletion), which keeps the heap simple and fast.
//
// Example:
//   struct Printer final : EventHandler {
//     void handle(Engine& e, std::uint64_t tag) override { ... e.now() ... }
//   } p;
//   Engine engine;
//   engine.schedule_after(5_us, EventPriority::kStart, p, 42);
//   engine.run();
#pragma once

#include <cstdint>
#include <vector>

#include "dtsim/core/units.hpp"

namespace dtsim {

class Engine;

// Named priority levels; lower runs first at equal time.
enum class EventPriority : std::uint8_t {
  // Completions first, so resources freed at time t are visible to work that
  // wants to start at time t.
  kCompletion = 0,
  // Rate changes in the flow network, after completions at the same instant
  // have removed their flows.
  kReschedule = 1,
  // Starting ready work, after every completion at this instant is known.
  kStart = 2,
  // Observers (sampling, progress), after the state at this instant settled.
  kObserve = 3,
};

class EventHandler {
 public:
  virtual void handle(Engine& engine, std::uint64_t tag) = 0;

 protected:
  EventHandler() = default;
  EventHandler(const EventHandler&) = default;
  EventHandler& operator=(const EventHandler&) = default;
  ~EventHandler() = default;
};

// A min-heap of events ordered by (time, priority, sequence).
class EventQueue {
 public:
  struct Event {
    TimePoint time;
    std::uint64_t sequence = 0;
    EventHandler* handler = nullptr;
    std::uint64_t tag = 0;
    EventPriority priority = EventPriority::kStart;
  };

  void push(TimePoint time, EventPriority priority, EventHandler& handler, std::uint64_t tag);
  // Removes and returns the earliest event. Precondition: !empty().
  Event pop();
  const Event& top() const { return heap_.front(); }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  void reserve(std::size_t n) { heap_.reserve(n); }
  void clear() { heap_.clear(); }

 private:
  static bool later(const Event& a, const Event& b);
  std::vector<Event> heap_;
  std::uint64_t next_sequence_ = 0;
};

class Engine {
 public:
  TimePoint now() const { return now_; }
  void schedule_at(TimePoint time, EventPriority priority, EventHandler& handler, std::uint64_t tag);
  void schedule_after(Duration delay, EventPriority priority, EventHandler& handler, std::uint64_t tag) {
    schedule_at(now_ + delay, priority, handler, tag);
  }
  // Runs until no event is left. Throws InternalError if an event would move
  // time backwards, or if more than `event_limit` events run (a guard against
  // a model that never quiesces).
  void run(std::uint64_t event_limit = UINT64_MAX);
  std::uint64_t events_processed() const { return events_processed_; }
  std::size_t pending() const { return queue_.size(); }
  void reserve(std::size_t n) { queue_.reserve(n); }

 private:
  EventQueue queue_;
  TimePoint now_ = TimePoint::start();
  std::uint64_t events_processed_ = 0;
};

}  // namespace dtsim
