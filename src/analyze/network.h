// Fat-tree sizing (paper §5.1, Table 3) for switches of radix k, links counted switch-to-switch:
//   FT2 (two layers):  endpoints k²/2, switches 3k/2,  links k²/2
//   FT3 (three layers): endpoints k³/4, switches 5k²/4, links k³/2
//   MPFT: `planes` independent FT2 planes, one NIC per GPU per plane (8 planes for H800 nodes).
// Costs are computed only when unit prices are given; the paper does not publish them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dsv3::analyze {

struct NetworkParams {
  int64_t radix = 64;      // 64-port 400G IB switches
  int64_t planes = 8;      // one GPU-NIC pair per plane, 8 per node
  double switch_cost = 0;  // USD per switch; 0 = not priced
  double link_cost = 0;    // USD per link; 0 = not priced
};

struct Topology {
  std::string name;  // "FT2", "MPFT", "FT3"
  int64_t endpoints = 0, switches = 0, links = 0;
  double cost_usd = 0;           // switches·switch_cost + links·link_cost
  double cost_per_endpoint = 0;  // USD
};

// Throws dsv3::Error when the radix is not an even number >= 2 or planes < 1.
std::vector<Topology> fat_trees(const NetworkParams& p);

}  // namespace dsv3::analyze
