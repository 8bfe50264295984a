// A directory tree walked on libuv's thread pool: the job behind
// aio-directory-walk.
//
// The walk goes depth first, reading each directory once (readdir's
// entry types spare a stat per entry), and hands over the names it finds
// in ("names" . [NAME...]) events, each NAME the root joined with the
// path below it. It reads on while fewer than WINDOW names wait for the
// reader (see Files::ack), then waits. Directories it cannot read below
// the root are skipped, as find does after saying so.
//
// IGNORE holds glob patterns (fnmatch): a pattern ending in "/" applies
// to directories only; one with another "/" is matched against the path
// below the root ("build/*.o"; a leading "/" is dropped), one without
// against the entry's name at any depth (".git", "*.elc"). An ignored
// directory is not entered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "files.hpp"

namespace aio {

struct WalkSpec {
  std::string root;
  std::vector<std::string> ignore;
  bool follow_symlinks = false;   // enter symbolic links to directories, not cycles
  bool include_directories = false;
  bool utf8_names = true;         // names are UTF-8 text where they are valid
  std::uint64_t window = 16384;   // names handed over and not yet acked
  std::size_t batch = 2048;       // names per event at most
};

std::unique_ptr<FileJob> make_walk_job(WalkSpec spec);

// Whether the entry NAME, at path REL below the root, is ignored.
bool walk_ignored(const std::vector<std::string>& patterns, const std::string& rel, const char* name, bool is_dir);

}  // namespace aio
