#include "soda/cutout.hpp"

#include <fcntl.h>
#include <fitsio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wcslib/wcs.h>

#include <algorithm>
#include <array>
#include <functional>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <string_view>

#include "fits/bounds.hpp"
#include "fits/header_check.hpp"
#include "fits/sky_frames.hpp"
#include "fits/wcs.hpp"
#include "soda/checksum.hpp"
#include "soda/sky.hpp"

namespace vo::soda {
using fits::data_unit_bytes;
using fits::header_defect;
using fits::Wcs;

namespace {

constexpr std::size_t kBlock = 2880;
constexpr std::size_t kChunk = 1u << 20;       // output buffer, sink chunk and checksum scratch size
constexpr std::size_t kRetain = 24u << 20;     // data of one HDU kept from the checksum pass for sending
constexpr std::size_t kSpanBuffer = 1u << 20;  // pread buffer for short runs of a row group
constexpr std::size_t kDirectRead = 64u << 10;  // runs this long are read straight into the output
constexpr std::size_t kMaxGap = 16u << 10;      // largest gap (bytes) between runs read over in one pread

std::uint64_t pad_block(std::uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

[[noreturn]] void fits_fail(const std::string& what, int status) {
  char msg[FLEN_STATUS];
  fits_get_errstatus(status, msg);
  fits_clear_errmsg();
  throw SodaError(500, "Error", "", what + ": CFITSIO: " + msg);
}

struct FitsCloser {
  void operator()(fitsfile* f) const {
    int s = 0;
    fits_close_file(f, &s);
  }
};
using FitsPtr = std::unique_ptr<fitsfile, FitsCloser>;

bool is_gzip(const std::string& path) {
  unsigned char magic[2] = {0, 0};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const std::size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

FitsPtr open_fits(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw SodaError(404, "UsageError", "ID", "the product file is not available");
  fitsfile* f = nullptr;
  int status = 0;
  // fits_open_diskfile: no extended-filename parsing (paths may contain [ ] :),
  // but it does not decompress; gzip files go through fits_open_file.
  if (is_gzip(path)) {
    fits_open_file(&f, path.c_str(), READONLY, &status);
  } else {
    fits_open_diskfile(&f, path.c_str(), READONLY, &status);
  }
  if (status) fits_fail("cannot open the product file", status);
  return FitsPtr(f);
}

// ---------------------------------------------------------------- header cards

std::string card_key(const std::string& card) {
  if (card.compare(0, 8, "HIERARCH") == 0) return card.substr(0, card.find('='));
  std::string k = card.substr(0, 8);
  while (!k.empty() && k.back() == ' ') k.pop_back();
  return k;
}

bool has_value(const std::string& card) { return card.size() >= 10 && card[8] == '=' && card[9] == ' '; }

// Raw value text of a "KEY     = value / comment" card (quotes kept).
std::string card_value(const std::string& card) {
  if (!has_value(card)) return {};
  std::size_t i = 10;
  while (i < card.size() && card[i] == ' ') ++i;
  std::size_t end = i;
  if (i < card.size() && card[i] == '\'') {
    end = i + 1;
    while (end < card.size()) {
      if (card[end] == '\'') {
        if (end + 1 < card.size() && card[end + 1] == '\'') {
          end += 2;
          continue;
        }
        ++end;
        break;
      }
      ++end;
    }
  } else {
    end = card.find('/', i);
    if (end == std::string::npos) end = card.size();
  }
  std::string v = card.substr(i, end - i);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

std::string card_comment(const std::string& card) {
  const std::string v = card_value(card);
  const std::size_t start = card.find(v, 10);
  std::size_t slash = card.find('/', start == std::string::npos ? 10 : start + v.size());
  if (slash == std::string::npos) return {};
  std::string c = card.substr(slash + 1);
  while (!c.empty() && c.front() == ' ') c.erase(0, 1);
  while (!c.empty() && c.back() == ' ') c.pop_back();
  return c;
}

std::string string_value(const std::string& raw) {
  if (raw.size() < 2 || raw.front() != '\'') return raw;
  std::string s;
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    s += raw[i];
    if (raw[i] == '\'' && raw[i + 1] == '\'') ++i;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::optional<double> number_value(const std::string& raw) {
  if (raw.empty() || raw.front() == '\'') return std::nullopt;
  std::string t = raw;
  std::replace(t.begin(), t.end(), 'D', 'E');
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end == t.c_str()) return std::nullopt;
  return d;
}

std::string pad80(std::string s) {
  s.resize(80, ' ');
  return s;
}

std::string format_real(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17G", v);
  std::string s = buf;
  if (s.size() > 20) {
    std::snprintf(buf, sizeof buf, "%.15G", v);
    s = buf;
  }
  if (s.find_first_of(".E") == std::string::npos) s += ".0";
  else if (s.find('.') == std::string::npos) s.insert(s.find('E'), ".0");
  return s;
}

std::string value_card(const std::string& key, const std::string& value, const std::string& comment) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-8.8s= %20s", key.c_str(), value.c_str());
  std::string c = buf;
  if (!comment.empty() && c.size() < 77) c += " / " + comment;
  return pad80(c);
}

std::string string_card(const std::string& key, const std::string& value, const std::string& comment) {
  std::string v = "'" + value;
  while (v.size() < 9) v += ' ';
  v += "'";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-8.8s= %-20s", key.c_str(), v.c_str());
  std::string c = buf;
  if (!comment.empty() && c.size() < 77) c += " / " + comment;
  return pad80(c);
}

std::vector<std::string> history_cards(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    for (std::size_t i = 0; i < line.size() || i == 0; i += 72) {
      out.push_back(pad80("HISTORY " + line.substr(i, 72)));
      if (line.empty()) break;
    }
  }
  return out;
}

std::optional<double> find_number(const std::vector<std::string>& cards, const std::string& key) {
  for (const auto& c : cards)
    if (card_key(c) == key && has_value(c)) return number_value(card_value(c));
  return std::nullopt;
}

std::string find_string(const std::vector<std::string>& cards, const std::string& key) {
  for (const auto& c : cards)
    if (card_key(c) == key && has_value(c)) return string_value(card_value(c));
  return {};
}

// ---------------------------------------------------------------- HDU facts

struct HduInfo {
  int hdu = 0;
  bool image = false;
  bool compressed = false;
  int bitpix = 0;
  std::vector<long> naxes;
  long long data_start = 0;
  std::vector<std::string> cards;  // without END
  std::string extname;
};

/// The cards as one block ending with an END card, for header_defect().
std::string card_block(const std::vector<std::string>& cards) {
  std::string text;
  for (const auto& c : cards) text += c;
  if (cards.empty() || card_key(cards.back()) != "END") text += pad80("END");
  return text;
}

[[noreturn]] void damaged(int hdu, const std::string& why) {
  throw SodaError(500, "Error", "", "the product file is damaged: HDU " + std::to_string(hdu) + ": " + why);
}

/// Reads the facts of one HDU. The header text is checked (header_defect)
/// and the data size computed without overflow before anything relies on
/// them; `file_size` (nullopt for a gzip file, inflated by CFITSIO) bounds the
/// data unit. Throws SodaError(500) for a damaged file.
HduInfo read_hdu(fitsfile* f, int hdu, std::optional<std::uint64_t> file_size) {
  HduInfo h;
  h.hdu = hdu;
  int status = 0, type = 0;
  fits_movabs_hdu(f, hdu + 1, &type, &status);
  if (status) fits_fail("cannot read HDU " + std::to_string(hdu), status);
  auto header_cards = [&](bool converted) {
    char* header = nullptr;
    int nkeys = 0, st = 0;
    if (converted) fits_convert_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
    else fits_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
    if (st) fits_fail("cannot read the header of HDU " + std::to_string(hdu), st);
    std::vector<std::string> cards;
    for (int i = 0; i < nkeys; ++i) cards.emplace_back(header + 80 * i, 80);
    fits_free_memory(header, &st);
    return cards;
  };
  // The file's own header first: nothing parses it before this check.
  const std::vector<std::string> raw = header_cards(false);
  const std::string raw_text = card_block(raw);
  if (const auto defect = header_defect(raw_text)) damaged(hdu, "invalid header: " + *defect);
  const auto raw_bytes = data_unit_bytes(raw_text);
  if (!raw_bytes)
    damaged(hdu, "the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed or does not "
                 "fit in 64 bits (FITS 4.0 section 4.4.1.1)");
  status = 0;
  const bool compressed = type == IMAGE_HDU && fits_is_compressed_image(f, &status) != 0;
  status = 0;
  h.cards = compressed ? header_cards(true) : raw;
  if (compressed) {
    const std::string text = card_block(h.cards);
    if (const auto defect = header_defect(text)) damaged(hdu, "invalid header: " + *defect);
    if (!data_unit_bytes(text)) damaged(hdu, "the uncompressed image size does not fit in 64 bits");
  }
  LONGLONG headstart = 0, datastart = 0, dataend = 0;
  fits_get_hduaddrll(f, &headstart, &datastart, &dataend, &status);
  if (status) fits_fail("cannot locate the data of HDU " + std::to_string(hdu), status);
  status = 0;
  h.data_start = datastart;
  if (file_size && (datastart < 0 || static_cast<std::uint64_t>(datastart) > *file_size ||
                    static_cast<std::uint64_t>(*raw_bytes) > *file_size - static_cast<std::uint64_t>(datastart)))
    damaged(hdu, "truncated: the data unit (" + std::to_string(*raw_bytes) + " bytes from byte " + std::to_string(datastart) +
                     ") ends beyond the end of the file (" + std::to_string(*file_size) + " bytes)");
  h.extname = find_string(h.cards, "EXTNAME");
  if (type == IMAGE_HDU) {
    int naxis = 0;
    long naxes[9] = {0};
    fits_get_img_param(f, 9, &h.bitpix, &naxis, naxes, &status);
    if (status) fits_fail("cannot read the image parameters of HDU " + std::to_string(hdu), status);
    h.naxes.assign(naxes, naxes + std::min(naxis, 9));
    h.compressed = compressed;
    h.image = !h.naxes.empty() &&
              std::all_of(h.naxes.begin(), h.naxes.end(), [](long n) { return n > 0; });
  }
  return h;
}

// ---------------------------------------------------------------- WCS

/// The primary WCS of one HDU through the shared loader (fits/wcs.hpp:
/// wcsfix, IRAF 'LINEAR'/'LAMBDA' wavelength axes, rest-frequency fall-backs,
/// distortions WCSLIB refuses dropped), as obscore/ reads it for ObsCore.
fits::Wcs load_wcs(const HduInfo& h) {
  return fits::Wcs::load(fits::FitsHeader(card_block(h.cards)), h.naxes, h.hdu);
}

/// Reference pixel coordinates (centre of the image) for all WCS axes.
std::vector<double> centre_pixel(const Wcs& w, const std::vector<long>& naxes) {
  std::vector<double> p(w.naxis(), 1.0);
  for (int i = 0; i < w.naxis() && i < static_cast<int>(naxes.size()); ++i) p[i] = (naxes[i] + 1) / 2.0;
  return p;
}

/// The Stokes labels of the planes 1..n of the STOKES axis (nullptr where the
/// value is not a known code); n = 1 for a degenerate axis (beyond NAXIS), as
/// ObsCore's pol_states (fits::stokes_codes for both).
std::vector<const char*> stokes_planes(const Wcs& wcs, const std::vector<long>& naxes) {
  std::vector<const char*> labels;
  for (int code : fits::stokes_codes(wcs, naxes)) labels.push_back(fits::stokes_label(code));
  return labels;
}

/// The product's celestial frame (fits::frame_of: ICRS, FK5, FK4, galactic,
/// ecliptic, all converted with ERFA); 400 naming `parameter` for a frame
/// that cannot be converted to ICRS.
fits::FrameSpec sky_frame(const Wcs& w, const std::string& parameter) {
  const fits::FrameSpec f = fits::frame_of(w.get());
  if (f.frame == fits::SkyFrame::unknown)
    throw SodaError(400, "UsageError", parameter,
                    "the product's celestial frame (" + w.ctype(w.lng()).substr(0, 4) + ") is not supported");
  return f;
}

/// The product's own time span (MJD; fits::time_span, the ObsCore t_min and
/// t_max), NaN where unknown; hi = lo when only the start is known.
Interval product_time(const HduInfo& primary, const HduInfo& ref) {
  const fits::FitsHeader product(card_block(ref.cards));
  const fits::FitsHeader prim(card_block(primary.cards));
  const fits::TimeSpan t = fits::time_span(product, ref.hdu == 0 ? nullptr : &prim);
  Interval out{std::nan(""), std::nan("")};
  if (t.t_min) out = {*t.t_min, t.t_max.value_or(*t.t_min)};
  return out;
}

// ---------------------------------------------------------------- spatial box

struct PixBox {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  void add(double x, double y) {
    xmin = std::min(xmin, x), xmax = std::max(xmax, x);
    ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  }
  bool empty() const { return xmin > xmax; }
};

/// Liang-Barsky clip of segment (x0,y0)-(x1,y1) to [lo_x,hi_x]x[lo_y,hi_y].
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double lox, double hix, double loy, double hiy) {
  double t0 = 0, t1 = 1;
  const double dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - lox, hix - x0, y0 - loy, hiy - y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
    } else {
      const double r = q[i] / p[i];
      if (p[i] < 0) t0 = std::max(t0, r);
      else t1 = std::min(t1, r);
    }
  }
  if (t0 > t1) return false;
  const double ax = x0 + t0 * dx, ay = y0 + t0 * dy, bx = x0 + t1 * dx, by = y0 + t1 * dy;
  x0 = ax, y0 = ay, x1 = bx, y1 = by;
  return true;
}

