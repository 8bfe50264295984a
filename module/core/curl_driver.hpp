// One libcurl multi handle driven by a libuv loop.
//
// curl tells us which sockets to watch (socket callback: one uv_poll per
// socket, found again through curl_multi_assign) and when to call it back
// (timer callback: one uv_timer). Both callbacks only arrange watching;
// curl_multi_socket_action is called from the libuv callbacks, never
// from inside curl's, and each call is followed by the owner's AFTER
// hook, which reads the finished transfers (curl_multi_info_read).
//
// Two engines own one each: HTTP transfers (http.hpp) and connections
// kept open for the caller's own bytes (tls.hpp), whose idle-connection
// caches must not be shared. Loop thread only.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <unordered_set>

namespace aio {

class CurlDriver {
 public:
  CurlDriver(uv_loop_t* loop, std::function<void()> after) : loop_(loop), after_(std::move(after)) {}
  ~CurlDriver();
  CurlDriver(const CurlDriver&) = delete;
  CurlDriver& operator=(const CurlDriver&) = delete;

  // The multi handle, made on first use (curl_global_init included);
  // null once closed, or when curl cannot make one.
  CURLM* multi();
  // The multi handle if made and not closed, else null.
  CURLM* existing() const { return multi_; }
  // Shutdown, once the owner removed its easy handles: cleans the multi
  // handle up (closing cached connections) and every watch, so that the
  // loop can end. multi() is null from then on.
  void close();

 private:
  struct Socket {
    uv_poll_t poll;
    curl_socket_t fd;
    CurlDriver* owner;
  };

  void act(curl_socket_t fd, int events);
  int watch(curl_socket_t fd, int what, Socket* s);
  void unwatch(Socket* s);

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static void on_poll(uv_poll_t* poll, int status, int events);
  static void on_timeout(uv_timer_t* timer);
  static void on_socket_closed(uv_handle_t* handle);

  uv_loop_t* loop_;
  std::function<void()> after_;
  CURLM* multi_ = nullptr;
  uv_timer_t timer_{};
  bool closed_ = false;
  std::unordered_set<Socket*> sockets_;
};

}  // namespace aio
