// The floor for workload 7: N GETs of one URL, CONCURRENCY at a time, on
// one libcurl multi handle, no Emacs. Prints one line of key=value.
#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

std::size_t discard(char*, std::size_t size, std::size_t n, void* total) {
  *static_cast<std::size_t*>(total) += size * n;
  return size * n;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: http_floor URL COUNT CONCURRENCY\n");
    return 2;
  }
  const char* url = argv[1];
  const long count = std::strtol(argv[2], nullptr, 10);
  const long concurrency = std::strtol(argv[3], nullptr, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  std::size_t bytes = 0;
  long started = 0, finished = 0, failed = 0;
  auto add = [&] {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &bytes);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_multi_add_handle(multi, easy);
    ++started;
  };
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  while (started < count && started < concurrency) add();
  while (finished < count) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      if (msg->data.result != CURLE_OK) ++failed;
      curl_multi_remove_handle(multi, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
      ++finished;
      if (started < count) add();
    }
    if (finished < count) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("total_s=%.6f cpu_s=%.6f failed=%ld bytes=%zu\n", wall, cpu_seconds() - cpu0, failed, bytes);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
