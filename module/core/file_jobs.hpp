// The file operations behind aio-file-*: each a FileJob (files.hpp) run
// in steps on libuv's thread pool. Paths are bytes as the file system
// has them; Lisp encodes names before they get here.
//
// A failure completes with Status::error, error_kind "file", and a Datum
// [KIND WHAT MESSAGE INDEX...] as Emacs's report_file_errno has it: KIND
// the symbol `missing' (ENOENT), `exists' (EEXIST), `denied' (EACCES) or
// `other'; WHAT what was being done ("Opening input file"); MESSAGE
// strerror's text; each INDEX which of the job's paths (0 the first)
// the error names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "files.hpp"

namespace aio {

// The completion of a failure with errno ERR while doing WHAT.
Completion file_error(std::uint64_t id, int err, const std::string& what, std::vector<int> paths = {0});

// Reads bytes START to END (END < 0: to the end of the file).
//
// To memory: the completion's payload is the bytes.
//
// For insertion by Emacs (insert_from_fd): the job opens the file and
// keeps it open; it sends ("open" . [FD SIZE]) at once, then reads
// ahead of Emacs, so that what Emacs inserts from /proc/self/fd/FD is
// in the page cache and never waits for the disk: ("ready" . [CUT...])
// says that the bytes up to each CUT are read. Cuts fall after a
// newline when possible (CUT_TEXT), so that text decoded between two
// cuts never splits a character; else every CUT_BYTES. The job reads
// at most WINDOW bytes past what Emacs acknowledged (ack) and ends,
// closing the file, once Emacs has acknowledged every byte.
struct ReadSpec {
  std::string path;
  std::int64_t start = 0;
  std::int64_t end = -1;
  bool insert_from_fd = false;
  bool cut_at_lines = false;
  std::uint64_t window = 64u << 20;
};
std::unique_ptr<FileJob> make_read_job(ReadSpec spec);

// Writes DATA to PATH: appended, or replacing the file; with ATOMIC,
// into a temporary file beside PATH, fsync'd, renamed over PATH, so that
// PATH is the old file or the new, never a part. MODE (when >= 0) sets
// the permission bits; an atomic write otherwise keeps those of the file
// it replaces. EXCLUSIVE fails if PATH exists.
struct WriteSpec {
  std::string path;
  std::shared_ptr<const std::string> data;
  bool append = false;
  bool atomic = false;
  bool exclusive = false;
  int mode = -1;
};
std::unique_ptr<FileJob> make_write_job(WriteSpec spec);

// The attributes of PATH, for file-attributes' list (see
// module/emacs/file_functions.cpp for the layout); a Datum nil when
// PATH does not exist.
std::unique_ptr<FileJob> make_stat_job(std::string path, bool follow_symlinks, bool names);

// Copies FROM to TO, a regular file, keeping its permission bits (and
// with KEEP_TIME, its modification time).
std::unique_ptr<FileJob> make_copy_job(std::string from, std::string to, bool overwrite, bool keep_time);

// Renames FROM to TO; across file systems, a regular file is copied and
// removed.
std::unique_ptr<FileJob> make_rename_job(std::string from, std::string to, bool overwrite);

// Removes PATH: a file, an empty directory, or with RECURSIVE a
// directory and all it holds (symbolic links are removed, not
// followed). A PATH that does not exist is no error.
std::unique_ptr<FileJob> make_delete_job(std::string path, bool recursive);

// Makes directory PATH (and with PARENTS, the missing ones above it).
// The result is t when PATH was there already (PARENTS only).
std::unique_ptr<FileJob> make_mkdir_job(std::string path, bool parents, int mode);

}  // namespace aio
