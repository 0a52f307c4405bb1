#include "host_bridge.h"

#include <kj/debug.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "worker_protocol.h"

namespace cordon::worker {
namespace {

// A failed host call becomes a status the plugin can act on; the supervisor has already audited
// and recorded the cause.
cordon_status statusOf(const kj::Exception& e) {
  std::string description = e.getDescription().cStr();
  if (description.find(protocol::kDeniedMarker) != std::string::npos) return CORDON_ERR_DENIED;
  if (description.find(protocol::kBudgetMarker) != std::string::npos) return CORDON_ERR_LIMIT;
  if (description.find(protocol::kNotFoundMarker) != std::string::npos) return CORDON_ERR_NOT_FOUND;
  return CORDON_ERR_HOST;
}

std::string statusName(cordon_status status) {
  switch (status) {
    case CORDON_ERR_PLUGIN:
      return "CORDON_ERR_PLUGIN";
    case CORDON_ERR_DENIED:
      return "CORDON_ERR_DENIED";
    case CORDON_ERR_LIMIT:
      return "CORDON_ERR_LIMIT";
    case CORDON_ERR_BAD_INPUT:
      return "CORDON_ERR_BAD_INPUT";
    case CORDON_ERR_NOT_FOUND:
      return "CORDON_ERR_NOT_FOUND";
    case CORDON_ERR_HOST:
      return "CORDON_ERR_HOST";
    default:
      return "status " + std::to_string(static_cast<int>(status));
  }
}

template <typename Fn>
cordon_status callHost(cordon_host* host, Fn&& fn) {
  if (host == nullptr) return CORDON_ERR_BAD_INPUT;
  cordon_status status = CORDON_OK;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { fn(); })) {
    status = statusOf(*e);
    host->lastHostFailure = e->getDescription().cStr();
  }
  return status;
}

// One chunk of a Host read (readInput, readFile: the same offset/maxBytes -> data contract),
// from the request `makeRequest` names; never more than `capacity`, whatever the peer sends.
template <typename MakeRequest>
cordon_status readChunk(cordon_host* host, MakeRequest&& makeRequest, uint64_t offset, void* buffer,
                        size_t capacity, size_t* read) {
  if ((buffer == nullptr && capacity != 0) || read == nullptr) return CORDON_ERR_BAD_INPUT;
  *read = 0;
  return callHost(host, [&]() {
    auto request = makeRequest();
    request.setOffset(offset);
    request.setMaxBytes(
        static_cast<uint32_t>(std::min<size_t>(capacity, cordon::protocol::kMaxReadChunkBytes)));
    auto response = request.send().wait(host->waitScope);
    auto data = response.getData();
    size_t n = std::min<size_t>(data.size(), capacity);  // never trust the peer's length
    std::memcpy(buffer, data.begin(), n);
    *read = n;
  });
}

// The memfd the supervisor sent on the control socket for the Host reply carrying `token`. It
// was sent before the reply, so it is there now; anything else is the supervisor's fault.
int receiveDescriptor(uint64_t token) {
  uint64_t got = 0;
  iovec data{&got, sizeof got};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = -1;
  do {
    n = recvmsg(protocol::kControlFd, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  int fd = -1;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
      header->cmsg_len == CMSG_LEN(sizeof(int)))
    std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  if (n != static_cast<ssize_t>(sizeof got) || got != token || fd < 0) {
    if (fd >= 0) close(fd);
    KJ_FAIL_REQUIRE("the supervisor's descriptor did not arrive with its reply");
  }
  return fd;
}

// Maps `fd` for the callback and closes it; nullptr when the mapping failed.
void* mapForCallback(cordon_host& host, int fd, uint64_t size, bool writable) {
  static char empty;
  if (size == 0) {
    close(fd);
    return &empty;
  }
  // Inputs privately and read-only: a write faults, and nothing the worker does reaches the
  // sealed memfd. Outputs shared, so the bytes land in the supervisor's memfd.
  void* address = mmap(nullptr, size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                       writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
  close(fd);
  if (address == MAP_FAILED) return nullptr;
  host.mappings.emplace_back(address, static_cast<size_t>(size));
  return address;
}

}  // namespace

void releaseMappings(cordon_host& host) {
  for (const auto& [address, size] : host.mappings) munmap(address, size);
  host.mappings.clear();
}

void fillCallResult(ipc::CallResult::Builder result, cordon_status status,
                    const cordon_host& host) {
  switch (status) {
    case CORDON_OK:
      result.setStatus(ipc::Status::OK);
      break;
    case CORDON_ERR_DENIED:
      result.setStatus(ipc::Status::DENIED);
      break;
    case CORDON_ERR_LIMIT:
      result.setStatus(ipc::Status::RESOURCE_LIMIT);
      break;
    case CORDON_ERR_BAD_INPUT:
    case CORDON_ERR_NOT_FOUND:
      result.setStatus(ipc::Status::BAD_INPUT);
      break;
    default:
      result.setStatus(ipc::Status::PLUGIN_ERROR);
      break;
  }
  if (status == CORDON_OK) return;
  if (!host.error.empty()) {
    result.setMessage(host.error);
  } else if (!host.lastHostFailure.empty()) {
    // A plugin that passes a host call's status straight back keeps its cause.
    result.setMessage(statusName(status) + " after a failed host call: " + host.lastHostFailure);
  } else {
    result.setMessage("plugin returned " + statusName(status));
  }
}

}  // namespace cordon::worker