/// Smallest 1-based pixel box [x1,x2]x[y1,y2] of the celestial axes holding
/// region ∩ image; nullopt if empty. See plan_cutout for the method.
std::optional<std::array<long, 4>> spatial_box(const Wcs& w, const std::vector<long>& naxes, const SkyRegion& region) {
  const wcsprm* x = w.get();
  const int lng = x->lng, lat = x->lat, na = w.naxis();
  const fits::FrameSpec frame = sky_frame(w, region.parameter);
  const RegionGeometry geom(region);
  const long nx = naxes[lng], ny = naxes[lat];
  const double lox = 0.5, hix = nx + 0.5, loy = 0.5, hiy = ny + 0.5;
  const auto centre = centre_pixel(w, naxes);

  // World values of the non-celestial axes at the image centre.
  std::vector<double> world_centre;
  std::vector<int> st;
  w.p2s(centre, world_centre, st);

  auto pix_to_icrs = [&](const std::vector<std::pair<double, double>>& pts) {
    std::vector<double> pix;
    pix.reserve(pts.size() * na);
    for (const auto& [px, py] : pts) {
      auto p = centre;
      p[lng] = px, p[lat] = py;
      pix.insert(pix.end(), p.begin(), p.end());
    }
    std::vector<double> world;
    std::vector<int> stat;
    w.p2s(pix, world, stat);
    std::vector<std::optional<std::pair<double, double>>> out(pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i)
      if (!stat[i]) out[i] = fits::to_icrs(frame, world[i * na + lng], world[i * na + lat]);
    return out;
  };
  auto icrs_to_pix = [&](const std::vector<std::pair<double, double>>& pts) {
    std::vector<double> world;
    world.reserve(pts.size() * na);
    for (const auto& [lo, la] : pts) {
      auto wv = world_centre;
      const auto f = fits::from_icrs(frame, lo, la);
      wv[lng] = f.first, wv[lat] = f.second;
      world.insert(world.end(), wv.begin(), wv.end());
    }
    std::vector<double> pix;
    std::vector<int> stat;
    w.s2p(world, pix, stat);
    std::vector<std::optional<std::pair<double, double>>> out(pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i)
      if (!stat[i] && std::isfinite(pix[i * na + lng]) && std::isfinite(pix[i * na + lat]))
        out[i] = std::make_pair(pix[i * na + lng], pix[i * na + lat]);
    return out;
  };

  // Pixel scale (deg) at the centre.
  double scale = 1.0 / 3600.0;
  {
    const auto s = pix_to_icrs({{centre[lng], centre[lat]}, {centre[lng] + 1, centre[lat]}, {centre[lng], centre[lat] + 1}});
    if (s[0] && s[1] && s[2])
      scale = std::min(angular_distance_deg(s[0]->first, s[0]->second, s[1]->first, s[1]->second),
                       angular_distance_deg(s[0]->first, s[0]->second, s[2]->first, s[2]->second));
    if (!(scale > 0)) scale = 1.0 / 3600.0;
  }
  const double step = scale / 4.0;
  auto idx = [](double v) { return static_cast<long>(std::floor(v + 0.5)); };

  // Fast path, for a region whose boundary lies well inside the image (the
  // usual small CIRCLE or POLYGON): the boundary is sampled exactly as in (a)
  // below but without pruning (so at most kFastBudget points are tried). If
  // every sample maps at least 1 pixel inside the image, consecutive samples are
  // < 4 pixels apart (no projection discontinuity), and 8 probes on the image
  // border (corners and edge middles) are on the sky and outside the region,
  // then the border, which is connected and never meets the region's boundary,
  // lies wholly outside the region; so region and image meet exactly in the
  // interior of the sampled curve, and the box is the curve's bounding box. The
  // border ring and interior grid of (c) can only add points inside that box.
  {
    constexpr std::size_t kFastBudget = 1u << 15;
    constexpr int kInitial = 256;
    std::vector<std::pair<double, double>> curve;
    curve.reserve(4 * kInitial);
    bool within = true;
    struct Sample {
      std::pair<double, double> p;
      UnitVector v;
    };
    auto sample = [&](double t) {
      const auto p = geom.boundary_point(t);
      return Sample{p, unit_vector(p.first, p.second)};
    };
    // Same subdivision rule as (a) below, with the distances computed from
    // cached unit vectors (identical values, fewer trigonometric calls).
    auto rec = [&](auto& self, double t0, double t1, const Sample& s0, const Sample& s1, int depth) -> void {
      if (!within) return;
      const double len = angular_distance_deg(s0.v, s1.v);
      const double tm = 0.5 * (t0 + t1);
      const Sample sm = sample(tm);
      const double half = std::max(len, angular_distance_deg(s0.v, sm.v) * 2);
      if (half <= step || depth > 48) {
        curve.push_back(s0.p);
        if (curve.size() > kFastBudget) within = false;
        return;
      }
      self(self, t0, tm, s0, sm, depth + 1);
      self(self, tm, t1, sm, s1, depth + 1);
    };
    Sample prev = sample(0.0);
    const std::pair<double, double> first = prev.p;
    for (int i = 0; i < kInitial && within; ++i) {
      const double t0 = static_cast<double>(i) / kInitial, t1 = static_cast<double>(i + 1) / kInitial;
      const Sample next = sample(t1);
      rec(rec, t0, t1, prev, next, 0);
      prev = next;
    }
    if (within) {
      curve.push_back(prev.p);  // t = 1
      curve.push_back(first);  // close the curve
      const auto cpix = icrs_to_pix(curve);
      PixBox fast_box;
      bool inside = true;
      for (std::size_t i = 0; i < cpix.size() && inside; ++i) {
        const auto& q = cpix[i];
        if (!q || q->first < lox + 1 || q->first > hix - 1 || q->second < loy + 1 || q->second > hiy - 1) inside = false;
        else if (i > 0 && std::hypot(q->first - cpix[i - 1]->first, q->second - cpix[i - 1]->second) >= 4.0) inside = false;
        else fast_box.add(q->first, q->second);
      }
      if (inside) {
        const double mx = 0.5 * (lox + hix), my = 0.5 * (loy + hiy);
        const auto probes = pix_to_icrs({{lox, loy}, {hix, loy}, {hix, hiy}, {lox, hiy}, {mx, loy}, {hix, my}, {mx, hiy}, {lox, my}});
        for (const auto& q : probes)
          if (!q || geom.contains(q->first, q->second)) inside = false;
      }
      if (inside) {
        for (const auto& p : icrs_to_pix(geom.anchors()))
          if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy) fast_box.add(p->first, p->second);
        return std::array<long, 4>{std::clamp(idx(fast_box.xmin), 1L, nx), std::clamp(idx(fast_box.xmax), 1L, nx),
                                   std::clamp(idx(fast_box.ymin), 1L, ny), std::clamp(idx(fast_box.ymax), 1L, ny)};
      }
    }
  }

  PixBox box;
  // (c) image border (corners included) and an interior grid, kept where inside.
  std::vector<std::pair<double, double>> border;
  const long per_edge_x = std::min<long>(2 * nx, 2000), per_edge_y = std::min<long>(2 * ny, 2000);
  for (long i = 0; i <= per_edge_x; ++i) {
    const double px = lox + (hix - lox) * i / per_edge_x;
    border.emplace_back(px, loy), border.emplace_back(px, hiy);
  }
  for (long i = 0; i <= per_edge_y; ++i) {
    const double py = loy + (hiy - loy) * i / per_edge_y;
    border.emplace_back(lox, py), border.emplace_back(hix, py);
  }
  const std::size_t nborder = border.size();
  constexpr int kGrid = 33;
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j)
      border.emplace_back(lox + (hix - lox) * (i + 0.5) / kGrid, loy + (hiy - loy) * (j + 0.5) / kGrid);
  border.emplace_back(centre[lng], centre[lat]);
  const auto border_world = pix_to_icrs(border);
  const auto& c_world = border_world.back();
  double rho = 0;  // angular radius of the image around its centre
  for (std::size_t i = 0; i < border.size(); ++i) {
    if (!border_world[i]) continue;
    if (geom.contains(border_world[i]->first, border_world[i]->second)) box.add(border[i].first, border[i].second);
    if (c_world && i < nborder)
      rho = std::max(rho, angular_distance_deg(c_world->first, c_world->second, border_world[i]->first,
                                               border_world[i]->second));
  }
  if (!c_world) rho = 180.0;
  const double margin = 4 * scale;

  // (a) boundary, adaptively: refine only segments that may cross the image.
  std::vector<std::pair<double, double>> seg_pts;  // pairs of ICRS end points
  auto near_image = [&](const std::pair<double, double>& m, double len) {
    if (!c_world) return true;
    return angular_distance_deg(m.first, m.second, c_world->first, c_world->second) <= rho + len + margin;
  };
  std::size_t budget = 4'000'000;
  std::function<void(double, double, const std::pair<double, double>&, const std::pair<double, double>&, int)> refine =
      [&](double t0, double t1, const std::pair<double, double>& p0, const std::pair<double, double>& p1, int depth) {
        const double len = angular_distance_deg(p0.first, p0.second, p1.first, p1.second);
        const double tm = 0.5 * (t0 + t1);
        const auto pm = geom.boundary_point(tm);
        const double half = std::max(len, angular_distance_deg(p0.first, p0.second, pm.first, pm.second) * 2);
        if (!near_image(pm, half)) return;
        if (half <= step || depth > 48 || seg_pts.size() > budget) {
          seg_pts.push_back(p0), seg_pts.push_back(p1);
          return;
        }
        refine(t0, tm, p0, pm, depth + 1);
        refine(tm, t1, pm, p1, depth + 1);
      };
  constexpr int kInitial = 256;
  std::vector<std::pair<double, double>> init(kInitial + 1);
  for (int i = 0; i <= kInitial; ++i) init[i] = geom.boundary_point(static_cast<double>(i) / kInitial);
  for (int i = 0; i < kInitial; ++i)
    refine(static_cast<double>(i) / kInitial, static_cast<double>(i + 1) / kInitial, init[i], init[i + 1], 0);
  const auto seg_pix = icrs_to_pix(seg_pts);
  for (std::size_t i = 0; i + 1 < seg_pix.size(); i += 2) {
    const auto& a = seg_pix[i];
    const auto& b = seg_pix[i + 1];
    if (a && b) {
      double x0 = a->first, y0 = a->second, x1 = b->first, y1 = b->second;
      // Segments spanning a projection discontinuity (e.g. lon=180 of an all-sky
      // map) are not lines in pixel space: keep only their end points.
      if (std::hypot(x1 - x0, y1 - y0) > 4.0) {
        for (const auto& p : {a, b})
          if (p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy) box.add(p->first, p->second);
        continue;
      }
      if (clip_segment(x0, y0, x1, y1, lox, hix, loy, hiy)) box.add(x0, y0), box.add(x1, y1);
    } else {
      for (const auto& p : {a, b})
        if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy) box.add(p->first, p->second);
    }
  }
  // (b) anchors.
  const auto anchor_pix = icrs_to_pix(geom.anchors());
  for (const auto& p : anchor_pix)
    if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy) {
      // an anchor counts only if that sky point really is in the region
      box.add(p->first, p->second);
    }
  if (box.empty()) return std::nullopt;
  std::array<long, 4> r{std::clamp(idx(box.xmin), 1L, nx), std::clamp(idx(box.xmax), 1L, nx),
                        std::clamp(idx(box.ymin), 1L, ny), std::clamp(idx(box.ymax), 1L, ny)};
  return r;
}

