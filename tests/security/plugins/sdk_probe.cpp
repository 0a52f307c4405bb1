// sdk-probe: a plugin written the way an author would against the C++ SDK (plugin.hpp). Its
// `mode` config picks which part it exercises; tests/integration/sdk_test.cpp checks what the
// supervisor saw, through the real worker.
#include <cordon/plugin.hpp>

#include <new>
#include <stdexcept>
#include <string>

class SdkProbe : public cordon::Plugin {
 public:
  cordon::Status init(cordon::Host& host) override {
    return host.log(CORDON_LOG_INFO, "sdk-probe ready");
  }

  cordon::Status execute(cordon::Host& host) override {
    std::optional<std::string> mode = host.config("mode");
    if (!mode) return host.fail(CORDON_ERR_BAD_INPUT, "sdk-probe needs config 'mode'");
    if (*mode == "names") {
      std::string names;
      for (const std::string& name : host.inputNames()) names += (names.empty() ? "" : ",") + name;
      return host.setOutput("names", names);
    }
    if (*mode == "concat") {  // every input, whole, in the order the host lists them
      std::string all;
      for (const std::string& name : host.inputNames()) {
        std::string text;
        if (cordon::Status status = host.readInput(name, text); status != CORDON_OK) {
          return host.fail(status, "cannot read input '" + name + "'");
        }
        all += text;
      }
      return host.setOutput("all", all);
    }
    if (*mode == "missing-input") {
      std::string text;
      return host.readInput("no-such-input", text);
    }
    if (*mode == "throw") throw std::runtime_error("sdk-probe threw on purpose");
    if (*mode == "bad-alloc") throw std::bad_alloc();
    if (*mode == "throw-int") throw 42;
    return host.fail(CORDON_ERR_BAD_INPUT, "sdk-probe: unknown mode '" + *mode + "'");
  }
};

CORDON_CPP_PLUGIN(SdkProbe, "sdk-probe", "1.0.0", "test: exercises the C++ SDK by its mode")