using cordon::worker::callHost;
using cordon::worker::readChunk;

extern "C" {

cordon_status cordon_log(cordon_host* host, cordon_log_level level, const char* message) {
  if (message == nullptr) return CORDON_ERR_BAD_INPUT;
  return callHost(host, [&]() {
    auto request = host->host.logRequest();
    request.setLevel(static_cast<cordon::ipc::LogLevel>(std::clamp(static_cast<int>(level), 0, 3)));
    request.setMessage(message);
    request.send().wait(host->waitScope);
  });
}

const char* cordon_config(cordon_host* host, const char* key) {
  if (host == nullptr || key == nullptr) return nullptr;
  for (const auto& [name, value] : host->config) {
    if (name == key) return value.c_str();
  }
  return nullptr;
}

size_t cordon_input_count(cordon_host* host) {
  return host == nullptr ? 0 : host->inputs.size();
}

const char* cordon_input_name(cordon_host* host, size_t index) {
  if (host == nullptr || index >= host->inputs.size()) return nullptr;
  return host->inputs[index].first.c_str();
}

cordon_status cordon_input_size(cordon_host* host, const char* name, uint64_t* size) {
  if (host == nullptr || name == nullptr || size == nullptr) return CORDON_ERR_BAD_INPUT;
  for (const auto& [input, bytes] : host->inputs) {
    if (input == name) {
      *size = bytes;
      return CORDON_OK;
    }
  }
  return CORDON_ERR_NOT_FOUND;
}

cordon_status cordon_read_input(cordon_host* host, const char* name, uint64_t offset, void* buffer,
                                size_t capacity, size_t* read) {
  if (name == nullptr) return CORDON_ERR_BAD_INPUT;
  return readChunk(
      host,
      [&] {
        auto request = host->host.readInputRequest();
        request.setName(name);
        return request;
      },
      offset, buffer, capacity, read);
}

cordon_status cordon_read_file(cordon_host* host, const char* path, uint64_t offset, void* buffer,
                               size_t capacity, size_t* read) {
  if (path == nullptr) return CORDON_ERR_BAD_INPUT;
  return readChunk(
      host,
      [&] {
        auto request = host->host.readFileRequest();
        request.setPath(path);
        return request;
      },
      offset, buffer, capacity, read);
}

cordon_status cordon_map_input(cordon_host* host, const char* name, const void** data,
                               uint64_t* size) {
  if (name == nullptr || data == nullptr || size == nullptr) return CORDON_ERR_BAD_INPUT;
  *data = nullptr;
  *size = 0;
  void* mapped = nullptr;
  uint64_t length = 0;
  cordon_status status = callHost(host, [&]() {
    auto request = host->host.mapInputRequest();
    request.setName(name);
    auto response = request.send().wait(host->waitScope);
    length = response.getSize();
    mapped = cordon::worker::mapForCallback(
        *host, cordon::worker::receiveDescriptor(response.getToken()), length, false);
  });
  if (status != CORDON_OK) return status;
  if (mapped == nullptr) return CORDON_ERR_LIMIT;  // the address space limit
  *data = mapped;
  *size = length;
  return CORDON_OK;
}

cordon_status cordon_create_output(cordon_host* host, const char* name, uint64_t size,
                                   void** data) {
  if (name == nullptr || data == nullptr) return CORDON_ERR_BAD_INPUT;
  *data = nullptr;
  void* mapped = nullptr;
  cordon_status status = callHost(host, [&]() {
    auto request = host->host.createOutputRequest();
    request.setName(name);
    request.setSize(size);
    auto response = request.send().wait(host->waitScope);
    mapped = cordon::worker::mapForCallback(
        *host, cordon::worker::receiveDescriptor(response.getToken()), size, true);
  });
  if (status != CORDON_OK) return status;
  if (mapped == nullptr) return CORDON_ERR_LIMIT;
  host->outputs.erase(name);
  host->inPlace[name] = {mapped, static_cast<size_t>(size)};
  *data = mapped;
  return CORDON_OK;
}

cordon_status cordon_set_output(cordon_host* host, const char* name, const void* data,
                                size_t size) {
  if (host == nullptr || name == nullptr || (data == nullptr && size != 0))
    return CORDON_ERR_BAD_INPUT;
  host->inPlace.erase(name);
  host->outputs[name].assign(static_cast<const char*>(data), size);
  return CORDON_OK;
}

void cordon_set_error(cordon_host* host, const char* message) {
  if (host != nullptr && message != nullptr) host->error = message;
}

}  // extern "C"
