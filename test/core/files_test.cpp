// File jobs on libuv's thread pool, against real files in a temporary
// directory.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cloexec.hpp"
#include "datum.hpp"
#include "file_jobs.hpp"
#include "file_walk.hpp"
#include "harness.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_ = std::make_unique<Loop>(pipe_.release_write());
    char templ[] = "/tmp/aio-files-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    loop_.reset();
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  static void spit(const std::string& file, const std::string& data) {
    std::ofstream out(file, std::ios::binary);
    out << data;
  }
  static std::string slurp(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Starts JOB as ID and returns its completions up to the final one;
  // ON_EVENT sees each event as it comes.
  std::vector<Completion> run(std::uint64_t id, std::unique_ptr<FileJob> job,
                              const std::function<void(const Completion&)>& on_event = nullptr,
                              std::chrono::milliseconds limit = 20s) {
    loop_->start_file(id, std::move(job));
    return until_final(id, on_event, limit);
  }
  std::vector<Completion> until_final(std::uint64_t id, const std::function<void(const Completion&)>& on_event,
                                      std::chrono::milliseconds limit = 20s) {
    std::vector<Completion> got;
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      pipe_.read_available(20);
      for (auto& c : loop_->outbox().drain()) {
        if (c.id != id) continue;
        const bool final = c.status != Status::event;
        if (!final && on_event) on_event(c);
        got.push_back(std::move(c));
        if (final) return got;
      }
    }
    return got;
  }
  Completion final_of(std::uint64_t id, std::unique_ptr<FileJob> job) {
    auto got = run(id, std::move(job));
    EXPECT_FALSE(got.empty());
    return got.empty() ? Completion() : got.back();
  }

  // The failure KIND, WHAT and path indices of C, a file error.
  static void expect_failure(const Completion& c, const char* kind, const char* what,
                             std::vector<std::int64_t> paths = {0}) {
    ASSERT_EQ(c.status, Status::error) << c.payload;
    EXPECT_EQ(c.error_kind, "file");
    ASSERT_TRUE(c.data);
    const auto& items = c.data->items;
    ASSERT_EQ(items.size(), 3 + paths.size());
    EXPECT_EQ(items[0].s, kind);
    EXPECT_EQ(items[1].s, what);
    for (std::size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(items[3 + i].i, paths[i]);
  }

  static ReadSpec read_spec(const std::string& file) {
    ReadSpec s;
    s.path = file;
    return s;
  }
  static WriteSpec write_spec(const std::string& file, std::string data) {
    WriteSpec s;
    s.path = file;
    s.data = std::make_shared<const std::string>(std::move(data));
    return s;
  }

  Pipe pipe_;
  std::unique_ptr<Loop> loop_;
  std::string dir_;
};

// -- Reading -----------------------------------------------------------------

TEST_F(FilesTest, ReadsAWholeFileAndARange) {
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  spit(path("a"), data);
  Completion c = final_of(1, make_read_job(read_spec(path("a"))));
  ASSERT_EQ(c.status, Status::ok);
  EXPECT_EQ(c.payload, data);
  ReadSpec range = read_spec(path("a"));
  range.start = 10;
  range.end = 20;
  c = final_of(2, make_read_job(range));
  EXPECT_EQ(c.payload, data.substr(10, 10));
  EXPECT_EQ(loop_->stats().files_pending, 0);
}

TEST_F(FilesTest, ReadFailuresAreTheOnesEmacsReports) {
  expect_failure(final_of(1, make_read_job(read_spec(path("none")))), "missing", "Opening input file");
  ::mkdir(path("d").c_str(), 0755);
  expect_failure(final_of(2, make_read_job(read_spec(path("d")))), "other", "Read error");
  spit(path("f"), "x");
  expect_failure(final_of(3, make_read_job(read_spec(path("f") + "/x"))), "other", "Opening input file");
}

