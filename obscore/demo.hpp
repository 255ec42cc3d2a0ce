// `voserver make-demo`: PHANGS-MUSE-format cubes with synthetic pixels.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vo::obscore {

/// The demo's proprietary product (issue 12): this galaxy's cube carries
/// PROG_ID kProprietaryProject and RELDATE kProprietaryRelease (a date in
/// the future), the other cubes the public PHANGS-MUSE programme.
inline constexpr const char* kProprietaryGalaxy = "NGC1087";
inline constexpr const char* kProprietaryProject = "112.VOSR.001";
inline constexpr const char* kProprietaryRelease = "2099-12-31T00:00:00";

/// Options of the demo generator.
struct DemoOptions {
    std::string out_dir;                ///< created if missing
    int nx = 20;                        ///< spaxels along RA (0.2 arcsec each); 20x20x3681 is ~15 MB a cube
    int ny = 20;                        ///< spaxels along Dec
    int nchan = 3681;                   ///< MUSE channels (1.25 Angstrom from 4749.76 Angstrom, air)
    std::vector<std::string> galaxies;  ///< empty = all 19 PHANGS-MUSE galaxies
    unsigned seed = 20261121;
};

/// Writes one `{GAL}_PHANGS_DATACUBE_native.fits` per galaxy in the real
/// release format (PHANGS-MUSE README: primary header + DATA, STAT, DQ image
/// extensions, PRODCATG=SCIENCE.CUBE.IFS, RA---TAN/DEC--TAN/AWAV WCS) and
/// returns the paths written. Existing files with the same options are kept.
/// Throws std::runtime_error with the file name on an I/O failure.
std::vector<std::string> make_demo(const DemoOptions& options,
                                   const std::function<void(const std::string&)>& on_file = {});

}  // namespace vo::obscore
