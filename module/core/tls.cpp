#include "tls.hpp"

#include <utility>
#include <vector>

#include "http_headers.hpp"
#include "http_types.hpp"

namespace aio {

TlsConnections::~TlsConnections() {
  // close_all() has run on the loop thread; see Http::~Http.
  open_.clear();
}

void TlsConnections::fail(std::uint64_t id, const std::string& message, HttpErrorKind kind) noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  try {
    Completion c{id, Status::error, message};
    c.error_kind = http_error_kind_name(kind);
    out_.push(std::move(c));
  } catch (...) {
    // Out of memory for the queue itself: the completion is lost.
  }
}

void TlsConnections::connect(std::uint64_t id, const TlsRequest& request) {
  close(id);
  if (is_reserved_invalid_host(request.host)) {
    return fail(id, "Could not resolve host: " + request.host, HttpErrorKind::resolve);
  }
  CURLM* multi = driver_.multi();
  if (!multi) return fail(id, "cannot start libcurl's multi handle");
  std::unique_ptr<TlsConnection> connection;
  try {
    connection = std::make_unique<TlsConnection>(loop_, id, request);
  } catch (const std::bad_alloc&) {
    return fail(id, "out of memory");
  } catch (const std::exception& e) {
    return fail(id, e.what());
  }
  connection->set_ready(&TlsConnections::on_ready, this);
  auto entry = open_.emplace(id, std::move(connection)).first;
  // The handle stays in the multi handle for the connection's life:
  // removing it would close the connection.
  const CURLMcode rc = curl_multi_add_handle(multi, entry->second->easy());
  if (rc != CURLM_OK) {
    open_.erase(entry);
    return fail(id, curl_multi_strerror(rc));
  }
}

void TlsConnections::write(std::uint64_t id, std::uint64_t write_id, std::string bytes) {
  auto it = open_.find(id);
  if (it == open_.end()) return fail(write_id, "Connection closed");
  it->second->write(write_id, std::move(bytes));
  deliver(it->second.get());
}

void TlsConnections::cancel_write(std::uint64_t id, std::uint64_t write_id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  it->second->cancel_write(write_id);
  deliver(it->second.get());
}

void TlsConnections::ack(std::uint64_t id, std::uint64_t bytes) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  it->second->ack(bytes);
  deliver(it->second.get());
}

void TlsConnections::close(std::uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  it->second->close();
  deliver(it->second.get());
}

void TlsConnections::drop(std::unique_ptr<TlsConnection> connection) noexcept {
  connection->stop_watching();
  if (CURLM* multi = driver_.existing()) curl_multi_remove_handle(multi, connection->easy());
}

void TlsConnections::close_all() {
  for (auto& entry : open_) drop(std::move(entry.second));
  open_.clear();
  driver_.close();
  pending_.store(0, std::memory_order_relaxed);
}

void TlsConnections::deliver(TlsConnection* connection) noexcept {
  std::vector<Completion> batch = connection->take();
  for (const Completion& c : batch) {
    if (c.status != Status::event) pending_.fetch_sub(1, std::memory_order_relaxed);
  }
  try {
    if (!batch.empty()) out_.push_all(std::move(batch));
  } catch (...) {
    // Out of memory: these completions are lost; the loop lives on.
  }
  if (!connection->ended()) return;
  auto it = open_.find(connection->id());
  if (it == open_.end()) return;
  std::unique_ptr<TlsConnection> gone = std::move(it->second);
  open_.erase(it);
  drop(std::move(gone));
}

void TlsConnections::reap() {
  CURLM* multi = driver_.existing();
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    TlsConnection* connection = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &connection);
    const CURLcode code = msg->data.result;
    connection->connected(code);
    deliver(connection);
  }
}

void TlsConnections::on_ready(void* self, TlsConnection* connection, int status, int events) {
  connection->on_ready(status, events);
  static_cast<TlsConnections*>(self)->deliver(connection);
}

}  // namespace aio
