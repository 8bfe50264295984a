#!/usr/bin/env python3
"""`make bench`: run every workload side by side and write bench/RESULTS.md.

Each run of each contender is a fresh `emacs -Q --batch` (or a C++ floor
program) that prints one line of KEY=VALUE; the table shows the median of
the runs and the ratio to the best contender.  BENCH_QUICK=1 runs fewer
sizes and repetitions so that the whole thing takes under two minutes.
AIO_REFERENCE_DIR names another implementation of the `aio' API, added
as a contender on workloads 1 to 3.  BENCH_ONLY=streams,timers,... runs
only those workloads and replaces their sections in RESULTS.md.
"""

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build-bench"
LISP = BUILD / "lisp"
WORKLOADS = BUILD / "workloads.elc"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3 if QUICK else 5
# Seconds: a run slower than this is stopped, and its contender skips
# larger sizes.
LIMIT = 15 if QUICK else 60
EMACS = os.environ.get("EMACS", "emacs")
PLZ_DIRS = sorted(Path("/usr/share/emacs/site-lisp/elpa").glob("plz-*"))
REFERENCE = os.environ.get("AIO_REFERENCE_DIR")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def check(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def build():
    """Release module, floors, byte-compiled Lisp, all under build-bench/."""
    check(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release",
           "-DAIO_BUILD_TESTS=OFF", "-DAIO_BUILD_BENCH=ON",
           f"-DAIO_MODULE_OUTPUT_DIR={LISP}"], stdout=subprocess.DEVNULL)
    check(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2)],
          stdout=subprocess.DEVNULL)
    for old in LISP.glob("*.el*"):
        old.unlink()
    for src in (ROOT / "lisp").glob("*.el"):
        shutil.copy(src, LISP)
    check([EMACS, "-Q", "--batch", "-L", LISP, "-f", "batch-byte-compile"]
          + sorted(str(p) for p in LISP.glob("*.el")))
    shutil.copy(ROOT / "bench" / "workloads.el", BUILD)
    check([EMACS, "-Q", "--batch", "-L", LISP, "-l", "aio",
           "-f", "batch-byte-compile", BUILD / "workloads.el"])


def parse(line):
    out = {}
    for pair in line.split():
        key, _, value = pair.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def run_once(cmd, env):
    """Return the KEY=VALUE dict of one run, or None past LIMIT or on error."""
    try:
        proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True,
                              text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        return None
    lines = [l for l in proc.stdout.splitlines() if "=" in l]
    if proc.returncode != 0 or not lines:
        log("  failed:", " ".join(map(str, cmd)), proc.stderr[-500:])
        # Emacs prints a C backtrace when it crashes (seen with plz and 50
        # concurrent curl processes on Emacs 28.2).
        return {"error": "Emacs crashed" if "Backtrace:" in proc.stderr else "failed"}
    return parse(lines[-1])


def emacs_cmd(function, lisp_dirs=None):
    dirs = lisp_dirs if lisp_dirs is not None else [LISP]
    cmd = [EMACS, "-Q", "--batch"]
    for d in dirs:
        cmd += ["-L", str(d)]
    return cmd + ["-l", str(WORKLOADS), "-f", function]


def measure(cmd, env, runs=RUNS):
    """Median of RUNS runs, key by key; None if a run passed LIMIT."""
    results = []
    for _ in range(runs):
        r = run_once(cmd, env)
        if r is None:
            return None
        if "error" in r:
            return r
        if r.get("failed", 0) > 0:
            log("  requests failed:", r["failed"])
            return {"error": "requests failed"}
        results.append(r)
    return {k: statistics.median(r[k] for r in results)
            for k in results[0] if isinstance(results[0][k], float)}


def table(title, note, columns, rows, best_key, lower_is_better=True):
    """Markdown for ROWS: (label, dict or None or str) with a ratio column."""
    values = [r[best_key] for _, r in rows if isinstance(r, dict) and best_key in r]
    best = (min(values) if lower_is_better else max(values)) if values else None
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out.append("| contender | " + " | ".join(c for c, _ in columns) + f" | ratio to best ({best_key}) |")
    out.append("|---" * (len(columns) + 2) + "|")
    for label, r in rows:
        if isinstance(r, str):
            out.append(f"| {label} | " + " | ".join([r] * len(columns)) + " | |")
            continue
        if r is None:
            out.append(f"| {label} | " + " | ".join(["over %d s, skipped" % LIMIT] * len(columns)) + " | |")
            continue
        if "error" in r:
            out.append(f"| {label} | " + " | ".join([r["error"]] * len(columns)) + " | |")
            continue
        cells = [fmt % r[k] if k in r else "" for _, (k, fmt) in columns]
        ratio = ""
        if best and best_key in r:
            ratio = "%.2f" % (r[best_key] / best if lower_is_better else best / r[best_key])
        out.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(out) + "\n"


