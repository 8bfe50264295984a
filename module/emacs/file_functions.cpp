// Module functions for file work on the thread pool and name lookups.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../core/file_jobs.hpp"
#include "../core/file_util.hpp"
#include "../core/file_walk.hpp"
#include "args.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

constexpr std::intmax_t max_offset = std::numeric_limits<std::int64_t>::max();

std::int64_t offset_of(Env& env, emacs_value v, std::int64_t absent) {
  return env.is_nil(v) ? absent : static_cast<std::int64_t>(env.integer_in(v, 0, max_offset));
}

int mode_of(Env& env, emacs_value v) { return env.is_nil(v) ? -1 : static_cast<int>(env.integer_in(v, 0, 07777)); }

bool flag(Env& env, emacs_value v) { return !env.is_nil(v); }

emacs_value file_read(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  ReadSpec spec;
  spec.path = path_of(env, args[1]);
  spec.start = offset_of(env, args[2], 0);
  spec.end = offset_of(env, args[3], -1);
  if (spec.end >= 0 && spec.end < spec.start) env.signal("args-out-of-range", {args[2], args[3]});
  emacs_value opts = args[4];
  const Options options(env, opts);
  spec.insert_from_fd = flag(env, options.get(":insert"));
  spec.cut_at_lines = flag(env, options.get(":lines"));
  emacs_value v = options.get(":window");
  if (!env.is_nil(v)) spec.window = static_cast<std::uint64_t>(env.integer_in(v, 1, std::int64_t{1} << 40));
  running_loop(env).start_file(id, make_read_job(std::move(spec)));
  return args[0];
}

emacs_value file_write(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  WriteSpec spec;
  spec.path = path_of(env, args[1]);
  spec.data = std::make_shared<const std::string>(bytes_of(env, args[2]));
  emacs_value opts = args[3];
  const Options options(env, opts);
  spec.append = flag(env, options.get(":append"));
  spec.atomic = flag(env, options.get(":atomic"));
  if (spec.append && spec.atomic) env.signal("args-out-of-range", {opts});
  spec.mode = mode_of(env, options.get(":mode"));
  running_loop(env).start_file(id, make_write_job(std::move(spec)));
  return args[0];
}

emacs_value file_stat(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).start_file(id, make_stat_job(path_of(env, args[1]), flag(env, args[2]), flag(env, args[3])));
  return args[0];
}

emacs_value file_copy(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).start_file(
      id, make_copy_job(path_of(env, args[1]), path_of(env, args[2]), flag(env, args[3]), flag(env, args[4])));
  return args[0];
}

emacs_value file_rename(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).start_file(id, make_rename_job(path_of(env, args[1]), path_of(env, args[2]), flag(env, args[3])));
  return args[0];
}

emacs_value file_delete(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).start_file(id, make_delete_job(path_of(env, args[1]), flag(env, args[2])));
  return args[0];
}

emacs_value file_mkdir(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).start_file(id, make_mkdir_job(path_of(env, args[1]), flag(env, args[2]), mode_of(env, args[3])));
  return args[0];
}

emacs_value file_walk(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  WalkSpec spec;
  spec.root = path_of(env, args[1]);
  check_list(env, args[2]);
  for (emacs_value tail = args[2]; !env.is_nil(tail); tail = env.call("cdr", {tail})) {
    spec.ignore.push_back(path_of(env, env.call("car", {tail})));
  }
  emacs_value opts = args[3];
  const Options options(env, opts);
  spec.follow_symlinks = flag(env, options.get(":follow-symlinks"));
  spec.include_directories = flag(env, options.get(":include-directories"));
  spec.utf8_names = flag(env, options.get(":utf-8"));
  emacs_value v = options.get(":window");
  if (!env.is_nil(v)) spec.window = static_cast<std::uint64_t>(env.integer_in(v, 1, std::int64_t{1} << 32));
  v = options.get(":batch");
  if (!env.is_nil(v)) spec.batch = static_cast<std::size_t>(env.integer_in(v, 1, 1 << 20));
  running_loop(env).start_file(id, make_walk_job(std::move(spec)));
  return args[0];
}

emacs_value file_ack(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).ack_file(id_of(env, args[0]),
                             static_cast<std::uint64_t>(env.integer_in(args[1], 0, max_offset)));
  return env.nil();
}

emacs_value file_cancel(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).cancel_file(id_of(env, args[0]));
  return env.nil();
}

emacs_value dns_lookup(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  std::string host = line_of(env, args[1]);
  int family = 0;
  if (!env.is_nil(args[2])) family = static_cast<int>(env.integer_in(args[2], 4, 6));
  if (family == 5) env.signal("args-out-of-range", {args[2], env.integer(4), env.integer(6)});
  running_loop(env).dns_lookup(id, std::move(host), family);
  return args[0];
}