// ---------------------------------------------------------------- HDU selection

bool same_celestial_reference(const HduInfo& a, const HduInfo& b) {
  for (const char* base : {"CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2"}) {
    const auto va = find_number(a.cards, base), vb = find_number(b.cards, base);
    if (va && vb && std::fabs(*va - *vb) > 1e-9 * std::max(1.0, std::fabs(*va))) return false;
  }
  return true;
}

bool has_celestial_ctype(const HduInfo& h) {
  const std::string c1 = find_string(h.cards, "CTYPE1");
  return c1.rfind("RA--", 0) == 0 || c1.rfind("GLON", 0) == 0;
}

std::vector<HduInfo> select_hdus(fitsfile* f, const std::string& path, const std::vector<int>& image_hdus,
                                 HduInfo& primary) {
  std::optional<std::uint64_t> file_size;
  if (!is_gzip(path)) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path, ec);
    if (!ec) file_size = n;
  }
  int nhdu = 0, status = 0;
  fits_get_num_hdus(f, &nhdu, &status);
  if (status) fits_fail("cannot count HDUs", status);
  std::vector<HduInfo> all;
  for (int i = 0; i < nhdu; ++i) all.push_back(read_hdu(f, i, file_size));
  primary = all[0];
  std::vector<HduInfo> out;
  if (!image_hdus.empty()) {
    for (int i : image_hdus) {
      if (i < 0 || i >= nhdu || !all[i].image)
        throw SodaError(500, "Error", "", "HDU " + std::to_string(i) + " is not an image with data");
      if (!out.empty() && all[i].naxes != out.front().naxes)
        throw SodaError(500, "Error", "", "HDU " + std::to_string(i) + " has another shape than HDU " +
                                              std::to_string(out.front().hdu));
      out.push_back(all[i]);
    }
  } else {
    const HduInfo* ref = nullptr;
    for (const auto& h : all)
      if (h.image && h.naxes.size() >= 2 && has_celestial_ctype(h)) {
        ref = &h;
        break;
      }
    if (!ref)
      for (const auto& h : all)
        if (h.image) {
          ref = &h;
          break;
        }
    if (!ref) throw SodaError(400, "UsageError", "ID", "the product has no image HDU with data to cut");
    out.push_back(*ref);
    for (const auto& h : all)
      if (h.hdu != ref->hdu && h.image && h.naxes == ref->naxes && same_celestial_reference(*ref, h)) out.push_back(h);
  }
  // HDU 0 (if cut) must stay first: it is the only one that can be primary.
  std::stable_sort(out.begin(), out.end(), [](const HduInfo& a, const HduInfo& b) { return (a.hdu == 0) > (b.hdu == 0); });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Cutout::Impl

