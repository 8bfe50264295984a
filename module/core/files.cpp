#include "files.hpp"

#include <exception>
#include <utility>

namespace aio {

Files::~Files() {
  // uv_run has returned, so no request is under way: what is left can go.
  active_.clear();
  entries_.clear();
}

void Files::complete(Completion c) noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  try {
    out_.push(std::move(c));
  } catch (...) {
    // Out of memory for the queue itself: the completion is lost, the
    // loop lives on.
  }
}

void Files::push_events(Entry* e) noexcept {
  try {
    std::vector<Completion> events = e->job->take_events(e->id);
    if (!events.empty()) out_.push_all(std::move(events));
  } catch (...) {
    // Out of memory: the news is lost; the job's end is not.
  }
}

void Files::start(std::uint64_t id, std::unique_ptr<FileJob> job) {
  cancel(id);
  if (closed_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  try {
    auto owned = std::make_unique<Entry>();
    Entry* e = owned.get();
    e->owner = this;
    e->id = id;
    e->job = std::move(job);
    e->work.data = e;
    entries_.emplace(e, std::move(owned));
    try {
      active_.emplace(id, e);
    } catch (...) {
      entries_.erase(e);
      throw;
    }
    submit(e);
  } catch (...) {
    complete(Completion{id, Status::error, "out of memory"});
  }
}

void Files::submit(Entry* e) {
  if (!e->cleaning) e->started = true;
  e->running = true;
  const int rc = uv_queue_work(loop_, &e->work, &Files::on_work, &Files::on_after_work);
  if (rc < 0) {
    e->running = false;
    if (e->dropped) {
      forget(e);
      return;
    }
    active_.erase(e->id);
    complete(Completion{e->id, Status::error, std::string("uv_queue_work: ") + uv_strerror(rc)});
    forget(e);
  }
}

void Files::forget(Entry* e) { entries_.erase(e); }

void Files::on_work(uv_work_t* work) {
  auto* e = static_cast<Entry*>(work->data);
  // A pool thread: nothing may escape.
  try {
    if (e->cleaning) {
      e->job->abandon();
      return;
    }
    e->job->step();
  } catch (const std::exception& ex) {
    e->failed = true;
    try {
      e->failure = ex.what();
    } catch (...) {
    }
  } catch (...) {
    e->failed = true;
  }
}

void Files::on_after_work(uv_work_t* work, int status) {
  auto* e = static_cast<Entry*>(work->data);
  Files* self = e->owner;
  e->running = false;
  try {
    if (e->cleaning) {
      self->forget(e);
    } else if (e->dropped) {
      self->drop(e);
    } else if (status == UV_ECANCELED) {
      // Only cancel() asks libuv to cancel, and it drops the entry first.
      self->drop(e);
    } else {
      self->settle(e);
    }
  } catch (...) {
  }
}

void Files::drop(Entry* e) {
  if (e->running) return;  // on_after_work comes back here
  if (e->started) {
    e->cleaning = true;
    submit(e);
  } else {
    forget(e);
  }
}

void Files::settle(Entry* e) {
  if (e->failed) {
    active_.erase(e->id);
    complete(Completion{e->id, Status::error, e->failure.empty() ? "file operation failed" : e->failure});
    e->dropped = true;
    drop(e);
    return;
  }
  push_events(e);
  advance(e);
}

void Files::advance(Entry* e) {
  switch (e->job->next()) {
    case FileJob::Next::step:
      submit(e);
      break;
    case FileJob::Next::wait:
      break;
    case FileJob::Next::done: {
      Completion c;
      try {
        c = e->job->result(e->id);
      } catch (...) {
        c = Completion(e->id, Status::error, "out of memory");
      }
      active_.erase(e->id);
      complete(std::move(c));
      forget(e);
      break;
    }
  }
}

void Files::cancel(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Entry* e = it->second;
  active_.erase(it);
  e->dropped = true;
  e->job->cancel();
  complete(Completion{id, Status::cancelled, {}});
  // A request still queued is taken back; one under way ends its step.
  if (e->running) {
    uv_cancel(reinterpret_cast<uv_req_t*>(&e->work));
  } else {
    drop(e);
  }
}

void Files::ack(std::uint64_t id, std::uint64_t n) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Entry* e = it->second;
  e->job->ack(n);
  if (e->running) return;  // the step under way looks again when it ends
  push_events(e);
  advance(e);
}

void Files::close_all() {
  if (closed_) return;
  closed_ = true;
  std::vector<Entry*> live;
  live.reserve(active_.size());
  for (auto& entry : active_) live.push_back(entry.second);
  active_.clear();
  for (Entry* e : live) {
    e->dropped = true;
    e->job->cancel();
    if (e->running) {
      uv_cancel(reinterpret_cast<uv_req_t*>(&e->work));
    } else {
      drop(e);
    }
  }
  pending_.store(0, std::memory_order_relaxed);
}

}  // namespace aio
