// doctest's runner for every suite. A run whose filters select no test case fails: CI runs the
// security suite one source file per meson test (tests/meson.build), and a filter that stopped
// matching its file would otherwise pass having tested nothing.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

unsigned gSelectedTestCases = 0;
bool gTestRunEnded = false;

// Only watches the run's totals; the console reporter still prints everything.
struct SelectionCounter : public doctest::IReporter {
  explicit SelectionCounter(const doctest::ContextOptions& /*options*/) {}
  void report_query(const doctest::QueryData& /*data*/) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    gSelectedTestCases = stats.numTestCasesPassingFilters;
    gTestRunEnded = true;
  }
  void test_case_start(const doctest::TestCaseData& /*data*/) override {}
  void test_case_reenter(const doctest::TestCaseData& /*data*/) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& /*stats*/) override {}
  void test_case_exception(const doctest::TestCaseException& /*exception*/) override {}
  void subcase_start(const doctest::SubcaseSignature& /*signature*/) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& /*data*/) override {}
  void log_message(const doctest::MessageData& /*data*/) override {}
  void test_case_skipped(const doctest::TestCaseData& /*data*/) override {}
};

}  // namespace

REGISTER_LISTENER("selection-counter", 1, SelectionCounter);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (!gTestRunEnded) return status;  // a query (--help, --count, --list-...), not a run
  if (status == 0 && gSelectedTestCases == 0) {
    std::fputs("no test case matches the filters given; nothing was tested\n", stderr);
    return 1;
  }
  return status;
}
