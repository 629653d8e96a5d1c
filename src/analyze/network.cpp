// Fat-tree endpoint / switch / link counts.
#include "analyze/network.h"

#include "core/error.h"

namespace dsv3::analyze {

std::vector<Topology> fat_trees(const NetworkParams& p) {
  DSV3_CHECK(p.radix >= 2 && p.radix % 2 == 0 && p.radix <= 65536,
             "switch radix must be an even number in [2, 65536], got ", p.radix);
  DSV3_CHECK(p.planes >= 1 && p.planes <= 1024, "planes must be in [1, 1024], got ", p.planes);
  DSV3_CHECK(p.switch_cost >= 0 && p.link_cost >= 0, "unit costs must be >= 0");
  const int64_t k = p.radix;
  Topology ft2{"FT2", k * k / 2, 3 * k / 2, k * k / 2};
  Topology mpft{"MPFT", p.planes * ft2.endpoints, p.planes * ft2.switches, p.planes * ft2.links};
  Topology ft3{"FT3", k * k * k / 4, 5 * k * k / 4, k * k * k / 2};
  std::vector<Topology> out = {ft2, mpft, ft3};
  for (auto& t : out) {
    t.cost_usd = double(t.switches) * p.switch_cost + double(t.links) * p.link_cost;
    t.cost_per_endpoint = t.cost_usd / double(t.endpoints);
  }
  return out;
}

}  // namespace dsv3::analyze
