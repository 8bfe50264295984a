// Name lookups on libuv's thread pool (uv_getaddrinfo, uv_getnameinfo),
// keyed by the caller's id.
//
// A lookup completes with a Datum vector of address strings, in the
// order getaddrinfo gives them, without repeats; a reverse lookup with
// the host name as text. Failures have error_kind "resolve" (the name or
// address is not known) or "other". Names under the special-use domain
// "invalid" (RFC 6761) fail at once, without asking any resolver.
//
// Every method but note_submitted(), note_dropped() and pending() runs on
// the loop thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "outbox.hpp"

namespace aio {

class Dns {
 public:
  Dns(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out) {}
  ~Dns();
  Dns(const Dns&) = delete;
  Dns& operator=(const Dns&) = delete;

  // FAMILY: 0 for any, 4 for IPv4, 6 for IPv6.
  void lookup(std::uint64_t id, const std::string& host, int family);
  void reverse(std::uint64_t id, const std::string& address);
  // Completes ID with Status::cancelled at once; a lookup under way in
  // the pool runs to its end and is then forgotten.
  void cancel(std::uint64_t id);
  void close_all();

  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  struct Request {
    uv_getaddrinfo_t addr{};
    uv_getnameinfo_t name{};
    Dns* owner = nullptr;
    std::uint64_t id = 0;
    bool reverse = false;
    bool dropped = false;
  };

  void complete(Completion c) noexcept;
  void fail(std::uint64_t id, const char* kind, const std::string& message) noexcept;
  Request* add(std::uint64_t id, bool reverse);
  void finish(Request* r);
  // Completes R's lookup from STATUS and MAKE_VALUE(), a Datum, then
  // forgets R.
  template <typename MakeValue>
  void settle(Request* r, int status, MakeValue make_value) noexcept;

  static void on_addresses(uv_getaddrinfo_t* req, int status, struct addrinfo* res);
  static void on_name(uv_getnameinfo_t* req, int status, const char* host, const char* service);

  uv_loop_t* loop_;
  Outbox& out_;
  bool closed_ = false;
  std::unordered_map<std::uint64_t, Request*> active_;
  std::unordered_map<Request*, std::unique_ptr<Request>> requests_;
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
