// Connection lookup by address tuple and peer-closed check (see conn_watch.h).
#include "serve/conn_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace dsv3::serve {

namespace {

// Address text and port of a sockaddr (IPv4, IPv6, or IPv4-mapped IPv6 written as IPv4).
bool addr_port(const sockaddr_storage& ss, std::string& addr, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
      inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, buf, sizeof(buf));
    else
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  } else {
    return false;
  }
  addr = buf;
  return true;
}

// httplib writes IPv4-mapped peers as ::ffff:a.b.c.d; addr_port writes a.b.c.d.
std::string normalized(const std::string& a) {
  return a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos ? a.substr(7) : a;
}

}  // namespace

int find_connection_fd(const std::string& local_addr, int local_port, const std::string& remote_addr,
                       int remote_port) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int found = -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    sockaddr_storage ls{}, rs{};
    socklen_t ll = sizeof(ls), rl = sizeof(rs);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &ll) != 0) continue;  // not a socket
    std::string la, ra;
    int lp = -1, rp = -1;
    if (!addr_port(ls, la, lp) || lp != local_port) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&rs), &rl) != 0) continue;  // listening
    if (!addr_port(rs, ra, rp) || rp != remote_port) continue;
    if (la != normalized(local_addr) || ra != normalized(remote_addr)) continue;
    found = fd;
    break;
  }
  closedir(d);
  return found;
}

bool peer_closed(int fd) {
  pollfd p{fd, short(POLLIN | POLLRDHUP), 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  if (p.revents & POLLIN) {
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  return false;
}

}  // namespace dsv3::serve
