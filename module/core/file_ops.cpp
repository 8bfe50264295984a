// The small file operations: attributes, copy, rename, delete, mkdir.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "file_jobs.hpp"
#include "file_util.hpp"

namespace aio {

namespace {

// Entries one step of a recursive delete removes at most.
constexpr int delete_step = 4096;

// ls -l's ten characters for MODE.
std::string mode_string(mode_t mode) {
  std::string s(10, '-');
  if (S_ISDIR(mode)) s[0] = 'd';
  else if (S_ISLNK(mode)) s[0] = 'l';
  else if (S_ISCHR(mode)) s[0] = 'c';
  else if (S_ISBLK(mode)) s[0] = 'b';
  else if (S_ISFIFO(mode)) s[0] = 'p';
  else if (S_ISSOCK(mode)) s[0] = 's';
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (mode & (0400 >> i)) s[i + 1] = rwx[i];
  }
  auto special = [&](int at, mode_t bit, char set, char unset_x) {
    if (mode & bit) s[at] = s[at] == 'x' ? set : unset_x;
  };
  special(3, S_ISUID, 's', 'S');
  special(6, S_ISGID, 's', 'S');
  special(9, S_ISVTX, 't', 'T');
  return s;
}

Datum user_name(uid_t uid) {
  std::vector<char> buffer(4096);
  struct passwd pw, *found = nullptr;
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found) return Datum::text(pw.pw_name);
  return Datum::integer(uid);
}

Datum group_name(gid_t gid) {
  std::vector<char> buffer(4096);
  struct group gr, *found = nullptr;
  if (getgrgid_r(gid, &gr, buffer.data(), buffer.size(), &found) == 0 && found) return Datum::text(gr.gr_name);
  return Datum::integer(gid);
}

Datum text_or_bytes(std::string s) {
  return is_utf8(s) ? Datum::text(std::move(s)) : Datum::bytes(std::move(s));
}

// -- Attributes --------------------------------------------------------------

class StatJob : public OutcomeJob {
 public:
  StatJob(std::string path, bool follow, bool names) : path_(std::move(path)), follow_(follow), names_(names) {}

  void step() override {
    struct stat st;
    if ((follow_ ? ::stat(path_.c_str(), &st) : ::lstat(path_.c_str(), &st)) != 0) {
      // file-attributes gives nil for a file that is not there.
      if (errno == ENOENT || errno == ENOTDIR) return succeed();
      return fail(errno, "Getting attributes");
    }
    Datum type;
    if (S_ISDIR(st.st_mode)) {
      type = Datum::symbol("t");
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
      for (;;) {
        const ssize_t n = ::readlink(path_.c_str(), target.data(), target.size());
        if (n < 0) return fail(errno, "Reading symbolic link");
        if (static_cast<std::size_t>(n) < target.size()) {
          target.resize(static_cast<std::size_t>(n));
          break;
        }
        target.resize(target.size() * 2);
      }
      type = text_or_bytes(std::move(target));
    }
    auto n = [](auto v) { return Datum::integer(static_cast<std::int64_t>(v)); };
    // Read by name in Lisp: the layout is `aio-file--stat' of aio-file.el.
    succeed(Datum::vector({
        std::move(type), n(st.st_nlink),
        names_ ? user_name(st.st_uid) : n(st.st_uid),
        names_ ? group_name(st.st_gid) : n(st.st_gid),
        n(st.st_atim.tv_sec), n(st.st_atim.tv_nsec),
        n(st.st_mtim.tv_sec), n(st.st_mtim.tv_nsec),
        n(st.st_ctim.tv_sec), n(st.st_ctim.tv_nsec),
        n(st.st_size), Datum::text(mode_string(st.st_mode)),
        n(st.st_ino), n(st.st_dev),
    }));
  }

 private:
  std::string path_;
  bool follow_, names_;
};

// -- Copy and rename ---------------------------------------------------------

class CopyJob : public OutcomeJob {
 public:
  CopyJob(std::string from, std::string to, bool overwrite, bool keep_time)
      : copier_(std::move(from), std::move(to), overwrite, keep_time) {}

  void step() override {
    if (cancelled()) return;
    if (!copier_.step()) return;
    if (copier_.failure()) {
      const FileFailure& f = *copier_.failure();
      return fail(f.err, f.what, f.paths, f.message);
    }
    succeed();
  }

  void abandon() override { copier_.abandon(); }

 private:
  Copier copier_;
};

class RenameJob : public OutcomeJob {
 public:
  RenameJob(std::string from, std::string to, bool overwrite)
      : from_(std::move(from)), to_(std::move(to)), overwrite_(overwrite) {}

  void step() override {
    if (cancelled()) return;
    if (copier_) return copy_step();
    if (!overwrite_) {
      int rc = -1;
#ifdef RENAME_NOREPLACE
      rc = ::renameat2(AT_FDCWD, from_.c_str(), AT_FDCWD, to_.c_str(), RENAME_NOREPLACE);
      if (rc != 0 && errno != EINVAL && errno != ENOSYS) return failed(errno);
#endif
      if (rc != 0) {
        // No atomic way on this file system: look, then rename.
        struct stat st;
        if (::lstat(to_.c_str(), &st) == 0) return failed(EEXIST);
        if (::rename(from_.c_str(), to_.c_str()) != 0) return failed(errno);
      }
      return succeed();
    }
    if (::rename(from_.c_str(), to_.c_str()) != 0) return failed(errno);
    succeed();
  }

  void abandon() override {
    if (copier_) copier_->abandon();
  }