def reference_dir():
    """A byte-compiled copy of AIO_REFERENCE_DIR's Lisp, like ours."""
    out = BUILD / "reference"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(REFERENCE, out, ignore=shutil.ignore_patterns("*.elc", ".git"))
    sources = sorted(str(p) for p in out.glob("*.el"))
    # Warnings or failures of someone else's code are theirs: compile what
    # compiles.
    subprocess.run([EMACS, "-Q", "--batch", "-L", str(out), "-f", "batch-byte-compile"] + sources,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def aio_contenders():
    yield "aio-native", [LISP]
    if REFERENCE:
        yield "reference (AIO_REFERENCE_DIR)", [BUILD / "reference"]


# -- workloads ---------------------------------------------------------------

def timers(sections):
    sizes = [1000, 10000] if QUICK else [1000, 10000, 100000, 1000000]
    contenders = [(name, emacs_cmd("aio-bench-timers-aio", dirs)) for name, dirs in aio_contenders()]
    contenders.append(("run-at-time, one timer per sleep", emacs_cmd("aio-bench-timers-run-at-time")))
    contenders.append(("the workload's own loop, no timer (Emacs floor)",
                       emacs_cmd("aio-bench-timers-harness")))
    contenders.append(("C++ on libuv alone (floor)", None))
    skipped = set()
    out = []
    for n in sizes:
        rows = []
        for name, cmd in contenders:
            if name in skipped:
                rows.append((name, "skipped: a smaller N took over %d s" % LIMIT))
                continue
            log(f"timers N={n}: {name}")
            if cmd is None:
                r = measure([str(BUILD / "timers_floor"), str(n)], {})
            else:
                r = measure(cmd, {"AIO_BENCH_N": str(n)})
            if r is None:
                skipped.add(name)
            rows.append((name, r))
        out.append(table(f"N = {n:,}", None,
                         [("create (s)", ("create_s", "%.3f")), ("total (s)", ("total_s", "%.3f")),
                          ("late median (ms)", ("late_median_ms", "%.2f")),
                          ("late p99 (ms)", ("late_p99_ms", "%.2f")),
                          ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                         rows, "total_s"))
    sections.append(("1. Timers at scale",
                     "N concurrent sleeps with random durations in [0, 1) s, created then all "
                     "awaited. Lateness is deadline to callback. The module is loaded and its loop "
                     "started before the measure (about 6 ms, once a session). The C++ floor has no "
                     "10 ms probe. "
                     "The Emacs floor runs the same loop, making each callback, with no timer: "
                     "each sleep counts as run at its deadline or when the loop is over, "
                     "whichever is later (no timer runs while Emacs runs the loop), so its "
                     "lateness and total are what a timer costing nothing would give here.",
                     out))


def await_loops(sections):
    rows = []
    runs = [(name, "aio-bench-await", dirs) for name, dirs in aio_contenders()]
    runs.insert(1, ("aio-native, bodies on generator.el", "aio-bench-await-generator-el", [LISP]))
    for name, function, dirs in runs:
        log(f"await: {name}")
        r = measure(emacs_cmd(function, dirs), {})
        if isinstance(r, dict) and "value_us" in r:
            r["ratio"] = r["resolved_us"] / r["value_us"]
        rows.append((name, r))
    sections.append(("2. Await round trips",
                     "100,000 iterations of each loop inside one async function, byte-compiled. "
                     "The second row compiles the same loops on generator.el, the generator "
                     "emacs-aio uses (and this project's fallback).",
                     [table("microseconds per await", None,
                            [("resolved promise", ("resolved_us", "%.3f")),
                             ("(aio-sleep 0)", ("sleep0_us", "%.3f")),
                             ("non-promise value", ("value_us", "%.3f")),
                             ("resolved / value", ("ratio", "%.2f"))],
                            rows, "resolved_us")]))


def fanout(sections):
    out = []
    for function, title in (("aio-bench-fanout", "10,000 async functions each awaiting a 10 ms sleep, joined with aio-all"),
                            ("aio-bench-semaphore", "10,000 waiters on one semaphore, then 10,000 posts")):
        rows = []
        for name, dirs in aio_contenders():
            log(f"{function}: {name}")
            rows.append((name, measure(emacs_cmd(function, dirs), {})))
        out.append(table(title, None, [("total (s)", ("total_s", "%.3f")),
                                        ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                         rows, "total_s"))
    sections.append(("3. Fan-out and fan-in", None, out))


def exit_seconds():
    """Seconds from `kill-emacs' to the end of an Emacs with 10,000 sleeps pending."""
    code = ("(progn (dotimes (i 10000) (aio-sleep 3600 i)) (garbage-collect)"
            " (princ (format \"%f\\n\" (float-time))) (kill-emacs 0))")
    samples = []
    for _ in range(RUNS):
        proc = subprocess.Popen([EMACS, "-Q", "--batch", "-L", str(LISP), "-l", "aio", "--eval", code],
                                stdout=subprocess.PIPE, text=True)
        out, _ = proc.communicate(timeout=LIMIT)
        end = time.time()
        samples.append(end - float(out.strip().splitlines()[-1]))
    return {"exit_s": statistics.median(samples)}


def wake(sections):
    lat, idle = [], []
    seconds = 2 if QUICK else 10
    for method in ("channel", "timer"):
        log(f"wake {method}")
        lat.append((method, measure(emacs_cmd("aio-bench-wake-latency"), {"AIO_BENCH_WAKE": method})))
        idle.append((method, measure(emacs_cmd("aio-bench-idle"),
                                     {"AIO_BENCH_WAKE": method, "AIO_BENCH_SECONDS": str(seconds)})))
    sections.append(("4. Wake latency",
                     "Deadline of a native timer to its Lisp callback, 1,000 sleeps spread over 1 s.",
                     [table("by wake method", None, [("median (ms)", ("median_ms", "%.3f")),
                                                     ("p99 (ms)", ("p99_ms", "%.3f"))], lat, "median_ms")]))
    sections.append(("Exit with work pending", None,
                     [table("kill-emacs with 10,000 hour-long sleeps pending", None,
                            [("kill-emacs to exit (s)", ("exit_s", "%.3f"))],
                            [("aio-native", exit_seconds())], "exit_s")]))
    sections.append(("5. Idle cost",
                     f"CPU seconds used by an otherwise idle Emacs over {seconds} s with 1,000 "
                     "hour-long sleeps pending.",
                     [table("by wake method", None, [("CPU (s)", ("cpu_s", "%.4f"))], idle, "cpu_s")]))


NGINX_CONF = """worker_processes 1;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_timeout 60;
  keepalive_requests 100000;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp;
  fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx on 127.0.0.1 serving FILES, a dict of name -> bytes or size
    (a file of that many zero bytes, made sparse), from a temporary root."""

    def __init__(self, files):
        self.files = files

    def __enter__(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            return None
        self.tmp = tempfile.TemporaryDirectory()
        d = Path(self.tmp.name)
        self.dir = d
        (d / "www").mkdir()
        (d / "tmp").mkdir()
        for name, content in self.files.items():
            path = d / "www" / name
            if isinstance(content, int):
                with open(path, "wb") as f:
                    f.truncate(content)
            else:
                path.write_bytes(content)
            path.chmod(0o644)
        # nginx's worker drops root's privileges and must read these.
        for p in (d, d / "www"):
            p.chmod(0o755)
        self.port = free_port()
        (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d, port=self.port))
        self.server = subprocess.Popen([nginx, "-c", str(d / "nginx.conf"), "-p", str(d)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import urllib.request
        first = next(iter(self.files))
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url(first), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def __exit__(self, *exc):
        if hasattr(self, "server"):
            self.server.terminate()
            self.server.wait(timeout=10)
            self.tmp.cleanup()


HTTP_ENV = {"no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}


def http(sections):
    with Nginx({"10k.bin": os.urandom(10 * 1024), "1m.bin": os.urandom(1024 * 1024)}) as nginx:
        if nginx is None:
            sections.append(("7. HTTP", "nginx is not installed (Debian: nginx-light); skipped.", []))
            return
        out = []
        cases = [("10k.bin", 1000, 50, "1,000 GETs of 10 KiB, 50 at a time"),
                 ("1m.bin", 50, 10, "50 GETs of 1 MiB, 10 at a time")]
        if QUICK:
            cases = [("10k.bin", 200, 50, "200 GETs of 10 KiB, 50 at a time"),
                     ("1m.bin", 20, 10, "20 GETs of 1 MiB, 10 at a time")]
        for file, n, conc, title in cases:
            url = nginx.url(file)
            env = {"AIO_BENCH_URL": url, "AIO_BENCH_N": str(n), "AIO_BENCH_CONCURRENCY": str(conc),
                   "AIO_BENCH_BODY": str(10 * 1024 if file == "10k.bin" else 1024 * 1024),
                   **HTTP_ENV}
            rows = []
            contenders = [("aio-http-request", "aio-bench-http-request", []),
                          ("aio-http-request :as 'buffer", "aio-bench-http-request-buffer", []),
                          ("aio-url-retrieve", "aio-bench-http-aio-url-retrieve", []),
                          ("url-retrieve", "aio-bench-http-url-retrieve", []),
                          ("plz (curl process per request)", "aio-bench-http-plz", PLZ_DIRS)]
            if file == "10k.bin":
                contenders.pop(1)
            contenders.append(("Emacs-side floor (bodies made in Lisp, no I/O)",
                               "aio-bench-http-emacs-floor", []))
            for name, function, extra in contenders:
                if function == "aio-bench-http-plz" and not PLZ_DIRS:
                    rows.append((name, "not installed (Debian: elpa-plz)"))
                    continue
                log(f"http {file}: {name}")
                rows.append((name, measure(emacs_cmd(function, [LISP] + extra), env)))
            log(f"http {file}: floor")
            rows.append(("C++ on libcurl alone (floor)",
                         measure([str(BUILD / "http_floor"), url, str(n), str(conc)], {})))
            out.append(table(title, None, [("wall (s)", ("total_s", "%.3f")),
                                           ("CPU (s)", ("cpu_s", "%.3f")),
                                           ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                             rows, "total_s"))
        sections.append(("7. HTTP",
                         "nginx on 127.0.0.1, one worker, keep-alive on. CPU is the whole "
                         "process's (for aio-native that includes its loop thread; plz's curl "
                         "processes are not counted). `:as 'buffer` has the loop thread write "
                         "the body to a temporary file that Emacs inserts, so it never becomes "
                         "a Lisp string. Each contender makes one request before the measure. "
                         "The Emacs-side floor makes each body a Lisp string and resolves a "
                         "promise with it from the ready queue, with no I/O: what Emacs's own "
                         "side costs at the least.", out))


def sse_events(n):
    """N server-sent events of about 200 bytes, as an LLM API sends them."""
    out = []
    for i in range(n):
        data = '{"id":%d,"choices":[{"delta":{"content":"%s"}}]}' % (i, "token " * 24)
        out.append("event: chunk\nid: %d\ndata: %s\n\n" % (i, data))
    return "".join(out).encode()


def curl_download_cmd(url, path):
    """A command that downloads URL to PATH with curl's own command line
    and prints the seconds it took as total_s."""
    script = ("import subprocess, sys, time\n"
              "start = time.time()\n"
              "subprocess.run(['curl', '-s', '--noproxy', '*', '-o', sys.argv[2], sys.argv[1]], check=True)\n"
              "print('total_s=%f' % (time.time() - start))\n")
    return [sys.executable, "-c", script, url, str(path)]


def http_streams(sections):
    n_events = 20000 if QUICK else 100000
    big = (200 if QUICK else 1024) * 1024 * 1024
    with Nginx({"events.txt": sse_events(n_events), "big.bin": big}) as nginx:
        if nginx is None:
            sections.append(("9. Streamed HTTP", "nginx is not installed (Debian: nginx-light); skipped.", []))
            return
        contenders = (("aio-http-request :as 'stream + aio-http-sse", "aio-bench-sse-aio"),
                      ("curl process, events parsed in its filter (as gptel)", "aio-bench-sse-curl-process"),
                      ("url-retrieve, events parsed at the end", "aio-bench-sse-url-retrieve"))
        sse = []
        for title, extra, names in (
                ("default garbage collection", {}, [c[0] for c in contenders]),
                ("garbage collection left out", {"AIO_BENCH_NO_GC": "1"}, [c[0] for c in contenders[:2]])):
            log(f"sse, {title}")
            env = {"AIO_BENCH_URL": nginx.url("events.txt"), **HTTP_ENV, **extra}
            measured = measure_interleaved([(name, emacs_cmd(function), env)
                                            for name, function in contenders if name in names])
            sse.append(table(f"{n_events:,} events of about 200 bytes, {title}", None,
                             [("events per second", ("rate", "%.0f")), ("wall (s)", ("total_s", "%.3f")),
                              ("GC (s)", ("gc_s", "%.3f")),
                              ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                             [(name, measured[name]) for name in names], "rate", lower_is_better=False))
        out_dir = Path(tempfile.mkdtemp(prefix="aio-bench-dl-"))
        try:
            target = out_dir / "big.bin"
            log("download")
            # In turns, so that a busy spell of the machine hits them alike.
            measured = measure_interleaved([
                ("aio", emacs_cmd("aio-bench-download-aio"),
                 {"AIO_BENCH_URL": nginx.url("big.bin"), "AIO_BENCH_PATH": str(target), **HTTP_ENV}),
                ("curl", curl_download_cmd(nginx.url("big.bin"), target), {}),
                ("idle", emacs_cmd("aio-bench-idle-gap"), {"AIO_BENCH_SECONDS": "1.0" if QUICK else "3.0"})])
            aio, curl, idle = measured["aio"], measured["curl"], measured["idle"]
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        download = table(f"Download of {big // (1024 * 1024):,} MiB to disk", None,
                         [("wall (s)", ("total_s", "%.3f")),
                          ("Emacs memory growth (MB)", ("rss_growth_mb", "%.1f")),
                          ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                         [("aio-http-request :as '(file PATH)", aio), ("curl -o PATH (command line)", curl),
                          ("idle Emacs, the timer alone, as long", idle)],
                         "total_s")
        sections.append(("9. Streamed HTTP",
                         "nginx on 127.0.0.1 serves a file of server-sent events and a file of "
                         "zeros. Events are counted by the reader. Memory growth is the largest "
                         "resident size seen during the download less the size before. Each Emacs "
                         "contender has its libraries loaded (and aio-native its loop started) "
                         "before the measure. A 10 ms timer cannot show a gap under 10 ms: the "
                         "idle row is what it shows with nothing else running. The second events "
                         "table sets `gc-cons-threshold` to 1 GiB: the reading path without the "
                         "collections, each of which costs about as much as a bare `emacs -Q`'s "
                         "(the dumped heap is marked every time).",
                         sse + [download]))


def measure_interleaved(contenders, runs=RUNS):
    """Like `measure' for each (name, cmd, env) of CONTENDERS, their runs taken
    in turns, so that a busy spell of the machine hits them all alike."""
    results = {name: [] for name, _, _ in contenders}
    for _ in range(runs):
        for name, cmd, env in contenders:
            if results[name] is None or (results[name] and "error" in results[name][-1]):
                continue
            r = run_once(cmd, env)
            if r is None:
                results[name] = None
            else:
                results[name].append(r)
    out = {}
    for name, rs in results.items():
        if rs is None or not rs:
            out[name] = None
        elif "error" in rs[-1]:
            out[name] = rs[-1]
        else:
            out[name] = {k: statistics.median(r[k] for r in rs)
                         for k in rs[0] if isinstance(rs[0][k], float)}
    return out


def streams(sections):
    n = 200000 if QUICK else 1000000
    contenders = (
        ("aio-process + aio-stream-lines + aio-dostream", "aio-bench-lines-aio"),
        ("aio-make-callback + aio-chain, the first examples/process-lines.el",
         "aio-bench-lines-idiom"),
        ("plain make-process filter splitting lines itself", "aio-bench-lines-plain"))
    lines = []
    for title, env, names in (
            ("default garbage collection", {}, [c[0] for c in contenders]),
            ("garbage collection left out", {"AIO_BENCH_NO_GC": "1"},
             [contenders[0][0], contenders[2][0]])):
        log(f"lines, {title}")
        measured = measure_interleaved([(name, emacs_cmd(function), {"AIO_BENCH_N": str(n), **env})
                                        for name, function in contenders if name in names])
        rows = [(name, measured[name]) for name in names]
        lines.append(table(f"{n:,} lines from `seq`, read to the end, {title}", None,
                           [("wall (s)", ("total_s", "%.3f")),
                            ("allocated (MB)", ("alloc_mb", "%.0f")),
                            ("GC (s)", ("gc_s", "%.3f")),
                            ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                           rows, "total_s"))
    log("pipeline")
    pipeline = table("generator -> map -> filter -> collect, 100,000 values", None,
                     [("us per value", ("sync_us", "%.2f")),
                      ("us per value per stage", ("sync_us_stage", "%.2f")),
                      ("us per value, async map", ("async_us", "%.2f")),
                      ("us per value per stage, async map", ("async_us_stage", "%.2f"))],
                     [("aio-native", measure(emacs_cmd("aio-bench-pipeline"),
                                             {"AIO_BENCH_N": "100000"}))],
                     "sync_us")
    sections.append(("8. Streams",
                     "Lines: a process prints short lines, each counted by the reader. "
                     "Allocated is the bytes of Lisp objects made, from `memory-use-counts`. "
                     "Every contender has `aio` loaded, so that each garbage collection marks "
                     "the same heap.  The second table sets `gc-cons-threshold` to 1 GiB: the "
                     "reading path without collections, whose pauses make most of the longest "
                     "gap in the first. "
                     "Pipeline: an async generator yields integers, `aio-stream-map` adds one "
                     "(a plain function, or an `aio-lambda`), `aio-stream-filter` keeps the "
                     "even ones, `aio-stream-collect` gathers them; byte-compiled; four stages.",
                     lines + [pipeline]))


def memory(sections):
    """Bytes allocated per operation and kept alive per pending one."""
    with Nginx({"never.bin": b""}) as nginx:
        # A request to a port nobody answers stays pending: a listening
        # socket that never accepts.
        import socket
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1000)
        env = {"AIO_BENCH_N": "10000",
               "AIO_BENCH_URL": "http://127.0.0.1:%d/" % listener.getsockname()[1], **HTTP_ENV}
        rows = []
        for label, key in (("aio-sleep, pending", "sleep"),
                           ("aio-sleep with a listener, pending", "listened"),
                           ("async function paused on a sleep", "task"),
                           ("aio-http-request, waiting for an answer", "http")):
            log(f"memory: {key}")
            # Each kind in an Emacs of its own: the pending table grows
            # for whichever kind comes first and stays grown.
            r = measure(emacs_cmd("aio-bench-memory"), {**env, "AIO_BENCH_ROW": key})
            if isinstance(r, dict) and key + "_alloc" in r:
                rows.append((label, {"alloc": r[key + "_alloc"], "live": r[key + "_live"]}))
            else:
                rows.append((label, r))
        listener.close()
    sections.append(("10. Memory per operation",
                     "Bytes of Lisp objects allocated to start one operation (from "
                     "`memory-use-counts`) and kept alive while it is pending (live bytes "
                     "after a garbage collection, 10,000 pending against none; 200 for HTTP), "
                     "byte-compiled, each kind in an Emacs of its own with the module loaded. "
                     "Both include the share of the pending table's growth. What the collector "
                     "marks at each collection grows with the live bytes.",
                     [table("per operation", None, [("allocated (bytes)", ("alloc", "%.0f")),
                                                    ("kept alive (bytes)", ("live", "%.0f"))],
                            rows, "live")]))


def make_tree(root, n):
    """N small files under ROOT, 100 to a directory, two levels deep."""
    for i in range(n):
        d = root / ("d%03d" % (i // 10000)) / ("e%03d" % ((i // 100) % 100))
        if i % 100 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / ("f%05d.txt" % i)).write_bytes(b"x")


def find_walk(root):
    """Seconds find(1) takes to list every file under ROOT."""
    samples = []
    for _ in range(RUNS):
        start = time.time()
        check(["find", str(root), "-type", "f"], stdout=subprocess.DEVNULL)
        samples.append(time.time() - start)
    return {"total_s": statistics.median(samples)}


def files(sections):
    size = (256 if QUICK else 1024) * 1024 * 1024
    n = 20000 if QUICK else 100000
    work = Path(tempfile.mkdtemp(prefix="aio-bench-files-"))
    try:
        big = work / "big.bin"
        with open(big, "wb") as out:
            chunk = bytes(range(256)) * 4096
            for _ in range(size // len(chunk)):
                out.write(chunk)
        log("file read")
        env = {"AIO_BENCH_PATH": str(big)}
        measured = measure_interleaved(
            [(name, emacs_cmd(function), env) for name, function in (
                ("aio-file-read :as 'buffer", "aio-bench-file-read-aio"),
                ("insert-file-contents-literally", "aio-bench-file-read-literally"))])
        read = table(f"A file of {size // (1024 * 1024):,} MiB read into a buffer", None,
                     [("wall (s)", ("total_s", "%.3f")),
                      ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                     list(measured.items()), "total_s")
        tree = work / "tree"
        make_tree(tree, n)
        log("walk")
        env = {"AIO_BENCH_PATH": str(tree)}
        measured = measure_interleaved(
            [(name, emacs_cmd(function), env) for name, function in (
                ("aio-directory-walk, read with aio-dostream", "aio-bench-walk-aio"),
                ("directory-files-recursively", "aio-bench-walk-dfr"))])
        rows = list(measured.items()) + [("find -type f (command line)", find_walk(tree))]
        walk = table(f"A tree of {n:,} files walked", None,
                     [("wall (s)", ("total_s", "%.3f")),
                      ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                     rows, "total_s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sections.append(("11. Files",
                     "A file of bytes 0 to 255 repeated, read literally (no decoding) into a "
                     "new buffer; a tree of one-byte files, 100 to a directory. The files are "
                     "in the page cache (written just before). Emacs contenders run a 10 ms "
                     "repeating timer meanwhile.",
                     [read, walk]))


SIMPLE_HTTPD_DIRS = sorted(Path("/usr/share/emacs/site-lisp/elpa").glob("simple-httpd-*"))


def cpu_ticks(pid):
    """User and system clock ticks used so far by process PID, all threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def wrk_ms(text):
    """Milliseconds of a wrk duration such as 812.00us, 1.43ms or 2.01s."""
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 6e4), ("h", 3.6e6)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    return float(text)


def wrk(url, seconds):
    """One run of wrk against URL: a dict of rate, p50_ms, p99_ms, requests,
    errors (non-2xx answers and socket errors), or {"error": ...}."""
    cmd = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return {"error": "wrk did not finish"}
    out = {"errors": 0.0}
    for line in proc.stdout.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            out["rate"] = float(words[1])
        elif len(words) == 2 and words[0] == "50%":
            out["p50_ms"] = wrk_ms(words[1])
        elif len(words) == 2 and words[0] == "99%":
            out["p99_ms"] = wrk_ms(words[1])
        elif "requests in" in line:
            out["requests"] = float(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            out["errors"] += float(words[-1])
            log("  wrk:", line.strip())
        elif line.strip().startswith("Socket errors:"):
            # Socket errors: connect 0, read 0, write 0, timeout 0
            out["errors"] += sum(float(w.rstrip(",")) for w in words[3::2])
            log("  wrk:", line.strip())
    if proc.returncode != 0 or "rate" not in out or "p99_ms" not in out:
        log("  wrk failed:", proc.stdout[-500:], proc.stderr[-500:])
        return {"error": "wrk failed"}
    return out


class Served:
    """A server process started with CMD and ENV, listening on PORT, killed
    on exit whatever happened."""

    def __init__(self, name, cmd, env, port, path="/hello", ignore_sigpipe=False):
        self.name, self.cmd, self.env, self.path = name, cmd, env, path
        self.ignore_sigpipe = ignore_sigpipe
        self.url = f"http://127.0.0.1:{port}{path}"
        self.proc = None
        self.error = None

    def __enter__(self):
        import urllib.request
        self.stderr = tempfile.TemporaryFile()
        import signal
        self.proc = subprocess.Popen(
            self.cmd, env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.stderr,
            preexec_fn=(lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN)) if self.ignore_sigpipe else None)
        # Listening, and answering as it should, before wrk starts.
        deadline = time.time() + 30
        while True:
            if not self.alive():
                return self
            try:
                with urllib.request.urlopen(self.url, timeout=2) as answer:
                    body = answer.read()
                if body != b"hello":
                    self.error = "wrong answer"
                    log(f"  {self.name}: answered {body[:100]!r}")
                return self
            except OSError:
                if time.time() > deadline:
                    self.error = "did not answer"
                    log(f"  {self.name}: {self.error}: {self.stderr_tail()}")
                    return self
                time.sleep(0.05)

    def stderr_tail(self):
        self.stderr.seek(0)
        return self.stderr.read()[-500:].decode(errors="replace")

    def alive(self):
        """True if the server still runs; else note how it ended."""
        if self.proc.poll() is None:
            return True
        rc = self.proc.returncode
        self.error = ("killed by signal %d" % -rc if rc < 0 else
                      "crashed" if "Backtrace:" in self.stderr_tail() else "exited (status %d)" % rc)
        log(f"  {self.name}: {self.error}: {self.stderr_tail()}")
        return False

    def __exit__(self, *exc):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            said = self.stderr_tail().strip()
            if said:
                log(f"  {self.name} said: {said}")
            self.stderr.close()


def server(sections):
    title = "12. HTTP server"
    if not shutil.which("wrk"):
        sections.append((title, "wrk is not installed (Debian: wrk); skipped.", []))
        return
    import contextlib
    seconds = 2 if QUICK else 5
    runs = min(RUNS, 3)
    contenders = [
        ("aio-http-serve, plain handler", emacs_cmd("aio-bench-serve-aio")),
        ("aio-http-serve, async handler (aio-lambda)", emacs_cmd("aio-bench-serve-aio-async")),
        ("simple-httpd, defservlet",
         emacs_cmd("aio-bench-serve-simple-httpd", [LISP] + SIMPLE_HTTPD_DIRS)
         if SIMPLE_HTTPD_DIRS else None),
        ("C++ on aio::Loop alone (floor)", [str(BUILD / "server_floor")])]
    samples = {name: [] for name, _ in contenders}
    outcome = {}
    with contextlib.ExitStack() as stack:
        servers = []
        for name, cmd in contenders:
            if cmd is None:
                outcome[name] = "not installed (Debian: elpa-simple-httpd)"
                continue
            log(f"server: starting {name}")
            port = free_port()
            # simple-httpd's Emacs is killed by SIGPIPE when a client
            # closes a connection it writes to (as wrk does at its end):
            # it runs with SIGPIPE ignored.
            s = stack.enter_context(Served(name, cmd, {"AIO_BENCH_PORT": str(port)}, port,
                                           ignore_sigpipe=name.startswith("simple-httpd")))
            if s.error:
                outcome[name] = {"error": s.error}
                continue
            servers.append(s)
            log(f"server: warming {name}")
            wrk(s.url, 1)
        # In turns, so that a busy spell of the machine hits them alike.
        for i in range(runs):
            for s in servers:
                if s.name in outcome or not s.alive():
                    outcome.setdefault(s.name, {"error": s.error})
                    continue
                log(f"server run {i + 1}/{runs}: {s.name}")
                before = cpu_ticks(s.proc.pid)
                r = wrk(s.url, seconds)
                after = cpu_ticks(s.proc.pid)
                if "error" in r:
                    outcome[s.name] = r
                    continue
                if not s.alive():
                    outcome[s.name] = {"error": s.error}
                    continue
                if before is not None and after is not None and r.get("requests"):
                    tick = os.sysconf("SC_CLK_TCK")
                    r["cpu_us"] = (after - before) / tick / r["requests"] * 1e6
                samples[s.name].append(r)
    rows = []
    for name, _ in contenders:
        if name in outcome:
            rows.append((name, outcome[name]))
            continue
        rs = samples[name]
        r = {k: statistics.median(x[k] for x in rs) for k in rs[0] if isinstance(rs[0][k], float)}
        r["errors"] = sum(x["errors"] for x in rs)
        rows.append((name, r))
    simple = dict(rows).get("simple-httpd, defservlet")
    if isinstance(simple, dict) and "rate" in simple:
        for _, r in rows:
            if isinstance(r, dict) and "rate" in r:
                r["x_simple"] = r["rate"] / simple["rate"]
    sections.append((title,
                     f"`wrk -t2 -c50 -d{seconds}s --latency` (keep-alive) against a server "
                     "started as its own process on 127.0.0.1, whose handler answers every "
                     "GET /hello with a 200 text/plain \"hello\"; each server has a 1 s run of "
                     f"wrk first, then {runs} runs taken in turns, of which the table shows "
                     "medians. CPU is the server process's "
                     "(for aio-native with its loop thread) per request answered. Errors are "
                     "wrk's non-2xx answers and socket errors, summed over the runs. "
                     "simple-httpd runs as it ships, its log of each request to the *httpd* "
                     "buffer included, but with SIGPIPE ignored: with the default action, its "
                     "`emacs --batch` dies of SIGPIPE when wrk closes connections it is writing "
                     "to (aio-native writes from its loop thread, where SIGPIPE is blocked). "
                     "wrk counts a request unanswered after 2 s as a timeout error. The floor is aio's loop thread and parser with a C++ "
                     "main thread in Emacs's place, answering through the same outbox and "
                     "respond path. wrk shares the 2 cores with the server.",
                     [table("trivial handler", None,
                            [("requests/s", ("rate", "%.0f")), ("p50 (ms)", ("p50_ms", "%.2f")),
                             ("p99 (ms)", ("p99_ms", "%.2f")),
                             ("server CPU per request (us)", ("cpu_us", "%.1f")),
                             ("errors", ("errors", "%.0f")),
                             ("rate / simple-httpd's", ("x_simple", "%.1f"))],
                            rows, "rate", lower_is_better=False)]))


def python_server(args):
    """Start a test server of test/servers (python3 ARGS); return the process
    and what it printed before its port: a dict of "CA" and "PORT"."""
    proc = subprocess.Popen(["python3"] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    said = {}
    while "PORT" not in said:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{args[0]} did not start")
        key, _, value = line.strip().partition(" ")
        said[key] = value
    return proc, said


def tcp(sections):
    n = (64 if QUICK else 256) * 1024 * 1024
    servers = ROOT / "test" / "servers"
    plain, plain_said = python_server([str(servers / "tcp_echo.py"), "serve", "--flood", str(n)])
    tls, tls_said = python_server([str(servers / "tls_echo_server.py")])
    try:
        def env(said):
            return {"AIO_BENCH_PORT": said["PORT"], "AIO_BENCH_CA": said.get("CA", ""),
                    "AIO_BENCH_BYTES": str(n)}
        log("tcp streams")
        measured = measure_interleaved([
            ("aio-tcp-connect (an Emacs network process)", emacs_cmd("aio-bench-tcp-aio"),
             env(plain_said)),
            ("make-network-process and a filter", emacs_cmd("aio-bench-tcp-emacs"), env(plain_said)),
            ("aio-tcp-connect :tls t (the module, libcurl)", emacs_cmd("aio-bench-tls-aio"),
             env(tls_said)),
            ("open-network-stream :type tls (GnuTLS in Emacs)", emacs_cmd("aio-bench-tls-emacs"),
             env(tls_said))])
    finally:
        for proc in (plain, tls):
            proc.stdin.close()
            proc.wait(timeout=10)
    table_ = table(f"{n // (1024 * 1024):,} MiB received from a server on 127.0.0.1", None,
                   [("wall (s)", ("total_s", "%.3f")), ("MB/s", ("mb_per_s", "%.0f")),
                    ("longest 10 ms timer gap (ms)", ("max_gap_ms", "%.1f"))],
                   list(measured.items()), "total_s")
    sections.append(("13. TCP streams",
                     "Each contender connects, reads the bytes the server sends (Python, "
                     "asyncio for plain TCP, ssl in threads for TLS, its certificate trusted "
                     "as a private authority) and closes. The aio contenders read the "
                     "connection's input stream with aio-dostream; the others count in a "
                     "process filter. Emacs's own TLS connection is made blocking (no "
                     ":nowait), as verified ones must be (see README).",
                     [table_]))


WORKLOADS_BY_NAME = {"timers": timers, "await": await_loops, "fanout": fanout,
                     "wake": wake, "http": http, "streams": streams, "http-streams": http_streams,
                     "memory": memory, "files": files, "server": server, "tcp": tcp}


def merge_results(path, sections):
    """Put SECTIONS into the RESULTS.md at PATH, replacing those of the same title."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    for title, note, tables in sections:
        body = [f"## {title}", ""]
        if note:
            body += [note, ""]
        body += tables
        body.append(f"Measured alone (BENCH_ONLY): {machine()}.\n")
        new = "\n".join(body) + "\n"
        start = text.find(f"## {title}\n")
        if start < 0:
            end_marker = text.find("Whole run:")
            start = end = end_marker if end_marker >= 0 else len(text)
        else:
            following = text.find("\n## ", start + 1)
            whole = text.find("\nWhole run:", start + 1)
            ends = [e + 1 for e in (following, whole) if e >= 0]
            end = min(ends) if ends else len(text)
        text = text[:start] + new + text[end:]
    path.write_text(text)


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    emacs = subprocess.run([EMACS, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return (f"{os.cpu_count()} cores, {model}; {platform.system()} {platform.release()}; {emacs}; "
            f"{'quick run (BENCH_QUICK=1), ' if QUICK else ''}median of {RUNS} runs; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def main():
    build()
    if REFERENCE:
        reference_dir()
    sections = []
    started = time.time()
    only = os.environ.get("BENCH_ONLY")
    if only:
        # Some workloads alone: their sections replace those of RESULTS.md.
        for name in only.split(","):
            WORKLOADS_BY_NAME[name.strip()](sections)
        merge_results(ROOT / "bench" / "RESULTS.md", sections)
        log(f"updated {ROOT / 'bench' / 'RESULTS.md'}")
        return
    timers(sections)
    await_loops(sections)
    fanout(sections)
    wake(sections)
    http(sections)
    streams(sections)
    http_streams(sections)
    memory(sections)
    files(sections)
    server(sections)
    tcp(sections)
    lines = ["# Benchmark results", "", f"Machine: {machine()}.", "",
             "Made by `make bench` (bench/run.py). Every Emacs contender runs as its own "
             "`emacs -Q --batch`, byte-compiled, with a Release build of the module and "
             "Emacs's default garbage-collection settings. Ratios compare contenders "
             "measured in the same run. Responsiveness (workload 6) is the column "
             "\"longest 10 ms timer gap\": the longest interval seen by a 10 ms repeating "
             "Emacs timer during the workload.", ""]
    for title, note, tables in sections:
        lines += [f"## {title}", ""]
        if note:
            lines += [note, ""]
        lines += tables
    lines.append(f"Whole run: {time.time() - started:.0f} s.")
    out = ROOT / "bench" / "RESULTS.md"
    out.write_text("\n".join(lines) + "\n")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
