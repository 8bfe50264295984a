#include "dns.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "datum.hpp"
#include "http_headers.hpp"

namespace aio {

Dns::~Dns() {
  active_.clear();
  requests_.clear();
}

void Dns::complete(Completion c) noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  try {
    out_.push(std::move(c));
  } catch (...) {
  }
}

void Dns::fail(std::uint64_t id, const char* kind, const std::string& message) noexcept {
  try {
    Completion c{id, Status::error, message};
    c.error_kind = kind;
    complete(std::move(c));
  } catch (...) {
    complete(Completion(id, Status::error));
  }
}

Dns::Request* Dns::add(std::uint64_t id, bool reverse) {
  auto owned = std::make_unique<Request>();
  Request* r = owned.get();
  r->owner = this;
  r->id = id;
  r->reverse = reverse;
  r->addr.data = r;
  r->name.data = r;
  requests_.emplace(r, std::move(owned));
  try {
    active_.emplace(id, r);
  } catch (...) {
    requests_.erase(r);
    throw;
  }
  return r;
}

void Dns::finish(Request* r) {
  if (!r->dropped) active_.erase(r->id);
  requests_.erase(r);
}

void Dns::lookup(std::uint64_t id, const std::string& host, int family) {
  cancel(id);
  if (closed_) return note_dropped();
  if (host.empty() || host.find('\0') != std::string::npos) return fail(id, "resolve", "Empty host name");
  if (is_reserved_invalid_host(host)) return fail(id, "resolve", "Could not resolve host: " + host);
  try {
    Request* r = add(id, false);
    struct addrinfo hints;
    std::memset(&hints, 0, sizeof hints);
    hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
    // One entry per address, not one per socket type.
    hints.ai_socktype = SOCK_STREAM;
    const int rc = uv_getaddrinfo(loop_, &r->addr, &Dns::on_addresses, host.c_str(), nullptr, &hints);
    if (rc < 0) {
      finish(r);
      fail(id, "other", uv_strerror(rc));
    }
  } catch (...) {
    fail(id, "other", "out of memory");
  }
}

void Dns::reverse(std::uint64_t id, const std::string& address) {
  cancel(id);
  if (closed_) return note_dropped();
  struct sockaddr_storage storage;
  std::memset(&storage, 0, sizeof storage);
  if (uv_ip4_addr(address.c_str(), 0, reinterpret_cast<struct sockaddr_in*>(&storage)) != 0 &&
      uv_ip6_addr(address.c_str(), 0, reinterpret_cast<struct sockaddr_in6*>(&storage)) != 0) {
    return fail(id, "address", "Not an IP address: " + address);
  }
  try {
    Request* r = add(id, true);
    const int rc = uv_getnameinfo(loop_, &r->name, &Dns::on_name, reinterpret_cast<struct sockaddr*>(&storage),
                                  NI_NAMEREQD);
    if (rc < 0) {
      finish(r);
      fail(id, "other", uv_strerror(rc));
    }
  } catch (...) {
    fail(id, "other", "out of memory");
  }
}

void Dns::cancel(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Request* r = it->second;
  active_.erase(it);
  r->dropped = true;
  complete(Completion{id, Status::cancelled});
  // Taken back if still queued; else its callback forgets it.
  uv_cancel(r->reverse ? reinterpret_cast<uv_req_t*>(&r->name) : reinterpret_cast<uv_req_t*>(&r->addr));
}

void Dns::close_all() {
  if (closed_) return;
  closed_ = true;
  for (auto& entry : active_) {
    Request* r = entry.second;
    r->dropped = true;
    uv_cancel(r->reverse ? reinterpret_cast<uv_req_t*>(&r->name) : reinterpret_cast<uv_req_t*>(&r->addr));
  }
  active_.clear();
  pending_.store(0, std::memory_order_relaxed);
}

namespace {

const char* kind_of(int status) {
  switch (status) {
    case UV_EAI_NONAME:
    case UV_EAI_NODATA:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL:
    case UV_EAI_ADDRFAMILY:
      return "resolve";
    default:
      return "other";
  }
}

// The addresses of RES as text, in order, without repeats.
Datum addresses_of(const struct addrinfo* res) {
  std::vector<Datum> addresses;
  std::set<std::string> seen;
  for (const struct addrinfo* a = res; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    int rc = -1;
    if (a->ai_family == AF_INET) {
      rc = uv_ip4_name(reinterpret_cast<const struct sockaddr_in*>(a->ai_addr), text, sizeof text);
    } else if (a->ai_family == AF_INET6) {
      rc = uv_ip6_name(reinterpret_cast<const struct sockaddr_in6*>(a->ai_addr), text, sizeof text);
    }
    if (rc == 0 && seen.insert(text).second) addresses.push_back(Datum::text(text));
  }
  return Datum::vector(std::move(addresses));
}

}  // namespace

// Both libuv callbacks end here: nothing may escape them.
template <typename MakeValue>
void Dns::settle(Request* r, int status, MakeValue make_value) noexcept {
  try {
    if (!r->dropped) {
      if (status < 0) {
        fail(r->id, kind_of(status), uv_strerror(status));
      } else {
        Completion c{r->id, Status::ok};
        c.data = std::make_shared<const Datum>(make_value());
        complete(std::move(c));
      }
    }
  } catch (...) {
    fail(r->id, "other", "out of memory");
  }
  finish(r);
}

void Dns::on_addresses(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  auto* r = static_cast<Request*>(req->data);
  r->owner->settle(r, status, [res] { return addresses_of(res); });
  uv_freeaddrinfo(res);
}

void Dns::on_name(uv_getnameinfo_t* req, int status, const char* host, const char*) {
  auto* r = static_cast<Request*>(req->data);
  r->owner->settle(r, status, [host] { return Datum::text(host); });
}

}  // namespace aio