 private:
  void failed(int err) {
    if (err == EEXIST) return fail(EEXIST, "File already exists", {1}, false);
    struct stat st;
    // Across file systems a file is copied, then removed, as
    // rename-file does; a directory is not moved.
    if (err == EXDEV && ::lstat(from_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      copier_.emplace(from_, to_, overwrite_, true);
      return;
    }
    fail(err, "Renaming", {0, 1});
  }

  void copy_step() {
    if (!copier_->step()) return;
    if (copier_->failure()) {
      const FileFailure& f = *copier_->failure();
      return fail(f.err, f.what, f.paths, f.message);
    }
    if (::unlink(from_.c_str()) != 0) return fail(errno, "Removing old name", {0});
    succeed();
  }

  std::string from_, to_;
  bool overwrite_;
  std::optional<Copier> copier_;
};

// -- Delete ------------------------------------------------------------------

class DeleteJob : public OutcomeJob {
 public:
  DeleteJob(std::string path, bool recursive) : path_(std::move(path)), recursive_(recursive) {}

  void step() override {
    if (cancelled()) return;
    if (!begun_) {
      begun_ = true;
      struct stat st;
      if (::lstat(path_.c_str(), &st) != 0) {
        // delete-file does nothing for a file that is not there.
        if (errno == ENOENT) return succeed();
        return fail(errno, "Removing old name");
      }
      if (!S_ISDIR(st.st_mode)) {
        if (::unlink(path_.c_str()) != 0) return fail(errno, "Removing old name");
        return succeed();
      }
      if (!recursive_) {
        if (::rmdir(path_.c_str()) != 0) return fail(errno, "Removing directory");
        return succeed();
      }
      stack_.push_back({path_, false});
    }
    // Depth first: a directory is removed once what it held is.
    int budget = delete_step;
    while (!stack_.empty() && budget > 0) {
      Pending& top = stack_.back();
      if (top.listed) {
        const std::string dir = top.path;
        stack_.pop_back();
        if (::rmdir(dir.c_str()) != 0) return fail(errno, "Removing directory", where(dir));
        --budget;
        continue;
      }
      top.listed = true;
      const std::string dir = top.path;
      DIR* d = ::opendir(dir.c_str());
      if (!d) return fail(errno, "Opening directory", where(dir));
      std::vector<std::string> subdirs;
      while (const dirent* entry = ::readdir(d)) {
        const char* name = entry->d_name;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        std::string child = dir + "/" + name;
        bool is_dir = entry->d_type == DT_DIR;
        if (entry->d_type == DT_UNKNOWN) {
          struct stat st;
          is_dir = ::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) {
          subdirs.push_back(std::move(child));
        } else if (::unlink(child.c_str()) != 0 && errno != ENOENT) {
          const int err = errno;
          ::closedir(d);
          return fail(err, "Removing old name", where(child));
        }
        --budget;
      }
      ::closedir(d);
      for (auto& s : subdirs) stack_.push_back({std::move(s), false});
    }
    if (stack_.empty()) succeed();
  }

 private:
  struct Pending {
    std::string path;
    bool listed;
  };

  std::vector<FailurePath> where(const std::string& path) const {
    if (path == path_) return {0};
    return {path};
  }

  std::string path_;
  bool recursive_;
  bool begun_ = false;
  std::vector<Pending> stack_;
};

// -- Make directory ----------------------------------------------------------

class MkdirJob : public OutcomeJob {
 public:
  MkdirJob(std::string path, bool parents, int mode) : path_(std::move(path)), parents_(parents), mode_(mode) {}

  void step() override {
    const mode_t mode = mode_ >= 0 ? static_cast<mode_t>(mode_) : 0777;
    if (::mkdir(path_.c_str(), mode) == 0) return succeed();
    const int err = errno;
    struct stat st;
    if (err == EEXIST) {
      if (parents_ && ::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return succeed(Datum::symbol("t"));
      return fail(EEXIST, "File exists", {0}, false);
    }
    if (err != ENOENT || !parents_) return fail(err, "Creating directory");
    // Each missing directory above, top down.
    for (std::size_t slash = path_.find('/', 1); slash != std::string::npos; slash = path_.find('/', slash + 1)) {
      const std::string prefix = path_.substr(0, slash);
      if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) return fail(errno, "Creating directory");
    }
    if (::mkdir(path_.c_str(), mode) != 0) {
      if (errno == EEXIST && ::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return succeed();
      return fail(errno, "Creating directory");
    }
    succeed();
  }

 private:
  std::string path_;
  bool parents_;
  int mode_;
};

}  // namespace

std::unique_ptr<FileJob> make_stat_job(std::string path, bool follow_symlinks, bool names) {
  return std::make_unique<StatJob>(std::move(path), follow_symlinks, names);
}

std::unique_ptr<FileJob> make_copy_job(std::string from, std::string to, bool overwrite, bool keep_time) {
  return std::make_unique<CopyJob>(std::move(from), std::move(to), overwrite, keep_time);
}

std::unique_ptr<FileJob> make_rename_job(std::string from, std::string to, bool overwrite) {
  return std::make_unique<RenameJob>(std::move(from), std::move(to), overwrite);
}

std::unique_ptr<FileJob> make_delete_job(std::string path, bool recursive) {
  return std::make_unique<DeleteJob>(std::move(path), recursive);
}

std::unique_ptr<FileJob> make_mkdir_job(std::string path, bool parents, int mode) {
  return std::make_unique<MkdirJob>(std::move(path), parents, mode);
}

}  // namespace aio
