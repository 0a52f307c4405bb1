// Cordon plugin SDK: a thin C++ layer over plugin.h. Header-only; the ABI stays the C one.
//
//   class WordCount : public cordon::Plugin { cordon::Status execute(cordon::Host& host) override;
//   }; CORDON_CPP_PLUGIN(WordCount, "word-count", "1.0.0", "Counts words")
#pragma once

#include <cordon/plugin.h>

#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon {

using Status = cordon_status;

class Host {
 public:
  explicit Host(cordon_host* raw) : raw_(raw) {}

  Status log(cordon_log_level level, const std::string& message) {
    return cordon_log(raw_, level, message.c_str());
  }

  std::optional<std::string> config(const std::string& key) const {
    const char* value = cordon_config(raw_, key.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  }

  std::vector<std::string> inputNames() const {
    std::vector<std::string> names;
    for (size_t i = 0; i < cordon_input_count(raw_); ++i)
      names.emplace_back(cordon_input_name(raw_, i));
    return names;
  }

  // Reads a whole input. On failure returns the status and leaves `out` partial.
  Status readInput(const std::string& name, std::string& out) {
    out.clear();
    char buffer[64 * 1024];
    for (;;) {
      size_t got = 0;
      Status status =
          cordon_read_input(raw_, name.c_str(), out.size(), buffer, sizeof buffer, &got);
      if (status != CORDON_OK) return status;
      if (got == 0) return CORDON_OK;
      out.append(buffer, got);
    }
  }

  Status setOutput(const std::string& name, std::string_view data) {
    return cordon_set_output(raw_, name.c_str(), data.data(), data.size());
  }

  Status fail(Status status, const std::string& message) {
    cordon_set_error(raw_, message.c_str());
    return status;
  }

 private:
  cordon_host* raw_;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual Status init(Host&) { return CORDON_OK; }
  virtual Status execute(Host& host) = 0;
  virtual void shutdown() {}
};

namespace detail {

// Exceptions must not cross the C ABI: they become statuses with a message.
template <typename Fn>
Status guarded(cordon_host* raw, Fn&& fn) {
  Host host(raw);
  try {
    return fn(host);
  } catch (const std::bad_alloc&) {
    return host.fail(CORDON_ERR_LIMIT, "out of memory");
  } catch (const std::exception& e) {
    return host.fail(CORDON_ERR_PLUGIN, e.what());
  } catch (...) {
    return host.fail(CORDON_ERR_PLUGIN, "unknown exception");
  }
}

}  // namespace detail
}  // namespace cordon

// TYPE names a type, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CORDON_CPP_PLUGIN(TYPE, NAME, VERSION, DESCRIPTION)                             \
  namespace {                                                                           \
  TYPE& cordonInstance() {                                                              \
    static TYPE instance;                                                               \
    return instance;                                                                    \
  }                                                                                     \
  cordon_status cordonInit(cordon_host* h) {                                            \
    return cordon::detail::guarded(                                                     \
        h, [](cordon::Host& host) { return cordonInstance().init(host); });             \
  }                                                                                     \
  cordon_status cordonExecute(cordon_host* h) {                                         \
    return cordon::detail::guarded(                                                     \
        h, [](cordon::Host& host) { return cordonInstance().execute(host); });          \
  }                                                                                     \
  void cordonShutdown() {                                                               \
    cordonInstance().shutdown();                                                        \
  }                                                                                     \
  }                                                                                     \
  extern "C" {                                                                          \
  CORDON_PLUGIN(NAME, VERSION, DESCRIPTION, cordonInit, cordonExecute, cordonShutdown); \
  }
// NOLINTEND(bugprone-macro-parentheses)
