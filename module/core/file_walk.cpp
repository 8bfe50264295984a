#include "file_walk.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <memory>
#include <utility>

#include "datum.hpp"
#include "file_util.hpp"

namespace aio {

bool walk_ignored(const std::vector<std::string>& patterns, const std::string& rel, const char* name, bool is_dir) {
  for (const std::string& p : patterns) {
    std::string_view pattern = p;
    if (!pattern.empty() && pattern.back() == '/') {
      if (!is_dir) continue;
      pattern.remove_suffix(1);
    }
    if (pattern.empty()) continue;
    const bool anchored = pattern.find('/') != std::string_view::npos;
    if (anchored && pattern.front() == '/') pattern.remove_prefix(1);
    const std::string glob(pattern);
    if (anchored ? ::fnmatch(glob.c_str(), rel.c_str(), FNM_PATHNAME) == 0 : ::fnmatch(glob.c_str(), name, 0) == 0) {
      return true;
    }
  }
  return false;
}

namespace {

// Entries one step looks at, at most.
constexpr int walk_step = 8192;

class WalkJob : public FileJob {
 public:
  explicit WalkJob(WalkSpec spec) : spec_(std::move(spec)) {
    base_ = spec_.root;
    if (base_.empty() || base_.back() != '/') base_ += '/';
  }
  ~WalkJob() override { close_dir(); }

  void step() override {
    if (cancelled() || failure_) return;
    if (!begun_) {
      begun_ = true;
      struct stat st;
      if (::stat(spec_.root.c_str(), &st) != 0) return fail(errno);
      if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR);
      DIR* d = ::opendir(spec_.root.c_str());
      if (!d) return fail(errno);
      ::closedir(d);
      auto root = std::make_shared<const Node>(Node{st.st_dev, st.st_ino, nullptr});
      stack_.push_back({std::string(), spec_.follow_symlinks ? root : nullptr});
    }
    int budget = walk_step;
    while (budget > 0 && names_.size() < spec_.batch && (dir_ || !stack_.empty())) {
      if (!dir_) {
        rel_ = std::move(stack_.back().rel);
        node_ = std::move(stack_.back().node);
        stack_.pop_back();
        const std::string path = base_ + rel_;
        dir_ = ::opendir(path.c_str());
        if (!dir_) continue;  // unreadable, or gone since: skipped
        if (!rel_.empty()) rel_ += '/';
      }
      const dirent* entry = ::readdir(dir_);
      if (!entry) {
        close_dir();
        continue;
      }
      --budget;
      const char* name = entry->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      visit(name, entry->d_type);
    }
  }

  Next next() const override {
    if (failure_ || cancelled()) return Next::done;
    if (!begun_) return Next::step;
    // Files hands the names found over (take_events) before asking.
    if (!dir_ && stack_.empty()) return Next::done;
    return handed_ - std::min(handed_, acked_) < spec_.window ? Next::step : Next::wait;
  }

  void ack(std::uint64_t n) override { acked_ += n; }

  std::vector<Completion> take_events(std::uint64_t id) override {
    std::vector<Completion> out;
    if (names_.empty()) return out;
    Completion c{id, Status::event};
    c.error_kind = "names";
    handed_ += names_.size();
    c.data = std::make_shared<const Datum>(Datum::vector(std::move(names_)));
    names_.clear();
    out.push_back(std::move(c));
    return out;
  }

  Completion result(std::uint64_t id) override {
    if (failure_) return failure_completion(id, *failure_);
    if (cancelled()) return Completion{id, Status::cancelled};
    return Completion{id, Status::ok};
  }

 private:
  void fail(int err) { failure_ = FileFailure{err, "Opening directory", {0}, true}; }

  void close_dir() {
    if (dir_) ::closedir(dir_);
    dir_ = nullptr;
  }

  void visit(const char* name, unsigned char type) {
    std::string rel = rel_ + name;
    bool is_dir = type == DT_DIR;
    std::shared_ptr<const Node> node;
    if (spec_.follow_symlinks && (is_dir || type == DT_LNK || type == DT_UNKNOWN)) {
      // Following links, a directory is known by its device and inode,
      // so that a link back to one of its ancestors (a cycle) is not
      // entered, as find -L does.
      struct stat st;
      const std::string path = base_ + rel;
      is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (is_dir) {
        bool cycle = false;
        for (const Node* up = node_.get(); up && !cycle; up = up->parent.get()) {
          cycle = up->dev == st.st_dev && up->ino == st.st_ino;
        }
        if (!cycle) node = std::make_shared<const Node>(Node{st.st_dev, st.st_ino, node_});
      }
    } else if (type == DT_UNKNOWN) {
      struct stat st;
      const std::string path = base_ + rel;
      is_dir = ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    const bool descend = is_dir && (!spec_.follow_symlinks || node);
    if (!spec_.ignore.empty() && walk_ignored(spec_.ignore, rel, name, is_dir)) return;
    if (!is_dir || spec_.include_directories) {
      std::string full = base_ + rel;
      Datum name = Datum::bytes(std::move(full));
      // Non-ASCII UTF-8 as text: Emacs then needs not decode it. ASCII
      // stays unibyte, as Emacs's own `directory-files' gives it: the
      // module API makes text through a second, temporary string.
      if (spec_.utf8_names && !is_ascii(name.s) && is_utf8(name.s)) name.kind = Datum::Kind::text;
      names_.push_back(std::move(name));
    }
    if (descend) stack_.push_back({std::move(rel), std::move(node)});
  }

  // A directory entered while following links, and the one it is in.
  struct Node {
    dev_t dev;
    ino_t ino;
    std::shared_ptr<const Node> parent;
  };
  struct Pending {
    std::string rel;                   // relative to the root
    std::shared_ptr<const Node> node;  // when following links
  };

  WalkSpec spec_;
  std::string base_;               // the root, ending in "/"
  bool begun_ = false;
  std::vector<Pending> stack_;     // directories to read
  DIR* dir_ = nullptr;             // the directory being read
  std::string rel_;                // its path below the root, "" or ending in "/"
  std::shared_ptr<const Node> node_;
  std::vector<Datum> names_;
  std::uint64_t handed_ = 0, acked_ = 0;
  std::optional<FileFailure> failure_;
};

}  // namespace

std::unique_ptr<FileJob> make_walk_job(WalkSpec spec) { return std::make_unique<WalkJob>(std::move(spec)); }

}  // namespace aio
