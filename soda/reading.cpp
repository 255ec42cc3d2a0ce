// Reading the pixels of a cutout: the out-of-line parts of RawFile and
// PixelSource (opening, the pread loop, the CFITSIO path). See reading.hpp.
#include "soda/reading.hpp"

#include <fcntl.h>
#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace vo::soda::detail {

namespace {

/// The CFITSIO datatype code (TBYTE...TDOUBLE) reading values of BITPIX
/// `bitpix` as stored; 0 for an invalid BITPIX.
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

/// Reverses the bytes of each `size`-byte value in p[0, nbytes): native
/// (little-endian) values as read by CFITSIO -> FITS big-endian order.
void to_big_endian(char* p, std::size_t nbytes, int size) {
    if (size == 1) return;
    for (std::size_t i = 0; i + size <= nbytes; i += size) std::reverse(p + i, p + i + size);
}

}  // namespace

namespace {
/// The buffers PooledBuffer keeps for this thread.
thread_local std::vector<std::unique_ptr<char[]>> t_pool;
}  // namespace

PooledBuffer::PooledBuffer() {
    if (t_pool.empty()) {
        p_.reset(new char[kSpanBuffer]);
    } else {
        p_ = std::move(t_pool.back());
        t_pool.pop_back();
    }
}

PooledBuffer::~PooledBuffer() {
    if (t_pool.size() < kPooledBuffers) t_pool.push_back(std::move(p_));
}

RawFile::RawFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        throw SodaError(500, "Error", "", "cannot open the product file: " + std::string(std::strerror(errno)));
}

RawFile::~RawFile() {
    if (fd_ >= 0) ::close(fd_);
}

void RawFile::read_full(char* dst, std::uint64_t pos, std::size_t len) {
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

PixelSource::PixelSource(const std::string& path, bool use_cfitsio) : cfitsio_(use_cfitsio) {
    if (cfitsio_)
        f_ = open_fits(path);
    else
        raw_ = std::make_unique<RawFile>(path);
}

void PixelSource::select(const CutHdu& h, long long data_start) {
    h_ = &h;
    data_start_ = static_cast<std::uint64_t>(data_start);
    bpp_ = static_cast<std::size_t>(std::abs(h.bitpix) / 8);
    if (!cfitsio_) return;
    int status = 0, type = 0;
    fits_movabs_hdu(f_.get(), h.hdu + 1, &type, &status);
    fits_set_bscale(f_.get(), 1.0, 0.0, &status);  // stored values, no scaling
    if (status) fits_fail("cannot read HDU " + std::to_string(h.hdu), status);
}

void PixelSource::read_cfitsio(char* dst, std::uint64_t pixel_offset, std::uint64_t npix) {
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

}  // namespace vo::soda::detail
