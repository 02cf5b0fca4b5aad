// Fatal-signal handler and the slot table it reads. The handler uses only write(2), clock_gettime,
// atomics and plain memory: no locks, no allocation, no stdio (POSIX async-signal-safe functions).
#include "mvi/logs/crash.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace mvi::logs {
namespace {

constexpr int kSlots = 256;

struct Slot {
  std::atomic<int> claimed{0};
  std::atomic<int> active{0};
  pid_t tid = 0;
  char entrypoint[128] = {};
  char request_id[136] = {};
};

Slot g_slots[kSlots];
bool g_json = false;

// A fixed buffer that never allocates: appends are truncated at the end.
struct Line {
  char data[4096];
  std::size_t size = 0;
  void add(std::string_view s) {
    std::size_t n = std::min(s.size(), sizeof data - size);
    std::memcpy(data + size, s.data(), n);
    size += n;
  }
  void add_number(long long v, int width = 0) {
    char digits[24];
    int n = 0;
    bool negative = v < 0;
    unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    while (n < width) digits[n++] = '0';
    if (negative) add("-");
    while (n) add(std::string_view(&digits[--n], 1));
  }
};

const char* signal_name(int signo) {
  switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}

// UTC civil time from Unix seconds (Howard Hinnant's days_from_civil, inverted): gmtime_r is not
// async-signal-safe.
void add_time(Line& line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  long long days = ts.tv_sec / 86400, rem = ts.tv_sec % 86400;
  days += 719468;
  long long era = days / 146097;
  long long doe = days - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  line.add_number(y, 4), line.add("-"), line.add_number(m, 2), line.add("-"), line.add_number(d, 2);
  line.add("T"), line.add_number(rem / 3600, 2), line.add(":"), line.add_number(rem / 60 % 60, 2), line.add(":");
  line.add_number(rem % 60, 2), line.add("."), line.add_number(ts.tv_nsec / 1000000, 3), line.add("Z");
}

void compose(Line& line, int signo, bool json, bool with_time) {
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  const Slot* mine = nullptr;
  for (const auto& s : g_slots)
    if (s.active.load(std::memory_order_acquire) && s.tid == self) mine = &s;
  if (json) {
    line.add("{\"time\":\"");
    if (with_time) add_time(line);
    line.add("\",\"level\":\"CRITICAL\",\"logger\":\"mvi.runtime\",\"message\":\"");
  } else {
    if (with_time) add_time(line), line.add(" ");
    line.add("CRITICAL mvi.runtime: ");
  }
  line.add("fatal signal "), line.add(signal_name(signo)), line.add(" (");
  line.add_number(signo), line.add(")");
  if (mine) line.add(" in entrypoint '"), line.add(mine->entrypoint), line.add("'");
  int others = 0;
  for (const auto& s : g_slots) {
    if (!s.active.load(std::memory_order_acquire) || &s == mine) continue;
    line.add(others++ ? ", " : "; also in flight: ");
    line.add("entrypoint '"), line.add(s.entrypoint), line.add("' [request_id="), line.add(s.request_id), line.add("]");
  }
  line.add("; the process dies now");
  if (json) {
    line.add("\"");
    if (mine) line.add(",\"entrypoint\":\""), line.add(mine->entrypoint), line.add("\",\"request_id\":\""),
        line.add(mine->request_id), line.add("\"");
    line.add("}\n");
  } else {
    if (mine) line.add(" [request_id="), line.add(mine->request_id), line.add("]");
    line.add("\n");
  }
}

void on_fatal_signal(int signo) {
  Line line;
  compose(line, signo, g_json, true);
  std::size_t done = 0;
  while (done < line.size) {
    ssize_t n = ::write(STDOUT_FILENO, line.data + done, line.size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  // SA_RESETHAND restored the default action: re-raise so the process dies of the same signal (core
  // dumps and exit statuses stay what they would have been).
  raise(signo);
}

// Entrypoint names are identifiers and request ids [A-Za-z0-9._-]; anything else is dropped so the
// line stays one valid text or JSON line.
void copy_safe(char* out, std::size_t size, std::string_view in) {
  std::size_t n = 0;
  for (char c : in) {
    if (n + 1 >= size) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
        c == '.')
      out[n++] = c;
  }
  out[n] = '\0';
}

}  // namespace

void install_crash_handlers(bool json) {
  g_json = json;
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(signo, &sa, nullptr);
}

CrashSlot::CrashSlot() {
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].claimed.compare_exchange_strong(expected, 1)) {
      index_ = i;
      g_slots[i].tid = static_cast<pid_t>(syscall(SYS_gettid));
      return;
    }
  }
}

CrashSlot::~CrashSlot() {
  if (index_ < 0) return;
  g_slots[index_].active.store(0, std::memory_order_release);
  g_slots[index_].claimed.store(0, std::memory_order_release);
}

void CrashSlot::enter(std::string_view entrypoint, std::string_view request_id) noexcept {
  if (index_ < 0) return;
  Slot& s = g_slots[index_];
  s.active.store(0, std::memory_order_release);
  copy_safe(s.entrypoint, sizeof s.entrypoint, entrypoint);
  copy_safe(s.request_id, sizeof s.request_id, request_id);
  s.active.store(1, std::memory_order_release);
}

void CrashSlot::leave() noexcept {
  if (index_ >= 0) g_slots[index_].active.store(0, std::memory_order_release);
}

std::string crash_line(int signo, bool json, bool with_time) {
  Line line;
  compose(line, signo, json, with_time);
  return std::string(line.data, line.size);
}

}  // namespace mvi::logs