// A FIFO nobody writes to or reads from must not hold a pool thread:
// every later file job, and Emacs's exit, would wait behind it.
TEST_F(FilesTest, AFifoWithoutAPeerHoldsNoThread) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  Completion c = final_of(1, make_read_job(read_spec(path("fifo"))));
  ASSERT_EQ(c.status, Status::ok) << c.payload;
  EXPECT_EQ(c.payload, "");
  ReadSpec ahead = read_spec(path("fifo"));
  ahead.insert_from_fd = true;
  expect_failure(final_of(2, make_read_job(ahead)), "other", "Not a regular file");
  expect_failure(final_of(3, make_write_job(write_spec(path("fifo"), "x"))), "other",
                 "Opening output file");
  expect_failure(final_of(4, make_copy_job(path("fifo"), path("copy"), false, false)), "other",
                 "Non-regular file");
  spit(path("plain"), "p");
  expect_failure(final_of(5, make_copy_job(path("plain"), path("fifo"), true, false)), "other",
                 "Opening output file", {1});
  EXPECT_EQ(loop_->stats().files_pending, 0);
  // Other jobs still run.
  EXPECT_EQ(final_of(6, make_read_job(read_spec(path("plain")))).payload, "p");
}

TEST_F(FilesTest, ReadAheadCutsAfterNewlinesAndWaitsForItsReader) {
  std::string line = "a line of text, with more than a few words in it\n";
  std::string data;
  while (data.size() < 3 * 1024 * 1024) data += line;
  spit(path("t"), data);
  ReadSpec spec = read_spec(path("t"));
  spec.insert_from_fd = true;
  spec.cut_at_lines = true;
  spec.window = 1u << 20;
  loop_->start_file(1, make_read_job(spec));
  int fd = -1;
  std::vector<std::uint64_t> cuts;
  // Without acks, the job stops within its window.
  auto first = until_final(1, [&](const Completion& c) {
    if (c.error_kind == "open") fd = static_cast<int>(c.data->items[0].i);
    if (c.error_kind == "ready") {
      for (const Datum& d : c.data->items) cuts.push_back(static_cast<std::uint64_t>(d.i));
    }
  }, 500ms);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(is_close_on_exec(fd));
  ASSERT_FALSE(cuts.empty());
  EXPECT_LE(cuts.back(), (1u << 20));
  for (std::uint64_t cut : cuts) EXPECT_EQ(data[cut - 1], '\n') << cut;
  // What the reader inserts from the descriptor is the file.
  std::uint64_t acked = 0;
  auto on_event = [&](const Completion& c) {
    if (c.error_kind != "ready") return;
    for (const Datum& d : c.data->items) cuts.push_back(static_cast<std::uint64_t>(d.i));
    loop_->ack_file(1, cuts.back() - acked);
    acked = cuts.back();
  };
  loop_->ack_file(1, cuts.back());
  acked = cuts.back();
  auto rest = until_final(1, on_event);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().status, Status::ok);
  EXPECT_EQ(cuts.back(), data.size());
  for (std::size_t i = 1; i < cuts.size(); ++i) EXPECT_LT(cuts[i - 1], cuts[i]);
  // Closed once done (nothing else here opens descriptors meanwhile).
  EXPECT_LT(::fcntl(fd, F_GETFD), 0);
}

TEST_F(FilesTest, ReadAheadOfBytesCutsEveryMegabyte) {
  spit(path("b"), std::string(2 * 1024 * 1024 + 5, 'x'));
  ReadSpec spec = read_spec(path("b"));
  spec.insert_from_fd = true;
  std::vector<std::uint64_t> cuts;
  std::uint64_t acked = 0;
  auto got = run(1, make_read_job(spec), [&](const Completion& c) {
    if (c.error_kind != "ready") return;
    for (const Datum& d : c.data->items) cuts.push_back(static_cast<std::uint64_t>(d.i));
    loop_->ack_file(1, cuts.back() - acked);
    acked = cuts.back();
  });
  ASSERT_EQ(got.back().status, Status::ok);
  EXPECT_EQ(cuts, (std::vector<std::uint64_t>{1u << 20, 2u << 20, (2u << 20) + 5}));
}

// -- Writing -----------------------------------------------------------------