emacs_value dns_reverse(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  running_loop(env).dns_reverse(id, line_of(env, args[1]));
  return args[0];
}

emacs_value dns_cancel(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).cancel_dns(id_of(env, args[0]));
  return env.nil();
}

// Emacs's sentinels say only "failed with code N" of a connection.
emacs_value strerror_text(Env& env, std::ptrdiff_t, emacs_value* args) {
  return env.string(error_text(static_cast<int>(env.integer_in(args[0], 0, 4095))));
}

const Function functions[] = {
    {"aio-native--file-read", 5, 5, boundary<file_read>,
     "Read bytes START to END (nil: the end) of file PATH as operation ID.\n"
     "PATH is an encoded file name.  Without :insert in OPTIONS, the\n"
     "completion's payload is the bytes.  With :insert, the loop keeps the\n"
     "file open and sends (open . [FD SIZE]), then (ready . [CUT...]) as it\n"
     "has read up to each CUT (after a newline when :lines is non-nil),\n"
     "reading at most :window bytes past what `aio-native--file-ack' said\n"
     "was taken; it completes once every byte was acknowledged, or at once\n"
     "with payload `irregular' for a file that is not a regular one.  A\n"
     "failure's payload is (file . [KIND WHAT MESSAGE INDEX...]).\n\n"
     "(fn ID PATH START END OPTIONS)"},
    {"aio-native--file-write", 4, 4, boundary<file_write>,
     "Write DATA, a unibyte string, to file PATH as operation ID.\n"
     "OPTIONS is a plist of :append, :atomic (a temporary file beside\n"
     "PATH, fsync'd and renamed over it) and :mode (permission bits).\n\n"
     "(fn ID PATH DATA OPTIONS)"},
    {"aio-native--file-stat", 4, 4, boundary<file_stat>,
     "Get the attributes of PATH as operation ID: a vector [TYPE LINKS UID\n"
     "GID ATIME-S ATIME-NS MTIME-S MTIME-NS CTIME-S CTIME-NS SIZE MODES INODE\n"
     "DEVICE], or nil if PATH does not exist.  FOLLOW non-nil follows a\n"
     "symbolic link; NAMES non-nil gives user and group names.\n\n"
     "(fn ID PATH FOLLOW NAMES)"},
    {"aio-native--file-copy", 5, 5, boundary<file_copy>,
     "Copy file FROM to TO as operation ID.\n\n(fn ID FROM TO OVERWRITE KEEP-TIME)"},
    {"aio-native--file-rename", 4, 4, boundary<file_rename>,
     "Rename FROM to TO as operation ID.\n\n(fn ID FROM TO OVERWRITE)"},
    {"aio-native--file-delete", 3, 3, boundary<file_delete>,
     "Delete PATH (with RECURSIVE, a whole tree) as operation ID.\n\n(fn ID PATH RECURSIVE)"},
    {"aio-native--file-mkdir", 4, 4, boundary<file_mkdir>,
     "Make directory PATH (with PARENTS, those above it) as operation ID.\n"
     "MODE is nil or permission bits.  The payload is t when it existed.\n\n"
     "(fn ID PATH PARENTS MODE)"},
    {"aio-native--file-walk", 4, 4, boundary<file_walk>,
     "Walk the tree under ROOT as operation ID, sending (names . [NAME...]).\n"
     "IGNORE is a list of glob patterns.  OPTIONS is a plist of\n"
     ":follow-symlinks, :include-directories, :utf-8 (names are UTF-8:\n"
     "send valid ones as text), :window (names not acknowledged with\n"
     "`aio-native--file-ack' before the walk waits) and :batch.\n\n"
     "(fn ID ROOT IGNORE OPTIONS)"},
    {"aio-native--file-ack", 2, 2, boundary<file_ack>,
     "Tell file operation ID that its reader took N more bytes or names.\n\n(fn ID N)"},
    {"aio-native--file-cancel", 1, 1, boundary<file_cancel>,
     "Cancel file operation ID.\n\n(fn ID)"},
    {"aio-native--dns-lookup", 3, 3, boundary<dns_lookup>,
     "Look up HOST as operation ID; FAMILY is nil, 4 or 6.\n"
     "The payload is a vector of address strings.\n\n(fn ID HOST FAMILY)"},
    {"aio-native--dns-reverse", 2, 2, boundary<dns_reverse>,
     "Look up the name of ADDRESS as operation ID.\n\n(fn ID ADDRESS)"},
    {"aio-native--dns-cancel", 1, 1, boundary<dns_cancel>,
     "Cancel name lookup ID.\n\n(fn ID)"},
    {"aio-native--strerror", 1, 1, boundary<strerror_text>,
     "Return the system's text for error number ERRNO.\n\n(fn ERRNO)"},
};

}  // namespace

void define_file_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
