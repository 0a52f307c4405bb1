// word-count: counts lines, words and bytes of its `text` input; output `summary` is JSON.
#include <cordon/plugin.hpp>

#include <cctype>
#include <string>

class WordCount : public cordon::Plugin {
 public:
  cordon::Status execute(cordon::Host& host) override {
    std::string text;
    if (cordon::Status status = host.readInput("text", text); status != CORDON_OK) {
      return host.fail(status, "cannot read input 'text'");
    }
    size_t lines = 0, words = 0;
    bool inWord = false;
    for (unsigned char c : text) {
      if (c == '\n') ++lines;
      bool space = std::isspace(c) != 0;
      if (!space && !inWord) ++words;
      inWord = !space;
    }
    std::string summary = "{\"lines\":" + std::to_string(lines) +
                          ",\"words\":" + std::to_string(words) +
                          ",\"bytes\":" + std::to_string(text.size()) + "}";
    host.log(CORDON_LOG_INFO, "counted " + std::to_string(words) + " words");
    return host.setOutput("summary", summary);
  }
};

CORDON_CPP_PLUGIN(WordCount, "word-count", "1.0.0", "Counts lines, words and bytes")
