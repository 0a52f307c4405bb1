/* Hostile: opens a network socket and tries to reach the outside. socket() is not in any
 * allowlist: sandbox_violation, syscall "socket". */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <netinet/in.h>
#include <sys/socket.h>

static cordon_status execute(cordon_host* host) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(80)};
    address.sin_addr.s_addr = htonl(0x7f000001);
    connect(fd, (struct sockaddr*)&address, sizeof address);
  }
  cordon_set_error(host, "socket refused");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN("open-socket", "1.0.0", "hostile: opens a socket", NULL, execute, NULL);
