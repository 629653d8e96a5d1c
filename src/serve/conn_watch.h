// Finding and watching the TCP connection of an HTTP request from inside a cpp-httplib 0.11
// handler (whose API does not expose the socket): used to cancel a non-streamed generation
// as soon as its client disconnects, and to raise the listen backlog of the server socket.
#pragma once
#include <string>

namespace dsv3::serve {

// The file descriptor of this process's connected TCP socket whose local end is
// (local_addr, local_port) and whose peer is (remote_addr, remote_port), or -1. Scans
// /proc/self/fd (a few hundred fds at most on a server: microseconds).
int find_connection_fd(const std::string& local_addr, int local_port, const std::string& remote_addr,
                       int remote_port);

// True when the peer of connected socket `fd` has closed or shut down its side (EOF pending,
// POLLRDHUP/POLLHUP/POLLERR). Unread request data (a pipelined request) is not EOF. A client
// that half-closes its sending side while still waiting for the answer counts as gone.
bool peer_closed(int fd);

}  // namespace dsv3::serve