struct Cutout::Impl {
  std::string path;
  bool gzip = false;
  bool meta = false;
  std::vector<AxisCut> axes;
  std::vector<CutHdu> hdus;
  std::vector<std::vector<std::string>> headers;  // per output HDU, cards without END
  std::vector<long long> data_start;               // per output HDU
  std::vector<bool> compressed;
  std::string history;
  std::string filename;
  std::uint64_t size = 0;

  std::uint64_t meta_size() const;
  std::string meta_text() const;
};

Cutout::Cutout() : impl_(std::make_unique<Impl>()) {}
Cutout::~Cutout() = default;
Cutout::Cutout(Cutout&&) noexcept = default;
Cutout& Cutout::operator=(Cutout&&) noexcept = default;

std::uint64_t Cutout::size_bytes() const { return impl_->size; }
std::string Cutout::content_type() const { return impl_->meta ? "text/plain" : "application/fits"; }
std::string Cutout::filename() const { return impl_->filename; }
const std::vector<AxisCut>& Cutout::axes() const { return impl_->axes; }
const std::vector<CutHdu>& Cutout::hdus() const { return impl_->hdus; }
const std::string& Cutout::history() const { return impl_->history; }
bool Cutout::is_meta() const { return impl_->meta; }

std::string Cutout::Impl::meta_text() const {
  std::string s;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    s += "# HDU " + std::to_string(i) + "\n";
    for (const auto& c : headers[i]) {
      const std::string k = card_key(c);
      if (k == "CHECKSUM" || k == "DATASUM") continue;
      s += c + "\n";
    }
    s += pad80("END") + "\n";
  }
  return s;
}

std::uint64_t Cutout::Impl::meta_size() const { return meta_text().size(); }

