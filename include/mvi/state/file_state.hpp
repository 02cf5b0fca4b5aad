// `--state file:PATH` (SPEC §10): parameters with their generation, and the notifications, in a SQLite
// file (WAL; a parameter change is committed with synchronous=FULL before it is applied, so a POST that
// answered survives a crash of the machine, not only `kill -9`). One daemon per file: an exclusive flock
// refuses a second one before it touches the file. Thread-safe: one mutex around the connection.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "mvi/core/fd.hpp"
#include "mvi/state/state_backend.hpp"

namespace mvi::state {

class FileState final : public StateBackend {
 public:
  // Opens, creating it (and its folder) if needed, and locks it. Throws core::Error(usage) naming the
  // path and why: in use by another daemon, not writable, not a state file, from a newer mvi-runtime.
  static std::unique_ptr<FileState> open(const std::string& path);
  ~FileState() override;

  std::string describe() const override { return "file:" + path_; }
  std::map<std::string, StoredParameter> parameters() override;
  std::uint64_t generation() override;
  std::uint64_t store_parameter(const std::string& name, const nlohmann::ordered_json& value,
                                std::uint64_t proposed) override;
  std::vector<Notification> notifications() override;
  void store_notification(const Notification& notification, const std::vector<std::uint64_t>& dropped) override;
  void clear_notifications() override;
  std::uint64_t writes() const override { return writes_.load(); }

  struct Db;

 private:
  FileState(std::string path, core::Fd lock);

  std::string path_;
  core::Fd lock_;  // the flock; closed after the connection (declared first, destroyed last)
  std::mutex mutex_;
  std::unique_ptr<Db> db_;
  std::atomic<std::uint64_t> writes_{0};
};

}  // namespace mvi::state
