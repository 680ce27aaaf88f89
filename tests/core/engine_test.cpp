#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "dtsim/core/engine.hpp"
#include "dtsim/core/error.hpp"

using namespace dtsim;
using namespace dtsim::literals;

namespace {

struct Recorder final : EventHandler {
  std::vector<std::pair<std::int64_t, std::uint64_t>> seen;  // (time ps, tag)
  void handle(Engine& e, std::uint64_t tag) override { seen.emplace_back(e.now().ps(), tag); }
};

// Schedules a follow-up event `hops` times, 1 us apart.
struct Chain final : EventHandler {
  int remaining = 0;
  void handle(Engine& e, std::uint64_t tag) override {
    if (remaining-- > 0) e.schedule_after(1_us, EventPriority::kStart, *this, tag + 1);
  }
};

struct Backwards final : EventHandler {
  void handle(Engine& e, std::uint64_t) override {
    e.schedule_at(TimePoint::start(), EventPriority::kStart, *this, 0);
  }
};

}  // namespace

TEST_CASE("events run in (time, priority, sequence) order", "[engine]") {
  Engine engine;
  Recorder r;
  engine.schedule_at(TimePoint::start() + 5_us, EventPriority::kStart, r, 1);
  engine.schedule_at(TimePoint::start() + 5_us, EventPriority::kCompletion, r, 2);  // same time, runs first
  engine.schedule_at(TimePoint::start() + 1_us, EventPriority::kObserve, r, 3);
  engine.schedule_at(TimePoint::start() + 5_us, EventPriority::kStart, r, 4);  // same time+prio: after tag 1
  engine.run();
  const std::vector<std::pair<std::int64_t, std::uint64_t>> expected{
      {1000000, 3}, {5000000, 2}, {5000000, 1}, {5000000, 4}};
  CHECK(r.seen == expected);
  CHECK(engine.events_processed() == 4);
}

TEST_CASE("handlers schedule follow-ups, and time advances", "[engine]") {
  Engine engine;
  Chain c;
  c.remaining = 10;
  engine.schedule_at(TimePoint::start(), EventPriority::kStart, c, 0);
  engine.run();
  // 1 initial event + 10 follow-ups, the last at 10 us.
  CHECK(engine.events_processed() == 11);
  CHECK(engine.now().ps() == (10_us).ps());
}

TEST_CASE("scheduling in the past is an internal error", "[engine][errors]") {
  Engine engine;
  Backwards b;
  engine.schedule_at(TimePoint::start() + 1_us, EventPriority::kStart, b, 0);
  CHECK_THROWS_AS(engine.run(), InternalError);
}

TEST_CASE("the event limit guards against models that never quiesce", "[engine][errors]") {
  Engine engine;
  Chain c;
  c.remaining = 100;
  engine.schedule_at(TimePoint::start(), EventPriority::kStart, c, 0);
  CHECK_THROWS_WITH(engine.run(10), Catch::Matchers::Contains("event limit reached"));
}

TEST_CASE("engines are independent values, and many run at once", "[engine]") {
  // No global state: concurrent engines each see only their own events.
  std::vector<std::int64_t> end_ps(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i, &end_ps] {
      Engine engine;
      Chain c;
      c.remaining = 1000 * (i + 1);
      engine.schedule_at(TimePoint::start(), EventPriority::kStart, c, 0);
      engine.run();
      end_ps[static_cast<std::size_t>(i)] = engine.now().ps();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) CHECK(end_ps[static_cast<std::size_t>(i)] == (1_us).ps() * 1000 * (i + 1));
}