TEST_F(FilesTest, WritesAppendsAndSetsTheMode) {
  ASSERT_EQ(final_of(1, make_write_job(write_spec(path("w"), "hello "))).status, Status::ok);
  WriteSpec more = write_spec(path("w"), "world");
  more.append = true;
  more.mode = 0640;
  ASSERT_EQ(final_of(2, make_write_job(more)).status, Status::ok);
  EXPECT_EQ(slurp(path("w")), "hello world");
  struct stat st;
  ASSERT_EQ(::stat(path("w").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  expect_failure(final_of(3, make_write_job(write_spec(path("no/w"), "x"))), "missing", "Opening output file");
}

TEST_F(FilesTest, AtomicWriteReplacesTheFileAndKeepsItsMode) {
  spit(path("x"), "old");
  ::chmod(path("x").c_str(), 0604);
  WriteSpec spec = write_spec(path("x"), std::string(20 * 1024 * 1024, 'n'));
  spec.atomic = true;
  ASSERT_EQ(final_of(1, make_write_job(spec)).status, Status::ok);
  EXPECT_EQ(slurp(path("x")).size(), 20u * 1024 * 1024);
  struct stat st;
  ASSERT_EQ(::stat(path("x").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(entries(), std::vector<std::string>{"x"});
}

TEST_F(FilesTest, AtomicWriteThroughASymlinkReplacesItsTarget) {
  spit(path("target"), "old");
  ASSERT_EQ(::symlink("target", path("link").c_str()), 0);
  WriteSpec spec = write_spec(path("link"), "new");
  spec.atomic = true;
  ASSERT_EQ(final_of(1, make_write_job(spec)).status, Status::ok);
  struct stat st;
  ASSERT_EQ(::lstat(path("link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(slurp(path("target")), "new");
}

TEST_F(FilesTest, ACancelledAtomicWriteLeavesTheOldFileAndNoTemporary) {
  spit(path("keep"), "old contents");
  WriteSpec spec = write_spec(path("keep"), std::string(256 * 1024 * 1024, 'n'));
  spec.atomic = true;
  loop_->start_file(1, make_write_job(spec));
  // Cancelled midway: once its temporary file exists.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (entries().size() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  loop_->cancel_file(1);
  auto got = until_final(1, nullptr);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().status, Status::cancelled);
  // The job stops after its step and removes its temporary file.
  until = std::chrono::steady_clock::now() + 10s;
  while (entries().size() > 1 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(entries(), std::vector<std::string>{"keep"});
  EXPECT_EQ(slurp(path("keep")), "old contents");
}

TEST_F(FilesTest, AtomicWriteIntoAMissingDirectoryFails) {
  WriteSpec spec = write_spec(path("none/x"), "x");
  spec.atomic = true;
  expect_failure(final_of(1, make_write_job(spec)), "missing", "Opening output file");
}

// -- Attributes, copy, rename, delete, mkdir ---------------------------------

TEST_F(FilesTest, StatGivesWhatFileAttributesNeeds) {
  spit(path("s"), "12345");
  ::chmod(path("s").c_str(), 0754);
  Completion c = final_of(1, make_stat_job(path("s"), false, false));
  ASSERT_EQ(c.status, Status::ok);
  ASSERT_TRUE(c.data);
  const auto& a = c.data->items;
  ASSERT_EQ(a.size(), 14u);
  EXPECT_EQ(a[0].kind, Datum::Kind::nil);
  EXPECT_EQ(a[1].i, 1);
  EXPECT_EQ(a[10].i, 5);
  EXPECT_EQ(a[11].s, "-rwxr-xr--");
  struct stat st;
  ::stat(path("s").c_str(), &st);
  EXPECT_EQ(a[12].i, static_cast<std::int64_t>(st.st_ino));
  EXPECT_EQ(a[6].i, st.st_mtim.tv_sec);
  EXPECT_EQ(a[7].i, st.st_mtim.tv_nsec);
  ASSERT_EQ(::symlink("s", path("l").c_str()), 0);
  c = final_of(2, make_stat_job(path("l"), false, true));
  EXPECT_EQ(c.data->items[0].s, "s");
  EXPECT_EQ(c.data->items[11].s[0], 'l');
  EXPECT_EQ(c.data->items[2].kind, Datum::Kind::text);
  c = final_of(3, make_stat_job(dir_, false, false));
  EXPECT_EQ(c.data->items[0].s, "t");
  c = final_of(4, make_stat_job(path("missing"), false, false));
  EXPECT_EQ(c.status, Status::ok);
  EXPECT_FALSE(c.data);
}

TEST_F(FilesTest, CopyKeepsTheModeAndRefusesToOverwrite) {
  std::string data(9 * 1024 * 1024 + 3, 'c');
  spit(path("from"), data);
  ::chmod(path("from").c_str(), 0640);
  ASSERT_EQ(final_of(1, make_copy_job(path("from"), path("to"), false, false)).status, Status::ok);
  EXPECT_EQ(slurp(path("to")), data);
  struct stat st;
  ::stat(path("to").c_str(), &st);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  expect_failure(final_of(2, make_copy_job(path("from"), path("to"), false, false)), "exists",
                 "File already exists", {1});
  ASSERT_EQ(final_of(3, make_copy_job(path("from"), path("to"), true, true)).status, Status::ok);
  expect_failure(final_of(7, make_copy_job(path("from"), path("from"), false, false)), "exists",
                 "File already exists", {1});
  expect_failure(final_of(4, make_copy_job(path("from"), path("from"), true, false)), "other",
                 "Input and output files are the same", {0, 1});
  expect_failure(final_of(5, make_copy_job(dir_, path("d2"), false, false)), "other", "Non-regular file");
  expect_failure(final_of(6, make_copy_job(path("nope"), path("d3"), false, false)), "missing",
                 "Opening input file");
}

TEST_F(FilesTest, RenameRefusesToReplaceUnlessTold) {
  spit(path("a"), "a");
  spit(path("b"), "b");
  expect_failure(final_of(1, make_rename_job(path("a"), path("b"), false)), "exists", "File already exists", {1});
  ASSERT_EQ(final_of(2, make_rename_job(path("a"), path("b"), true)).status, Status::ok);
  EXPECT_EQ(slurp(path("b")), "a");
  expect_failure(final_of(3, make_rename_job(path("a"), path("c"), false)), "missing", "Renaming", {0, 1});
}

TEST_F(FilesTest, DeleteRemovesFilesAndTreesAndIgnoresWhatIsNotThere) {
  ::mkdir(path("t").c_str(), 0755);
  ::mkdir(path("t/u").c_str(), 0755);
  spit(path("t/u/f"), "f");
  spit(path("t/g"), "g");
  ASSERT_EQ(::symlink("/", path("t/root").c_str()), 0);
  expect_failure(final_of(1, make_delete_job(path("t"), false)), "other", "Removing directory");
  ASSERT_EQ(final_of(2, make_delete_job(path("t"), true)).status, Status::ok);
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(final_of(3, make_delete_job(path("nothing"), false)).status, Status::ok);
  spit(path("x"), "x");
  EXPECT_EQ(final_of(4, make_delete_job(path("x"), false)).status, Status::ok);
  EXPECT_TRUE(entries().empty());
}

TEST_F(FilesTest, MkdirMakesParentsAndSaysWhenItWasThere) {
  Completion c = final_of(1, make_mkdir_job(path("a/b/c"), true, -1));
  ASSERT_EQ(c.status, Status::ok);
  EXPECT_FALSE(c.data);
  struct stat st;
  ASSERT_EQ(::stat(path("a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  c = final_of(2, make_mkdir_job(path("a/b/c"), true, -1));
  ASSERT_TRUE(c.data);
  EXPECT_EQ(c.data->items.size(), 0u);
  EXPECT_EQ(c.data->s, "t");
  expect_failure(final_of(3, make_mkdir_job(path("a"), false, -1)), "exists", "File exists");
  expect_failure(final_of(4, make_mkdir_job(path("x/y"), false, -1)), "missing", "Creating directory");
}

// -- Walking -----------------------------------------------------------------

class WalkTest : public FilesTest {
 protected:
  // Every name of the walk of SPEC, acknowledged as they come.
  std::set<std::string> walk(WalkSpec spec, Status* status = nullptr) {
    std::set<std::string> names;
    auto got = run(9, make_walk_job(std::move(spec)), [&](const Completion& c) {
      for (const Datum& d : c.data->items) names.insert(d.s);
      loop_->ack_file(9, c.data->items.size());
    });
    if (status) *status = got.empty() ? Status::cancelled : got.back().status;
    return names;
  }
  void tree() {
    for (const char* d : {"src", "src/sub", ".git", "build"}) ::mkdir(path(d).c_str(), 0755);
    for (const char* f : {"a.el", "a.elc", "src/b.c", "src/sub/c.h", ".git/HEAD", "build/out.o"}) spit(path(f), f);
  }
};

TEST_F(WalkTest, FindsEveryFileBelowTheRoot) {
  tree();
  WalkSpec spec;
  spec.root = dir_;
  Status status;
  auto names = walk(spec, &status);
  EXPECT_EQ(status, Status::ok);
  std::set<std::string> want;
  for (const char* f : {"a.el", "a.elc", "src/b.c", "src/sub/c.h", ".git/HEAD", "build/out.o"}) want.insert(path(f));
  EXPECT_EQ(names, want);
  spec.include_directories = true;
  names = walk(spec);
  for (const char* d : {"src", "src/sub", ".git", "build"}) want.insert(path(d));
  EXPECT_EQ(names, want);
}

TEST_F(WalkTest, IgnoredNamesAndDirectoriesAreLeftOut) {
  tree();
  WalkSpec spec;
  spec.root = dir_ + "/";
  spec.ignore = {".git", "*.elc", "/build/", "src/sub"};
  auto names = walk(spec);
  EXPECT_EQ(names, (std::set<std::string>{path("a.el"), path("src/b.c")}));
}

TEST_F(WalkTest, IgnorePatterns) {
  EXPECT_TRUE(walk_ignored({"*.o"}, "x/y.o", "y.o", false));
  EXPECT_FALSE(walk_ignored({"build/"}, "build", "build", false));
  EXPECT_TRUE(walk_ignored({"build/"}, "x/build", "build", true));
  EXPECT_FALSE(walk_ignored({"/build"}, "x/build", "build", true));
  EXPECT_TRUE(walk_ignored({"/build"}, "build", "build", true));
  EXPECT_FALSE(walk_ignored({"src/*.c"}, "src/sub/a.c", "a.c", false));
}

TEST_F(WalkTest, SymlinksAreFollowedOnlyWhenAskedAndNeverRoundACycle) {
  ::mkdir(path("d").c_str(), 0755);
  spit(path("d/f"), "f");
  ASSERT_EQ(::symlink("..", path("d/up").c_str()), 0);
  ASSERT_EQ(::symlink("d", path("again").c_str()), 0);
  WalkSpec spec;
  spec.root = dir_;
  EXPECT_EQ(walk(spec), (std::set<std::string>{path("d/f"), path("d/up"), path("again")}));
  spec.follow_symlinks = true;
  // As find -L: a second way into d is taken, a way back up is not.
  EXPECT_EQ(walk(spec), (std::set<std::string>{path("d/f"), path("again/f")}));
}

TEST_F(WalkTest, NamesAreTextOnlyWhenNotAsciiButUtf8) {
  // Emacs gives ASCII names as unibyte strings: one string each, where
  // the module API makes text through a temporary.
  for (const char* f : {"plain", "t\xc3\xa9", "raw\xff"}) spit(path(f), "");
  WalkSpec spec;
  spec.root = dir_;
  std::map<std::string, Datum::Kind> kinds;
  run(9, make_walk_job(spec), [&](const Completion& c) {
    for (const Datum& d : c.data->items) kinds[d.s] = d.kind;
    loop_->ack_file(9, c.data->items.size());
  });
  ASSERT_EQ(kinds.size(), 3u);
  EXPECT_EQ(kinds.at(path("plain")), Datum::Kind::bytes);
  EXPECT_EQ(kinds.at(path("t\xc3\xa9")), Datum::Kind::text);
  EXPECT_EQ(kinds.at(path("raw\xff")), Datum::Kind::bytes);
  EXPECT_TRUE(is_ascii("plain/name~"));
  EXPECT_FALSE(is_ascii("t\xc3\xa9"));
}

TEST_F(WalkTest, ARootThatIsNotADirectoryFails) {
  WalkSpec spec;
  spec.root = path("none");
  expect_failure(final_of(1, make_walk_job(spec)), "missing", "Opening directory");
  spit(path("file"), "x");
  spec.root = path("file");
  expect_failure(final_of(2, make_walk_job(spec)), "other", "Opening directory");
}

TEST_F(WalkTest, AReaderThatDoesNotAckHoldsTheWalk) {
  for (int i = 0; i < 3000; ++i) spit(path("f" + std::to_string(i)), "");
  WalkSpec spec;
  spec.root = dir_;
  spec.window = 1000;
  spec.batch = 100;
  std::size_t seen = 0;
  bool ended = false;
  auto count = [&](const Completion& c) { seen += c.data->items.size(); };
  loop_->start_file(1, make_walk_job(spec));
  // Until the window is full, however slow the machine; then a while
  // longer, in which nothing more may come.
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (seen < 1000 && !ended && std::chrono::steady_clock::now() < give_up) {
    auto got = until_final(1, count, 100ms);
    ended = !got.empty() && got.back().status != Status::event;
  }
  auto later = until_final(1, count, 300ms);
  ended = ended || (!later.empty() && later.back().status != Status::event);
  EXPECT_GE(seen, 1000u);
  EXPECT_LT(seen, 1200u);
  ASSERT_FALSE(ended);
  loop_->ack_file(1, seen);
  auto rest = until_final(1, [&](const Completion& c) {
    seen += c.data->items.size();
    loop_->ack_file(1, c.data->items.size());
  });
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().status, Status::ok);
  EXPECT_EQ(seen, 3000u);
}

TEST_F(WalkTest, CancelStopsTheWalk) {
  for (int i = 0; i < 2000; ++i) spit(path("f" + std::to_string(i)), "");
  WalkSpec spec;
  spec.root = dir_;
  spec.window = 100;
  spec.batch = 50;
  loop_->start_file(1, make_walk_job(spec));
  loop_->cancel_file(1);
  auto got = until_final(1, nullptr);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().status, Status::cancelled);
  EXPECT_EQ(loop_->stats().files_pending, 0);
}

// -- The pool's threads ------------------------------------------------------

// Records the signal mask of the pool thread that runs it.
class MaskProbe : public FileJob {
 public:
  explicit MaskProbe(sigset_t* out) : out_(out) {}
  void step() override { pthread_sigmask(SIG_BLOCK, nullptr, out_); }
  Next next() const override { return Next::done; }
  Completion result(std::uint64_t id) override { return Completion{id, Status::ok}; }

 private:
  sigset_t* out_;
};

TEST_F(FilesTest, PoolThreadsTakeNoSignals) {
  // Several at once, so that more than one pool thread runs them.
  constexpr int n = 8;
  std::vector<sigset_t> masks(n);
  for (int i = 0; i < n; ++i) {
    sigemptyset(&masks[i]);
    loop_->start_file(100 + i, std::make_unique<MaskProbe>(&masks[i]));
  }
  auto got = collect(*loop_, pipe_, n);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (const sigset_t& mask : masks) {
    for (int sig : {SIGINT, SIGCHLD, SIGIO, SIGALRM, SIGPIPE, SIGTERM, SIGXFSZ, SIGUSR1}) {
      EXPECT_TRUE(sigismember(&mask, sig)) << sig;
    }
  }
}

}  // namespace
}  // namespace aio::test
