#include "root_filesystem.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "setup_error.h"

namespace cordon::worker {
namespace {

constexpr uint64_t kScratchBytesPerInode = 4096;

constexpr char kStaging[] = "/tmp";  // any existing directory; covered only in our mount ns
constexpr size_t kRootSlackBytes =
    size_t{64} * 1024;  // mount points and directories, beyond the plugin

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

// Binds `source` at `target`, then remounts the bind with `flags` (plus what the outer mount
// locked): MS_RDONLY for read-only grants, MS_NODEV for everything but the device nodes.
void bind(const std::string& source, const std::string& target, unsigned long flags) {
  checkSys(mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr), "bind " + source);
  checkSys(mount(nullptr, target.c_str(), nullptr,
                 MS_BIND | MS_REMOUNT | MS_NOSUID | flags | lockedFlags(target), nullptr),
           "remount " + target);
}

// A host path held open (O_PATH) before the staging tmpfs can hide it.
struct HeldPath {
  std::string path;
  int fd;
  bool directory;
  bool writable = false;
};

HeldPath hold(const std::string& path, bool writable) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  checkSys(fd, "open " + path);
  struct stat info {};
  checkSys(fstat(fd, &info), "stat " + path);
  if (!S_ISDIR(info.st_mode) && !S_ISREG(info.st_mode)) {
    throw SetupError(path + " is neither a directory nor a regular file");
  }
  return {path, fd, S_ISDIR(info.st_mode), writable};
}

// Creates `path` (a directory, or an empty file) and its parents under the staging root.
void makeMountPoint(const std::string& path, bool directory) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) checkSys(-1, "mkdir " + parent);
  }
  if (directory) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) checkSys(-1, "mkdir " + path);
  } else {
    int file = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
    checkSys(file, "create " + path);
    close(file);
  }
}

void copyPlugin(int from, size_t size, const std::string& to) {
  int file = open(to.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0555);
  checkSys(file, "create " + to);
  char buffer[65536];
  for (off_t offset = 0; static_cast<size_t>(offset) < size;) {
    ssize_t got = pread(from, buffer, sizeof buffer, offset);
    checkSys(static_cast<int>(got), "read the plugin memfd");
    if (got == 0) throw SetupError("the plugin memfd is shorter than it says");
    for (ssize_t done = 0; done < got;) {
      ssize_t put = write(file, buffer + done, static_cast<size_t>(got - done));
      checkSys(static_cast<int>(put), "write " + to);
      done += put;
    }
    offset += got;
  }
  checkSys(close(file), "close " + to);
}

}  // namespace

std::string enterEmptyRoot(int pluginFd, const SandboxSpec& spec) {
  // Granted paths are bound outermost first, so a nested grant lands on its parent's bind.
  std::vector<HeldPath> granted;
  for (const auto& path : spec.readOnlyPaths) granted.push_back(hold(path, false));
  for (const auto& path : spec.readWritePaths) granted.push_back(hold(path, true));
  std::sort(granted.begin(), granted.end(),
            [](const HeldPath& a, const HeldPath& b) { return a.path.size() < b.path.size(); });
  // Device nodes are held the same way: after the staging tmpfs, the host's /dev is hidden.
  std::vector<HeldPath> devices;
  if (spec.devices) {
    for (const char* node : {"/dev/null", "/dev/zero", "/dev/urandom"}) {
      int fd = open(node, O_PATH | O_CLOEXEC);
      checkSys(fd, std::string("open ") + node);
      devices.push_back({node, fd, false});
    }
  }

  // The plugin arrives as a sealed memfd holding the bytes the supervisor verified; they are
  // copied into the new root (a memfd cannot be bind-mounted) before it turns read-only.
  struct stat info {};
  checkSys(fstat(pluginFd, &info), "stat the plugin memfd");
  if (!S_ISREG(info.st_mode)) throw SetupError("the plugin descriptor is not a regular file");
  const auto pluginBytes = static_cast<size_t>(info.st_size);

  // Nothing we mount may leak back to the host.
  checkSys(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
  const std::string tmpfsOptions =
      "mode=0755,size=" + std::to_string(kRootSlackBytes + pluginBytes);
  checkSys(mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV, tmpfsOptions.c_str()),
           "mount tmpfs root");

  const std::string pluginDir = std::string(kStaging) + "/plugin";
  const std::string pluginFile = pluginDir + "/" + spec.pluginName + ".so";
  checkSys(mkdir(pluginDir.c_str(), 0755), "mkdir " + pluginDir);
  copyPlugin(pluginFd, pluginBytes, pluginFile);
  close(pluginFd);
  for (const HeldPath& path : granted) {
    // Data only: no device nodes, no set-id, nothing executable from a granted path.
    const std::string target = std::string(kStaging) + path.path;
    makeMountPoint(target, path.directory);
    bind("/proc/self/fd/" + std::to_string(path.fd), target,
         MS_NODEV | MS_NOEXEC | (path.writable ? 0 : MS_RDONLY));
    close(path.fd);
  }
  for (const HeldPath& device : devices) {
    // Read-only mounts still let a device node be written: only its inode is protected.
    const std::string target = std::string(kStaging) + device.path;
    makeMountPoint(target, false);
    bind("/proc/self/fd/" + std::to_string(device.fd), target, MS_NOEXEC | MS_RDONLY);
    close(device.fd);
  }
  if (spec.scratchBytes != 0) {
    const std::string scratch = std::string(kStaging) + "/scratch";
    makeMountPoint(scratch, true);
    // Inodes are capped too: empty files cost no pages but do cost kernel memory that
    // memory_mb does not see. One inode per 4 KiB of scratch_mb (at least 64).
    const uint64_t inodes = std::max<uint64_t>(64, spec.scratchBytes / kScratchBytesPerInode);
    const std::string options = "mode=0700,size=" + std::to_string(spec.scratchBytes) +
                                ",nr_inodes=" + std::to_string(inodes);
    checkSys(
        mount("tmpfs", scratch.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()),
        "mount scratch tmpfs");
  }
  if (spec.mountProc) {
    // Our own PID namespace's: the worker is PID 1 and sees nothing of the host's processes.
    // Read-only, so /proc/self/mem cannot be opened for writing (EROFS).
    const std::string proc = std::string(kStaging) + "/proc";
    makeMountPoint(proc, true);
    checkSys(
        mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr),
        "mount proc");
  }

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only ours.
  checkSys(chdir(kStaging), "chdir new root");
  checkSys(syscall(SYS_pivot_root, ".", "."), "pivot_root");
  checkSys(umount2(".", MNT_DETACH), "detach old root");
  checkSys(chdir("/"), "chdir /");
  checkSys(mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                 nullptr),
           "remount root read-only");
  return "/plugin/" + spec.pluginName + ".so";
}

}  // namespace cordon::worker