namespace {

/// Repairs two common real-world header faults that would make the output fail
/// fitsverify: DATE* values written "YYYY-MM-DD hh:mm:ss" (MPDAF) get the
/// standard 'T' separator, and WCSAXESa cards placed after other WCS keywords
/// (HST drizzlepac) move up right after the structural keywords (FITS WCS
/// Paper I section 2.2: WCSAXES must precede all other WCS keywords).
void repair_cards(std::vector<std::string>& cards) {
  for (auto& c : cards) {
    const std::string key = card_key(c);
    if (key.rfind("DATE", 0) != 0 || !has_value(c)) continue;
    const std::string raw = card_value(c);
    if (raw.empty() || raw.front() != '\'') continue;
    std::string v = string_value(raw);
    if (v.size() >= 19 && v[4] == '-' && v[7] == '-' && v[10] == ' ' && v[13] == ':') {
      v[10] = 'T';
      c = string_card(key, v, card_comment(c));
    }
  }
  std::vector<std::string> wcsaxes;
  std::size_t structural_end = 0;
  for (std::size_t i = 0; i < cards.size(); ++i) {
    const std::string key = card_key(cards[i]);
    if (key == "SIMPLE" || key == "XTENSION" || key == "BITPIX" || key.rfind("NAXIS", 0) == 0 || key == "PCOUNT" ||
        key == "GCOUNT")
      structural_end = i + 1;
    else
      break;
  }
  for (std::size_t i = structural_end; i < cards.size();) {
    if (card_key(cards[i]).rfind("WCSAXES", 0) == 0) {
      wcsaxes.push_back(cards[i]);
      cards.erase(cards.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  cards.insert(cards.begin() + static_cast<long>(structural_end), wcsaxes.begin(), wcsaxes.end());
}

/// Builds the output header of a cut HDU from the input cards.
std::vector<std::string> cut_header(const std::vector<std::string>& in, const std::vector<AxisCut>& axes,
                                    const std::vector<std::string>& history) {
  std::vector<std::string> out;
  for (const auto& card : in) {
    const std::string key = card_key(card);
    if (key == "CHECKSUM" || key == "DATASUM" || key == "END") continue;
    if (has_value(card)) {
      auto axis_of = [&](const std::string& prefix) -> int {  // PREFIX<j>[a] -> j (1-based) or 0
        if (key.rfind(prefix, 0) != 0) return 0;
        std::string rest = key.substr(prefix.size());
        if (!rest.empty() && std::isupper(static_cast<unsigned char>(rest.back())) && rest.size() > 1) rest.pop_back();
        if (rest.empty() || !std::all_of(rest.begin(), rest.end(), ::isdigit)) return 0;
        return std::stoi(rest);
      };
      const int jn = axis_of("NAXIS");
      if (jn >= 1 && jn <= static_cast<int>(axes.size()) && key == "NAXIS" + std::to_string(jn)) {
        out.push_back(value_card(key, std::to_string(axes[jn - 1].count), card_comment(card)));
        continue;
      }
      const int jp = axis_of("CRPIX");
      if (jp >= 1 && jp <= static_cast<int>(axes.size())) {
        if (auto v = number_value(card_value(card))) {
          const auto& a = axes[jp - 1];
          const double nv = (*v - 1.0 - a.first) / a.step + 1.0;
          out.push_back(value_card(key, format_real(nv), card_comment(card)));
          continue;
        }
      }
      const int jd = axis_of("CDELT");
      if (jd >= 1 && jd <= static_cast<int>(axes.size()) && axes[jd - 1].step != 1) {
        if (auto v = number_value(card_value(card))) {
          out.push_back(value_card(key, format_real(*v * axes[jd - 1].step), card_comment(card)));
          continue;
        }
      }
      if (key.rfind("CD", 0) == 0 && key.size() >= 5 && key.find('_') != std::string::npos && key[2] != 'E') {
        // CDi_j[a]: scale column j by the step.
        std::string j = key.substr(key.find('_') + 1);
        if (!j.empty() && std::isupper(static_cast<unsigned char>(j.back()))) j.pop_back();
        if (!j.empty() && std::all_of(j.begin(), j.end(), ::isdigit)) {
          const int jj = std::stoi(j);
          if (jj >= 1 && jj <= static_cast<int>(axes.size()) && axes[jj - 1].step != 1)
            if (auto v = number_value(card_value(card))) {
              out.push_back(value_card(key, format_real(*v * axes[jj - 1].step), card_comment(card)));
              continue;
            }
        }
      }
    }
    out.push_back(card);
  }
  repair_cards(out);
  for (const auto& h : history) out.push_back(h);
  out.push_back(string_card("DATASUM", "0", "data unit checksum"));
  out.push_back(string_card("CHECKSUM", "0000000000000000", "HDU checksum (FITS 4.0 Appendix J)"));
  return out;
}

/// Output header of the kept primary HDU of a multi-extension product.
std::vector<std::string> primary_header(const std::vector<std::string>& in, const std::vector<std::string>& history) {
  std::vector<std::string> out;
  for (const auto& card : in) {
    const std::string key = card_key(card);
    if (key == "CHECKSUM" || key == "DATASUM" || key == "END") continue;
    if (key == "NAXIS") {
      out.push_back(value_card("NAXIS", "0", card_comment(card)));
      continue;
    }
    if (key.rfind("NAXIS", 0) == 0 && key.size() > 5 && std::all_of(key.begin() + 5, key.end(), ::isdigit)) continue;
    if (key == "BZERO" || key == "BSCALE" || key == "BLANK") continue;
    out.push_back(card);
  }
  repair_cards(out);
  for (const auto& h : history) out.push_back(h);
  out.push_back(string_card("DATASUM", "0", "data unit checksum"));
  out.push_back(string_card("CHECKSUM", "0000000000000000", "HDU checksum (FITS 4.0 Appendix J)"));
  return out;
}

std::string file_stem(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  for (const char* ext : {".gz", ".fz", ".fits", ".fit", ".fts"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      name.erase(name.size() - e.size());
  }
  for (auto& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+')) c = '_';
  return name;
}

[[noreturn]] void no_overlap(const std::string& what) {
  throw SodaError(204, "NoOverlap", "", "the cutout contains no pixel of the product (" + what + ")");
}

}  // namespace

Cutout plan_cutout(const std::string& fits_path, const std::vector<int>& image_hdus, const Params& params) {
  auto f = open_fits(fits_path);
  HduInfo primary;
  const std::vector<HduInfo> hdus = select_hdus(f.get(), fits_path, image_hdus, primary);
  const HduInfo& ref = hdus.front();
  const long naxis = static_cast<long>(ref.naxes.size());
  const Wcs wcs = load_wcs(ref);
  const wcsprm* w = wcs.get();

  std::vector<AxisCut> axes(naxis);
  for (long i = 0; i < naxis; ++i) axes[i] = {0, ref.naxes[i], 1};
  auto restrict_axis = [&](int i, long lo1, long hi1, const std::string& what) {  // 1-based inclusive
    const long a = std::max(lo1, axes[i].first + 1), b = std::min(hi1, axes[i].first + axes[i].count);
    if (a > b) no_overlap(what);
    axes[i].first = a - 1;
    axes[i].count = b - a + 1;
  };
  std::vector<std::string> notes;

  // Spatial filters.
  for (const auto& region : params.regions) {
    if (!w || w->lng < 0 || w->lat < 0 || w->lng >= naxis || w->lat >= naxis)
      throw SodaError(400, "UsageError", region.parameter, "the product has no celestial WCS to cut on");
    const auto box = spatial_box(wcs, ref.naxes, region);
    if (!box) no_overlap(region.parameter + " outside the image");
    restrict_axis(w->lng, (*box)[0], (*box)[1], region.parameter);
    restrict_axis(w->lat, (*box)[2], (*box)[3], region.parameter);
  }
  // BAND.
  if (params.band) {
    if (!w || w->spec < 0 || w->spec >= naxis)
      throw SodaError(400, "UsageError", "BAND", "the product has no spectral axis");
    const auto edges = fits::channel_edges(wcs, ref.naxes);
    const int s = w->spec;
    long lo = -1, hi = -1;
    for (long k = 0; k < ref.naxes[s]; ++k) {
      const double a = std::min(edges[k], edges[k + 1]), b = std::max(edges[k], edges[k + 1]);
      if (std::isnan(a) || std::isnan(b))
        throw SodaError(400, "UsageError", "BAND",
                        "the spectral axis (" + wcs.ctype(s) + ") cannot be converted to vacuum wavelength" +
                            (wcs.ctype(s).rfind("V", 0) == 0 ? " (no rest frequency in the header)" : ""));
      if (a <= params.band->hi && b > params.band->lo) {
        if (lo < 0) lo = k;
        hi = k;
      }
    }
    if (lo < 0) no_overlap("BAND outside the spectral coverage");
    restrict_axis(s, lo + 1, hi + 1, "BAND");
  }
  // TIME: the product's own time span.
  if (params.time) {
    const Interval t = product_time(primary, ref);
    if (std::isnan(t.lo)) {
      notes.push_back("TIME not applied: the product has no time metadata");
    } else {
      const double hi = std::isnan(t.hi) ? t.lo : t.hi;
      if (t.lo > params.time->hi || hi < params.time->lo) no_overlap("TIME outside the product's time span");
    }
  }
  // POL.
  if (!params.pol.empty()) {
    const int si = wcs.stokes();
    if (si < 0) throw SodaError(400, "UsageError", "POL", "the product has no STOKES axis");
    const auto labels = stokes_planes(wcs, ref.naxes);
    auto wanted = [&](const char* label) {
      return label && std::find(params.pol.begin(), params.pol.end(), label) != params.pol.end();
    };
    if (si >= naxis) {
      // Degenerate STOKES axis: the whole product is in its one state.
      if (!wanted(labels.front())) no_overlap("POL states not in the product");
      notes.push_back(std::string("POL: the product holds the single state ") + labels.front() +
                      " (STOKES axis " + std::to_string(si + 1) + " beyond NAXIS)");
    } else {
      const long n = ref.naxes[si];
      std::vector<long> picked;
      for (long k = 0; k < n; ++k) {
        if (wanted(labels[k]) && k >= axes[si].first && k < axes[si].first + axes[si].count) picked.push_back(k);
      }
      if (picked.empty()) no_overlap("POL states not in the product");
      long step = picked.size() > 1 ? picked[1] - picked[0] : 1;
      for (std::size_t i = 1; i < picked.size(); ++i)
        if (picked[i] - picked[i - 1] != step) step = 0;
      if (step <= 0) {
        step = 1;
        notes.push_back("POL: the requested planes are not evenly spaced; planes in between are included");
        axes[si] = {picked.front(), picked.back() - picked.front() + 1, 1};
      } else {
        axes[si] = {picked.front(), static_cast<long>(picked.size()), step};
      }
    }
  }
  // PIXEL_n.
  for (const auto& [axis, range] : params.pixel) {
    if (axis > naxis)
      throw SodaError(400, "UsageError", "PIXEL_" + std::to_string(axis),
                      "the product has only " + std::to_string(naxis) + " axes");
    if (axes[axis - 1].step != 1) {
      // Stokes axis already strided by POL: keep the planes within range.
      std::vector<long> keep;
      for (long m = 0; m < axes[axis - 1].count; ++m) {
        const long k = axes[axis - 1].first + m * axes[axis - 1].step;
        if (k + 1 >= range.first && k + 1 <= range.second) keep.push_back(k);
      }
      if (keep.empty()) no_overlap("PIXEL_" + std::to_string(axis));
      axes[axis - 1] = {keep.front(), static_cast<long>(keep.size()), keep.size() > 1 ? axes[axis - 1].step : 1};
    } else {
      restrict_axis(axis - 1, range.first, range.second, "PIXEL_" + std::to_string(axis));
    }
  }

  Cutout cut;
  auto& im = *cut.impl_;
  im.path = fits_path;
  im.gzip = is_gzip(fits_path);
  im.meta = params.meta;
  im.axes = axes;
  std::ostringstream ranges;
  for (long i = 0; i < naxis; ++i) ranges << (i ? "," : "") << axes[i].fits_first() << ":" << axes[i].fits_last();
  const std::string req = params.describe();
  im.history = "voserver SODA cutout of " + std::filesystem::path(fits_path).filename().string() + "\n" +
               "request: " + (req.empty() ? std::string("(whole product)") : req) + "\n" +
               "kept pixels (1-based, FITS axis order" + std::string(axes.size() && std::any_of(axes.begin(), axes.end(), [](const AxisCut& a) { return a.step != 1; }) ? ", with step" : "") +
               "): [" + ranges.str() + "]";
  for (const auto& n : notes) im.history += "\n" + n;
  const auto hist = history_cards(im.history);

  if (ref.hdu != 0) {
    CutHdu p;
    p.hdu = 0;
    p.extname = primary.extname;
    p.bitpix = primary.bitpix;
    p.cut = false;
    im.headers.push_back(primary_header(primary.cards, hist));
    im.hdus.push_back(p);
    im.data_start.push_back(0);
    im.compressed.push_back(false);
  }
  for (const auto& h : hdus) {
    CutHdu c;
    c.hdu = h.hdu;
    c.extname = h.extname;
    c.bitpix = h.bitpix;
    c.naxes = h.naxes;
    c.cut = true;
    std::uint64_t npix = 1;
    for (const auto& a : axes) npix *= static_cast<std::uint64_t>(a.count);
    c.data_bytes = npix * static_cast<std::uint64_t>(std::abs(h.bitpix) / 8);
    im.headers.push_back(cut_header(h.cards, axes, hist));
    im.hdus.push_back(c);
    im.data_start.push_back(h.data_start);
    im.compressed.push_back(h.compressed);
  }
  im.size = 0;
  for (std::size_t i = 0; i < im.hdus.size(); ++i) {
    im.hdus[i].header_bytes = pad_block((im.headers[i].size() + 1) * 80);
    im.size += im.hdus[i].header_bytes + pad_block(im.hdus[i].data_bytes);
  }
  std::ostringstream fn;
  fn << file_stem(fits_path) << "_cut";
  for (const auto& a : axes) fn << "_" << a.fits_first() << "-" << a.fits_last();
  fn << (im.meta ? ".txt" : ".fits");
  im.filename = fn.str();
  if (im.meta) im.size = im.meta_size();
  return cut;
}

// ---------------------------------------------------------------- writing

namespace {

/// Reads byte ranges of an uncompressed file with pread(): long ranges straight
/// into the caller's buffer, short runs through a span buffer that is filled
/// with one read covering the following runs of the same group (the rows of
/// a box within one plane) when the gaps between them are small. The kernel
/// copies from the page cache through its direct mapping: no page faults or
/// TLB misses on the caller's side, and no mapped file pages in the resident
/// set.
class RawFile {
 public:
  explicit RawFile(const std::string& path) : span_(new char[kSpanBuffer]) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw SodaError(500, "Error", "", "cannot open the product file: " + std::string(std::strerror(errno)));
  }
  ~RawFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;

  /// Copies bytes [pos, pos+len) to dst; `ahead` (>= pos+len) is the end of the
  /// byte range worth reading in the same request (the end of the current
  /// group of runs), or pos+len for none.
  void copy(char* dst, std::uint64_t pos, std::size_t len, std::uint64_t ahead) {
    if (pos >= span_pos_ && pos + len <= span_pos_ + span_len_) {
      std::memcpy(dst, span_.get() + (pos - span_pos_), len);
      return;
    }
    const std::uint64_t want = std::min<std::uint64_t>(ahead - pos, kSpanBuffer);
    if (len >= kDirectRead || want <= len) {
      read_full(dst, pos, len);
      return;
    }
    span_len_ = 0;
    read_full(span_.get(), pos, static_cast<std::size_t>(want));
    span_pos_ = pos, span_len_ = static_cast<std::size_t>(want);
    std::memcpy(dst, span_.get(), len);
  }

 private:
  void read_full(char* dst, std::uint64_t pos, std::size_t len) {
    while (len > 0) {
      const ssize_t n = ::pread(fd_, dst, len, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw SodaError(500, "Error", "",
                        n < 0 ? "cannot read the product file: " + std::string(std::strerror(errno))
                              : std::string("the product file is truncated"));
      dst += n, pos += static_cast<std::uint64_t>(n), len -= static_cast<std::size_t>(n);
    }
  }
  int fd_ = -1;
  std::unique_ptr<char[]> span_;
  std::uint64_t span_pos_ = 0;
  std::size_t span_len_ = 0;
};

/// Walks the pixels of a box in file order as contiguous runs of pixels (a run
/// is one row of the box; consecutive rows merge into one run when the box
/// spans full rows or planes) and copies them into caller buffers. Copyable:
/// a copy resumes where the original was.
class BoxCursor {
 public:
  BoxCursor(const std::vector<long>& naxes, const std::vector<AxisCut>& axes)
      : axes_(axes), stride_(naxes.size(), 1), idx_(naxes.size(), 0), run_(static_cast<std::uint64_t>(axes[0].count)) {
    for (std::size_t i = 1; i < naxes.size(); ++i) stride_[i] = stride_[i - 1] * static_cast<std::uint64_t>(naxes[i - 1]);
    exhausted_ = std::any_of(axes.begin(), axes.end(), [](const AxisCut& a) { return a.count <= 0; });
    cur_ = first_offset();
  }

  /// Copies up to max_pixels next pixels with
  /// copy(dst, pixel_offset, npix, group_end) (pixel offsets counted from the
  /// first pixel of the data unit; group_end: end of the remaining runs of the
  /// current row group if the gaps between them are at most kMaxGap bytes,
  /// else the end of this run); returns the number of pixels copied (0 at the
  /// end of the box).
  template <class Copy>
  std::uint64_t fill(char* dst, std::uint64_t max_pixels, std::size_t bytes_per_pixel, Copy&& copy) {
    std::uint64_t done = 0;
    while (done < max_pixels) {
      if (left_ == 0 && !next_run(bytes_per_pixel)) break;
      const std::uint64_t k = std::min(left_, max_pixels - done);
      copy(dst + done * bytes_per_pixel, off_, k, group_end_);
      off_ += k, left_ -= k, done += k;
    }
    return done;
  }

 private:
  std::uint64_t first_offset() const {
    std::uint64_t off = static_cast<std::uint64_t>(axes_[0].first);
    for (std::size_t i = 1; i < idx_.size(); ++i) off += static_cast<std::uint64_t>(axes_[i].first) * stride_[i];
    return off;
  }
  /// Next row of the box: the counters advance like an odometer and cur_
  /// follows (+step*stride, or back to the axis start on wrap-around).
  void step() {
    std::size_t i = 1;
    for (; i < idx_.size(); ++i) {
      const std::uint64_t jump = static_cast<std::uint64_t>(axes_[i].step) * stride_[i];
      if (++idx_[i] < axes_[i].count) {
        cur_ += jump;
        break;
      }
      cur_ -= static_cast<std::uint64_t>(axes_[i].count - 1) * jump;
      idx_[i] = 0;
    }
    if (i >= idx_.size()) exhausted_ = true;
  }
  bool next_run(std::size_t bytes_per_pixel) {
    if (exhausted_) return false;
    off_ = cur_;
    left_ = run_;
    group_end_ = off_ + run_;
    if (idx_.size() >= 2) {
      const std::uint64_t row = stride_[1] * static_cast<std::uint64_t>(axes_[1].step);
      const std::uint64_t rows_left = static_cast<std::uint64_t>(axes_[1].count - idx_[1]);
      if ((row - run_) * bytes_per_pixel <= kMaxGap) group_end_ = off_ + (rows_left - 1) * row + run_;
    }
    step();
    while (!exhausted_ && cur_ == off_ + left_) {
      left_ += run_;
      step();
    }
    group_end_ = std::max(group_end_, off_ + left_);
    return true;
  }

  std::vector<AxisCut> axes_;
  std::vector<std::uint64_t> stride_;
  std::vector<long> idx_;  // counters over axes 1..n-1 (idx_[0] unused)
  std::uint64_t run_;
  std::uint64_t off_ = 0, left_ = 0;  // current run: next pixel, pixels left
  std::uint64_t group_end_ = 0;       // see fill()
  std::uint64_t cur_ = 0;             // offset of the row at idx_
  bool exhausted_ = false;
};

int fits_datatype(int bitpix) {
  switch (bitpix) {
    case 8: return TBYTE;
    case 16: return TSHORT;
    case 32: return TINT;
    case 64: return TLONGLONG;
    case -32: return TFLOAT;
    case -64: return TDOUBLE;
    default: return 0;
  }
}

void to_big_endian(char* p, std::size_t nbytes, int size) {
  if (size == 1) return;
  for (std::size_t i = 0; i + size <= nbytes; i += size) std::reverse(p + i, p + i + size);
}

/// Output buffer in front of the sink: small pieces (headers, padding) are
/// gathered into chunks of kChunk bytes; large ready-made blocks go to the sink
/// directly.
class Out {
 public:
  explicit Out(const std::function<bool(const char*, std::size_t)>& sink)
      : sink_(sink), buf_(new char[kChunk]) {}
  bool put(const char* p, std::size_t n) {
    while (n > 0) {
      if (pos_ == kChunk && !flush()) return false;
      const std::size_t k = std::min(n, kChunk - pos_);
      std::memcpy(buf_.get() + pos_, p, k);
      pos_ += k, p += k, n -= k;
    }
    return !stopped_;
  }
  bool zeros(std::size_t n) {
    while (n > 0) {
      if (pos_ == kChunk && !flush()) return false;
      const std::size_t k = std::min(n, kChunk - pos_);
      std::memset(buf_.get() + pos_, 0, k);
      pos_ += k, n -= k;
    }
    return !stopped_;
  }
  /// Sends n bytes at p without copying them (after what is buffered), in
  /// pieces of at most 4 * kChunk.
  bool direct(const char* p, std::size_t n) {
    if (!flush()) return false;
    while (n > 0) {
      const std::size_t k = std::min(n, 4 * kChunk);
      if (!sink_(p, k)) return stop();
      p += k, n -= k;
    }
    return true;
  }
  /// Free space at the end of the buffer (flushing first if less than
  /// `at_least` bytes are free); fill it, then commit().
  char* room(std::size_t at_least, std::size_t& size) {
    if (kChunk - pos_ < at_least && !flush()) {
      size = 0;
      return nullptr;
    }
    size = kChunk - pos_;
    return buf_.get() + pos_;
  }
  void commit(std::size_t n) { pos_ += n; }
  bool flush() {
    if (stopped_) return false;
    if (pos_ == 0) return true;
    const bool ok = sink_(buf_.get(), pos_);
    pos_ = 0;
    return ok ? true : stop();
  }

 private:
  bool stop() {
    stopped_ = true;
    return false;
  }
  const std::function<bool(const char*, std::size_t)>& sink_;
  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0;
  bool stopped_ = false;
};

/// Copies the (big-endian, stored-value) pixels of the cut HDUs: straight from
/// the memory-mapped file for uncompressed files, through CFITSIO
/// (fits_read_pix without scaling, then byte swapping) for tile-compressed and
/// gzip files.
class PixelSource {
 public:
  PixelSource(const std::string& path, bool use_cfitsio) : cfitsio_(use_cfitsio) {
    if (cfitsio_) f_ = open_fits(path);
    else raw_ = std::make_unique<RawFile>(path);
  }

  /// Selects the HDU the next copy() calls read.
  void select(const CutHdu& h, long long data_start) {
    h_ = &h;
    data_start_ = static_cast<std::uint64_t>(data_start);
    bpp_ = static_cast<std::size_t>(std::abs(h.bitpix) / 8);
    if (!cfitsio_) return;
    int status = 0, type = 0;
    fits_movabs_hdu(f_.get(), h.hdu + 1, &type, &status);
    fits_set_bscale(f_.get(), 1.0, 0.0, &status);  // stored values, no scaling
    if (status) fits_fail("cannot read HDU " + std::to_string(h.hdu), status);
  }
  std::size_t bytes_per_pixel() const { return bpp_; }
  /// Copies npix pixels starting at pixel_offset of the selected HDU's data
  /// (group_end: see BoxCursor::fill).
  void operator()(char* dst, std::uint64_t pixel_offset, std::uint64_t npix, std::uint64_t group_end) {
    if (!cfitsio_) {
      raw_->copy(dst, data_start_ + pixel_offset * bpp_, static_cast<std::size_t>(npix * bpp_), data_start_ + group_end * bpp_);
      return;
    }
    const std::size_t n = h_->naxes.size();
    long fpixel[9];
    std::uint64_t rest = pixel_offset;
    for (std::size_t i = 0; i < n && i < 9; ++i) {
      fpixel[i] = static_cast<long>(rest % static_cast<std::uint64_t>(h_->naxes[i])) + 1;
      rest /= static_cast<std::uint64_t>(h_->naxes[i]);
    }
    int anynul = 0, st = 0;
    fits_read_pix(f_.get(), fits_datatype(h_->bitpix), fpixel, static_cast<LONGLONG>(npix), nullptr, dst, &anynul, &st);
    if (st) fits_fail("cannot read pixels of HDU " + std::to_string(h_->hdu), st);
    to_big_endian(dst, static_cast<std::size_t>(npix * bpp_), static_cast<int>(bpp_));
  }

 private:
  bool cfitsio_;
  FitsPtr f_;
  std::unique_ptr<RawFile> raw_;
  const CutHdu* h_ = nullptr;
  std::uint64_t data_start_ = 0;
  std::size_t bpp_ = 1;
};

}  // namespace

bool Cutout::write(const std::function<bool(const char* data, std::size_t n)>& sink) {
  Impl& im = *impl_;
  if (im.meta) {
    const std::string text = im.meta_text();
    return sink(text.data(), text.size());
  }
  const bool use_cfitsio = im.gzip || std::any_of(im.compressed.begin(), im.compressed.end(), [](bool c) { return c; });
  PixelSource src(im.path, use_cfitsio);
  Out out(sink);
  // The first kRetain bytes of each HDU's data are kept from the checksum pass
  // and sent from memory; only the rest is read a second time.
  std::uint64_t retain_size = 0;
  for (const auto& h : im.hdus)
    if (h.cut) retain_size = std::max<std::uint64_t>(retain_size, std::min<std::uint64_t>(h.data_bytes, kRetain));
  std::unique_ptr<char[]> retained(retain_size ? new char[retain_size] : nullptr);
  std::unique_ptr<char[]> scratch;
  for (std::size_t i = 0; i < im.hdus.size(); ++i) {
    const CutHdu& h = im.hdus[i];
    std::uint32_t datasum = 0;
    std::optional<BoxCursor> resume;
    std::uint64_t kept = 0;
    if (h.cut) {
      src.select(h, im.data_start[i]);
      const std::size_t bpp = src.bytes_per_pixel();
      OnesComplementSum sum;
      BoxCursor cursor(h.naxes, im.axes);
      // Retained part, summed piece by piece while the piece is in cache.
      const std::uint64_t keep = std::min<std::uint64_t>(h.data_bytes, kRetain) / bpp * bpp;
      while (kept < keep) {
        const std::uint64_t n = cursor.fill(retained.get() + kept, std::min<std::uint64_t>(keep - kept, kChunk) / bpp, bpp, src) * bpp;
        if (n == 0) break;
        sum.add(retained.get() + kept, static_cast<std::size_t>(n));
        kept += n;
      }
      resume = cursor;
      if (kept < h.data_bytes) {
        if (!scratch) scratch.reset(new char[kChunk]);
        while (const std::uint64_t n = cursor.fill(scratch.get(), kChunk / bpp, bpp, src))
          sum.add(scratch.get(), static_cast<std::size_t>(n * bpp));
      }
      datasum = sum.value();
    }
    std::vector<std::string> cards = im.headers[i];
    for (auto& c : cards)
      if (card_key(c) == "DATASUM") c = string_card("DATASUM", std::to_string(datasum), "data unit checksum");
    std::string header;
    header.reserve(h.header_bytes);
    for (const auto& c : cards) header += c;
    header += pad80("END");
    header.resize(h.header_bytes, ' ');
    OnesComplementSum hs;
    hs.add(header.data(), header.size());
    const std::string encoded = checksum_encode(ones_complement_add(hs.value(), datasum));
    const std::size_t pos = header.find("CHECKSUM= '0000000000000000'");
    if (pos != std::string::npos && pos % 80 == 0) header.replace(pos + 11, 16, encoded);
    if (!out.put(header.data(), header.size())) return false;
    if (h.cut) {
      if (!out.direct(retained.get(), static_cast<std::size_t>(kept))) return false;
      const std::size_t bpp = src.bytes_per_pixel();
      for (std::uint64_t sent = kept; sent < h.data_bytes;) {
        std::size_t room = 0;
        char* p = out.room(bpp, room);
        if (!p) return false;
        const std::uint64_t n = resume->fill(p, room / bpp, bpp, src);
        if (n == 0) throw SodaError(500, "Error", "", "internal error: cutout data shorter than planned");
        out.commit(static_cast<std::size_t>(n * bpp));
        sent += n * bpp;
      }
      if (!out.zeros(pad_block(h.data_bytes) - h.data_bytes)) return false;
    }
  }
  return out.flush();
}

// ---------------------------------------------------------------- bounds

Bounds describe_bounds(const std::string& fits_path, const std::vector<int>& image_hdus) {
  auto f = open_fits(fits_path);
  HduInfo primary;
  const auto hdus = select_hdus(f.get(), fits_path, image_hdus, primary);
  const HduInfo& ref = hdus.front();
  Bounds b;
  b.naxes = ref.naxes;
  for (const auto& h : hdus) b.image_hdus.push_back(h.hdu);
  const Wcs wcs = load_wcs(ref);
  // The same bounds as the ObsCore row (fits::product_bounds for both).
  const fits::FitsHeader product(card_block(ref.cards)), prim(card_block(primary.cards));
  const fits::ProductBounds pb = fits::product_bounds(wcs, ref.naxes, product, ref.hdu == 0 ? nullptr : &prim);
  const long naxis = static_cast<long>(ref.naxes.size());
  if (pb.footprint && pb.footprint->centre && wcs.lng() < naxis && wcs.lat() < naxis) {
    b.polygon = pb.footprint->polygon;
    b.circle_lon = pb.footprint->centre->first;
    b.circle_lat = pb.footprint->centre->second;
    b.circle_radius = pb.footprint->radius;
    if (b.polygon.empty()) {
      // No corner polygon (all-sky maps): a sampled border, for MAX of POLYGON.
      const int lng = wcs.lng(), lat = wcs.lat(), na = wcs.naxis();
      const double x0 = 0.5, x1 = ref.naxes[lng] + 0.5, y0 = 0.5, y1 = ref.naxes[lat] + 0.5;
      const auto base = fits::base_pixel(wcs, ref.naxes);
      const fits::FrameSpec frame = fits::frame_of(wcs.get());
      std::vector<double> pix, world;
      std::vector<int> stat;
      constexpr int k = 16;
      auto add = [&](double x, double y) {
        auto p = base;
        p[lng] = x, p[lat] = y;
        pix.insert(pix.end(), p.begin(), p.end());
      };
      for (int i = 0; i < k; ++i) add(x0 + (x1 - x0) * i / k, y0);
      for (int i = 0; i < k; ++i) add(x1, y0 + (y1 - y0) * i / k);
      for (int i = 0; i < k; ++i) add(x1 - (x1 - x0) * i / k, y1);
      for (int i = 0; i < k; ++i) add(x0, y1 - (y1 - y0) * i / k);
      wcs.p2s(pix, world, stat);
      for (std::size_t i = 0; i < stat.size(); ++i)
        if (!stat[i]) b.polygon.push_back(fits::to_icrs(frame, world[i * na + lng], world[i * na + lat]));
    }
  }
  b.band = pb.band;
  b.time = pb.time;
  b.pol = pb.pol;
  return b;
}

}  // namespace vo::soda
