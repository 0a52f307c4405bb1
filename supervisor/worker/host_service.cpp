#include "worker/host_service.h"

#include <fcntl.h>
#include <kj/debug.h>
#include <kj/io.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "worker_protocol.h"

namespace cordon {
namespace {

const char* levelName(ipc::LogLevel level) {
  switch (level) {
    case ipc::LogLevel::DEBUG:
      return "debug";
    case ipc::LogLevel::INFO:
      return "info";
    case ipc::LogLevel::WARN:
      return "warn";
    case ipc::LogLevel::ERROR:
      return "error";
  }
  return "info";
}

struct ReadWindow {
  uint64_t offset;
  uint64_t length;
};

// What one read of a SIZE-byte source returns: from the offset asked (the end at most), no more
// than was asked nor than one chunk.
ReadWindow readWindow(uint64_t offset, uint64_t maxBytes, uint64_t size) {
  offset = std::min(offset, size);
  return {offset, std::min<uint64_t>({maxBytes, protocol::kMaxReadChunkBytes, size - offset})};
}

}  // namespace

kj::Promise<void> HostService::log(LogContext context) {
  if (auto denial = gate_.admitHostCall(*scope_, HostCapability::kLog)) {
    return denialException(*denial);
  }
  auto params = context.getParams();
  auto message = params.getMessage();
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kLog, message.size())) {
    return denialException(*denial);
  }
  events_.emit(PluginLogged{scope_->step, levelName(params.getLevel()), message.cStr()});
  return kj::READY_NOW;
}

kj::Promise<void> HostService::readInput(ReadInputContext context) {
  if (auto denial = gate_.admitHostCall(*scope_, HostCapability::kReadInput)) {
    return denialException(*denial);
  }
  auto params = context.getParams();
  std::string name = params.getName();
  auto it = inputs_.find(name);
  if (it == inputs_.end()) {
    return KJ_EXCEPTION(FAILED, kj::str(protocol::kNotFoundMarker, "no input named '", name.c_str(),
                                        "' in this step"));
  }
  const ArtifactBytes& data = *it->second;
  const auto [offset, length] = readWindow(params.getOffset(), params.getMaxBytes(), data.size());
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kReadInput, length)) {
    return denialException(*denial);
  }
  auto results = context.getResults();
  results.setTotalSize(data.size());
  auto chunk = results.initData(static_cast<unsigned>(length));
  auto copied = data.copyTo(offset, chunk.size(), reinterpret_cast<char*>(chunk.begin()));
  if (!copied.ok()) {
    return denialException(*gate_.refuseHostCall(*scope_, HostCapability::kReadInput,
                                                 ErrorCategory::kBadInput, copied.error().message));
  }
  return kj::READY_NOW;
}

kj::Promise<void> HostService::mapInput(MapInputContext context) {
  if (auto denial = gate_.admitHostCall(*scope_, HostCapability::kMapInput)) {
    return denialException(*denial);
  }
  std::string name = context.getParams().getName();
  auto it = inputs_.find(name);
  if (it == inputs_.end()) {
    return KJ_EXCEPTION(FAILED, kj::str(protocol::kNotFoundMarker, "no input named '", name.c_str(),
                                        "' in this step"));
  }
  const ArtifactBytes& data = *it->second;
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kMapInput, data.size())) {
    return denialException(*denial);
  }
  auto refuse = [&](const Error& error) {
    return denialException(
        *gate_.refuseHostCall(*scope_, HostCapability::kMapInput, error.category, error.message));
  };
  if (!send_) return refuse(makeError(ErrorCategory::kInternal, "no descriptor channel"));
  auto sealed = data.openSealed();
  if (!sealed.ok()) return refuse(sealed.error());
  kj::AutoCloseFd fd(sealed.value());
  const uint64_t token = nextToken_++;
  auto sent = send_(fd.get(), token);
  if (!sent.ok()) return refuse(sent.error());
  auto results = context.getResults();
  results.setSize(data.size());
  results.setToken(token);
  return kj::READY_NOW;
}

kj::Promise<void> HostService::createOutput(CreateOutputContext context) {
  if (auto denial = gate_.admitHostCall(*scope_, HostCapability::kCreateOutput)) {
    return denialException(*denial);
  }
  auto params = context.getParams();
  const std::string name = params.getName();
  auto refuse = [&](const Error& error) {
    return denialException(*gate_.refuseHostCall(*scope_, HostCapability::kCreateOutput,
                                                 error.category, error.message));
  };
  if (!buffers_ || !send_) {
    return refuse(makeError(ErrorCategory::kPolicyDenial, "outputs are made only in execute"));
  }
  if (!isOutputName(name) || buffers_->count(name) != 0) {
    return refuse(makeError(ErrorCategory::kProtocolError,
                            "output name '" + name.substr(0, 64) + "' is invalid or repeated"));
  }
  if (auto denial = gate_.chargeOutputBuffer(*scope_, params.getSize())) {
    return denialException(*denial);
  }
  auto created = createOutputMemfd(params.getSize());
  if (!created.ok()) return refuse(created.error());
  kj::AutoCloseFd fd(created.value());
  const uint64_t token = nextToken_++;
  auto sent = send_(fd.get(), token);
  if (!sent.ok()) return refuse(sent.error());
  buffers_->emplace(name, kj::mv(fd));
  context.getResults().setToken(token);
  return kj::READY_NOW;
}

kj::Promise<void> HostService::readFile(ReadFileContext context) {
  if (auto denial = gate_.admitHostCall(*scope_, HostCapability::kReadFile)) {
    return denialException(*denial);
  }
  auto params = context.getParams();
  const std::string path = params.getPath();
  auto admitted = gate_.admitFilePath(*scope_, path);
  if (!admitted.ok()) return denialException(admitted.error());
  auto refuse = [&](const std::string& reason) -> kj::Promise<void> {
    return denialException(*gate_.refuseHostCall(*scope_, HostCapability::kReadFile,
                                                 ErrorCategory::kPolicyDenial, reason));
  };
  // Resolved beneath the granted directory by the kernel: a symlink, '..' or mount crossing
  // that would leave it fails with EXDEV instead of being followed.
  kj::AutoCloseFd directory(
      open(admitted.value().directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() < 0)
    return refuse("the granted directory of '" + path + "' cannot be opened");
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const std::string& relative = admitted.value().relative;
  kj::AutoCloseFd file(static_cast<int>(syscall(
      SYS_openat2, directory.get(), relative.empty() ? "." : relative.c_str(), &how, sizeof how)));
  if (file.get() < 0) {
    if (errno == ENOENT) {
      return KJ_EXCEPTION(FAILED,
                          kj::str(protocol::kNotFoundMarker, "no file '", path.c_str(), "'"));
    }
    if (errno == EXDEV || errno == ELOOP) return refuse("'" + path + "' leads out of its grant");
    return refuse("'" + path + "' cannot be opened: " + std::strerror(errno));
  }
  struct stat info {};
  if (fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return refuse("'" + path + "' is not a regular file");
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  const auto [offset, length] = readWindow(params.getOffset(), params.getMaxBytes(), size);
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kReadFile, length)) {
    return denialException(*denial);
  }
  auto results = context.getResults();
  results.setTotalSize(size);
  auto data = results.initData(static_cast<unsigned>(length));
  ssize_t got = pread(file.get(), data.begin(), length, static_cast<off_t>(offset));
  if (got < 0) return refuse("reading '" + path + "' failed: " + std::strerror(errno));
  if (static_cast<uint64_t>(got) < length) results.setData(data.slice(0, static_cast<size_t>(got)));
  return kj::READY_NOW;
}

}  // namespace cordon
