#include "root_filesystem.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "setup_error.h"

namespace cordon::worker {
namespace {

constexpr char kStaging[] = "/tmp";  // any existing directory; covered only in our mount ns

// A remount inside a user namespace must keep the flags the outer mount locked.
unsigned long lockedFlags(const std::string& path) {
  struct statvfs info {};
  checkSys(statvfs(path.c_str(), &info), "statvfs " + path);
  unsigned long flags = 0;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

void bindReadOnly(const std::string& source, const std::string& target) {
  checkSys(mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr), "bind " + source);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
  checkSys(mount(nullptr, target.c_str(), nullptr, flags | lockedFlags(target), nullptr),
           "remount read-only " + target);
}

}  // namespace

std::string enterEmptyRoot(const std::string& hostPluginPath, const std::string& pluginName) {
  // Held open before the staging tmpfs goes up: the plugin may live under the staging directory
  // (a plugin in /tmp), which that mount would otherwise hide.
  int plugin = open(hostPluginPath.c_str(), O_PATH | O_CLOEXEC);
  checkSys(plugin, "open " + hostPluginPath);
  struct stat info {};
  checkSys(fstat(plugin, &info), "stat " + hostPluginPath);
  if (!S_ISREG(info.st_mode)) throw SetupError(hostPluginPath + " is not a regular file");
  const std::string pluginHandle = "/proc/self/fd/" + std::to_string(plugin);

  // Nothing we mount may leak back to the host.
  checkSys(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
  checkSys(mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k"),
           "mount tmpfs root");

  const std::string pluginDir = std::string(kStaging) + "/plugin";
  const std::string pluginFile = pluginDir + "/" + pluginName + ".so";
  checkSys(mkdir(pluginDir.c_str(), 0755), "mkdir " + pluginDir);
  int placeholder = open(pluginFile.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
  checkSys(placeholder, "create " + pluginFile);
  close(placeholder);
  bindReadOnly(pluginHandle, pluginFile);
  close(plugin);

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only ours.
  checkSys(chdir(kStaging), "chdir new root");
  checkSys(syscall(SYS_pivot_root, ".", "."), "pivot_root");
  checkSys(umount2(".", MNT_DETACH), "detach old root");
  checkSys(chdir("/"), "chdir /");
  checkSys(mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                 nullptr),
           "remount root read-only");
  return "/plugin/" + pluginName + ".so";
}

}  // namespace cordon::worker
