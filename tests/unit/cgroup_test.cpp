// cgroup v2 detection: which directory a process may use and whether it is delegated. The
// delegated path itself (clone3 into a cgroup with memory.max, pids.max, cpu.max) needs a
// machine whose cgroup v2 tree holds those controllers; on one without, a run says so once and
// records `cgroup: "none: ..."` on plugin.start (tests/integration/isolation_test.cpp).
#include <doctest/doctest.h>

#include <filesystem>

#include "test_support.h"
#include "worker/cgroup_limits.h"

using namespace cordon;

TEST_CASE("the cgroup v2 directory comes from the cgroup2 mount and the process's 0:: line") {
  const std::string hybrid =
      "24 18 0:21 / /sys/fs/cgroup rw,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
      "25 24 0:22 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
      "26 24 0:23 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n";
  auto dir = cgroupDirectory(hybrid, "4:memory:/x\n0::/user.slice/app.scope\n");
  REQUIRE(dir.ok());
  CHECK(dir.value() == "/sys/fs/cgroup/unified/user.slice/app.scope");
  auto root = cgroupDirectory("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/\n");
  REQUIRE(root.ok());
  CHECK(root.value() == "/sys/fs/cgroup");
  CHECK(
      cgroupDirectory("26 24 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "0::/\n")
          .error()
          .message.find("no cgroup2") != std::string::npos);
  CHECK(cgroupDirectory(hybrid, "4:memory:/x\n").error().message.find("no cgroup v2") !=
        std::string::npos);
}

TEST_CASE("delegation needs the memory, pids and cpu controllers, and names what is missing") {
  test::TempDir dir;
  dir.write("cgroup.subtree_control", "");
  dir.write("cgroup.controllers", "cpuset hugetlb pids\n");
  auto partial = checkDelegation(dir.path(""));
  REQUIRE_FALSE(partial.ok());
  CHECK(partial.error().message.find("lacks the memory, cpu controller(s)") != std::string::npos);
  dir.write("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  CHECK(checkDelegation(dir.path("")).ok());
}
