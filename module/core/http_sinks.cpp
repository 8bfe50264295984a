// Where a Transfer's bodies come from and go to: memory, a stream of
// events with backpressure, or files on the loop thread. Part of the
// Transfer class (http_transfer.hpp); the rest is in http_transfer.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "http_transfer.hpp"

namespace aio {

namespace {

// A chunk event is made at least this big when bytes come fast; smaller
// ones go out at the end of each round of the loop (Http::act).
constexpr std::size_t chunk_target = 64 * 1024;
// Progress events are at least this far apart.
constexpr auto progress_interval = std::chrono::milliseconds(100);

}  // namespace

void Transfer::setup_body() {
  auto check = [](CURLcode rc, const char* what) {
    if (rc != CURLE_OK) throw std::runtime_error(std::string(what) + ": " + curl_easy_strerror(rc));
  };
  const HttpRequest& r = request_;
  // curl's default buffer is 16 KiB: a write per 16 KiB for a download,
  // and small pieces for a stream. Bigger for those only, since each
  // transfer has one.
  if (r.sink == BodySink::file) check(curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, 256L * 1024), "BUFFERSIZE");
  if (r.sink == BodySink::stream) check(curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, 64L * 1024), "BUFFERSIZE");
  const std::string& m = r.method;
  if (m == "HEAD") {
    check(curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L), "NOBODY");
  } else if (upload_) {
    check(curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &Transfer::on_upload), "READFUNCTION");
    check(curl_easy_setopt(easy_, CURLOPT_READDATA, this), "READDATA");
    check(curl_easy_setopt(easy_, CURLOPT_SEEKFUNCTION, &Transfer::on_upload_seek), "SEEKFUNCTION");
    check(curl_easy_setopt(easy_, CURLOPT_SEEKDATA, this), "SEEKDATA");
    const auto size = static_cast<curl_off_t>(upload_->size());
    if (m == "POST") {
      check(curl_easy_setopt(easy_, CURLOPT_POST, 1L), "POST");
      check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, size), "POSTFIELDSIZE_LARGE");
    } else {
      check(curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L), "UPLOAD");
      check(curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, size), "INFILESIZE_LARGE");
      if (m != "PUT") check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str()), "CUSTOMREQUEST");
    }
  } else if (r.body || m == "POST") {
    // The body lives in request_, which outlives the transfer.
    const std::string* body = r.body ? &*r.body : nullptr;
    check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(body ? body->size() : 0)),
          "POSTFIELDSIZE_LARGE");
    check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body ? body->data() : ""), "POSTFIELDS");
    // POST stays a plain POST so that curl turns it into GET after a
    // 301, 302 or 303, as browsers do.
    if (m != "POST") check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str()), "CUSTOMREQUEST");
  } else if (m != "GET") {
    check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str()), "CUSTOMREQUEST");
  }
}

std::size_t Transfer::on_body(char* data, std::size_t size, std::size_t n, void* p) {
  auto* self = static_cast<Transfer*>(p);
  const std::size_t len = size * n;
  try {
    return self->take_body(data, len);
  } catch (...) {
    // See on_header: nothing may leave a curl callback.
    self->out_of_memory_at_ = self->response_->body.size() + self->chunk_.size() + len;
    return 0;
  }
}

std::size_t Transfer::take_body(const char* data, std::size_t len) {
  const std::uint64_t limit = request_.max_size;
  switch (request_.sink) {
    case BodySink::memory: {
      std::string& body = response_->body;
      if (limit > 0 && body.size() + len > limit) {
        aborted_ = too_large();
        return 0;
      }
      body.append(data, len);
      return len;
    }
    case BodySink::stream: {
      // Bodies of responses that are not the final one are not the reader's.
      if (!final_headers_) return len;
      const std::uint64_t held = unacked_ + chunk_.size() + sse_bytes_;
      // Held until start_stream; over the window, wait for the reader;
      // but a reader who has taken everything gets the next piece
      // whatever its size.
      if (mode_ == StreamMode::held || (held > 0 && held + len > request_.stream_window)) {
        paused_ = true;
        return CURL_WRITEFUNC_PAUSE;
      }
      if (mode_ == StreamMode::sse) {
        sse_.feed(std::string_view(data, len), &sse_batch_);
        sse_bytes_ += len;
        if (sse_bytes_ >= chunk_target) flush_sse();
        return len;
      }
      chunk_.append(data, len);
      if (chunk_.size() >= chunk_target) flush_chunk();
      return len;
    }
    case BodySink::file: {
      if (!final_headers_) return len;
      if (limit > 0 && download_->written() + len > limit) {
        aborted_ = too_large();
        return 0;
      }
      if (std::string e = download_->write(data, len); !e.empty()) {
        aborted_ = error(HttpErrorKind::file, e);
        return 0;
      }
      return len;
    }
  }
  return 0;
}

void Transfer::flush_chunk() {
  unacked_ += chunk_.size();
  Completion c = event("chunk");
  c.payload = std::move(chunk_);
  chunk_.clear();
  events_.push_back(std::move(c));
}

void Transfer::flush_sse() {
  // Bytes that completed no event yet still count, or the reader could
  // never acknowledge them: they go with an empty batch.
  unacked_ += sse_bytes_;
  Completion c = event("sse");
  c.bytes = sse_bytes_;
  c.sse = std::make_shared<const std::vector<SseEvent>>(std::move(sse_batch_));
  sse_batch_.clear();
  sse_bytes_ = 0;
  events_.push_back(std::move(c));
}

void Transfer::start_stream(bool sse) {
  if (mode_ != StreamMode::held) return;
  mode_ = sse ? StreamMode::sse : StreamMode::bytes;
  if (paused_) {
    paused_ = false;
    curl_easy_pause(easy_, CURLPAUSE_CONT);
  }
}

std::vector<Completion> Transfer::take_events() {
  if (!chunk_.empty()) flush_chunk();
  if (sse_bytes_ > 0) flush_sse();
  if (progress_) {
    events_.push_back(std::move(*progress_));
    progress_.reset();
  }
  std::vector<Completion> out;
  out.swap(events_);
  return out;
}

void Transfer::ack(std::uint64_t bytes) {
  unacked_ -= std::min(bytes, unacked_);
  // Resume at half the window, not at the first byte taken, so that a
  // reader taking small pieces does not pause and resume curl each time.
  if (paused_ && mode_ != StreamMode::held && unacked_ + chunk_.size() + sse_bytes_ <= request_.stream_window / 2) {
    paused_ = false;
    curl_easy_pause(easy_, CURLPAUSE_CONT);
  }
}

int Transfer::on_progress(void* p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* self = static_cast<Transfer*>(p);
  const auto now = std::chrono::steady_clock::now();
  if (now - self->last_progress_ < progress_interval) return 0;
  self->last_progress_ = now;
  try {
    Completion c = self->event("progress");
    c.progress[0] = dlnow;
    c.progress[1] = dltotal > 0 ? dltotal : -1;
    c.progress[2] = ulnow;
    c.progress[3] = ultotal > 0 ? ultotal : -1;
    self->progress_ = std::move(c);
  } catch (...) {
    // A missed progress report is no failure.
  }
  return 0;
}

std::size_t Transfer::on_upload(char* buffer, std::size_t size, std::size_t n, void* p) {
  const long got = static_cast<Transfer*>(p)->upload_->read(buffer, size * n);
  return got < 0 ? CURL_READFUNC_ABORT : static_cast<std::size_t>(got);
}

int Transfer::on_upload_seek(void* p, curl_off_t offset, int origin) {
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  return static_cast<Transfer*>(p)->upload_->rewind() ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

}  // namespace aio
