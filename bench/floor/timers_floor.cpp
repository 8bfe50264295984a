// The floor for workload 1: N one-shot libuv timers with random delays
// in [0, 1) s on one thread, no Emacs. Prints one line of key=value.
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct Sleep {
  uv_timer_t timer;
  std::uint64_t deadline_ns;
};

std::vector<double> lateness_ms;

void on_fire(uv_timer_t* t) {
  auto* s = static_cast<Sleep*>(t->data);
  lateness_ms.push_back(static_cast<double>(uv_hrtime() - s->deadline_ns) / 1e6);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000;
  uv_loop_t* loop = uv_default_loop();
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> delay(0.0, 1.0);
  std::vector<Sleep> sleeps(n);
  lateness_ms.reserve(n);
  const std::uint64_t start = uv_hrtime();
  for (auto& s : sleeps) {
    const double seconds = delay(rng);
    uv_update_time(loop);
    s.deadline_ns = uv_hrtime() + static_cast<std::uint64_t>(seconds * 1e9);
    uv_timer_init(loop, &s.timer);
    s.timer.data = &s;
    // Round up as the project does, so no timer fires early.
    const std::uint64_t base = uv_now(loop) * 1000000ULL;
    uv_timer_start(&s.timer, on_fire, (s.deadline_ns - base + 999999) / 1000000, 0);
  }
  const std::uint64_t created = uv_hrtime();
  uv_run(loop, UV_RUN_DEFAULT);
  const std::uint64_t done = uv_hrtime();
  std::printf("create_s=%.6f total_s=%.6f late_median_ms=%.4f late_p99_ms=%.4f\n",
              static_cast<double>(created - start) / 1e9, static_cast<double>(done - start) / 1e9,
              percentile(lateness_ms, 0.5), percentile(lateness_ms, 0.99));
  for (auto& s : sleeps) uv_close(reinterpret_cast<uv_handle_t*>(&s.timer), nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}
