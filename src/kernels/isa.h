// Runtime instruction-set selection for the fast kernels. The best path the CPU supports is
// chosen once, at the first kernel call; DSV3_ISA=avx512|avx2|portable in the environment
// forces one (an unknown or unsupported name is a dsv3::Error at that first call), and
// set_isa() switches it at run time (tests use it to run every path against the references).
#pragma once
#include <string_view>
#include <vector>

namespace dsv3::kernels {

enum class Isa { Portable, Avx2, Avx512 };

// "portable", "avx2", "avx512".
std::string_view isa_name(Isa isa);
// Parses an isa_name(); false if unknown.
bool parse_isa(std::string_view s, Isa* out);
// Whether this CPU (and OS) can run the path. Portable is always supported.
bool isa_supported(Isa isa);
// Every supported path, best last.
std::vector<Isa> supported_isas();
// The path DSV3_ISA asks for: the best supported one if `env` is null or empty, else the named
// one; dsv3::Error if the name is unknown or the CPU lacks it. (Used at the first kernel call.)
Isa resolve_isa(const char* env);
// The path the kernels use now (resolving DSV3_ISA on first use).
Isa current_isa();
// Switches every fast kernel to `isa`; throws dsv3::Error if the CPU lacks it.
// Not safe while other threads are running kernels.
void set_isa(Isa isa);

}  // namespace dsv3::kernels
