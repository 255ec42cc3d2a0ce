// Reading the pixels of a cutout: the box of an N-dimensional image walked in
// file order as contiguous runs (BoxCursor), copied from an uncompressed file
// with pread (RawFile) or through CFITSIO for tile-compressed and gzip files
// (PixelSource). Used by Cutout::write (output.cpp); see the reading strategy
// documented there (soda/cutout.hpp).
//
// Performance: these are the cutout's inner loops. BoxCursor::fill is a
// template over the copy function and everything it calls per run is defined
// inline here (no virtual call and no extra copy per pixel or per run); only
// the system call, the CFITSIO path and set-up are out of line (reading.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

inline constexpr std::size_t kSpanBuffer = 1u << 20;   ///< pread buffer for short runs of a row group (bytes)
inline constexpr std::size_t kDirectRead = 64u << 10;  ///< runs this long are read straight into the output (bytes)
inline constexpr std::size_t kMaxGap = 16u << 10;      ///< largest gap (bytes) between runs read over in one pread

/// A kSpanBuffer-byte buffer lent from a small per-thread pool and given back
/// when the lease ends: the cutout's read, checksum and output buffers stay
/// allocated, their pages mapped, between the cutouts one worker thread makes,
/// instead of being allocated, faulted in and unmapped for each (issue 14:
/// page faults on fresh buffers were a fifth of a small cutout's time on this
/// VM). A thread keeps at most kPooledBuffers of them (3 MiB).
class PooledBuffer {
public:
    PooledBuffer();
    ~PooledBuffer();
    PooledBuffer(const PooledBuffer&) = delete;
    PooledBuffer& operator=(const PooledBuffer&) = delete;
    /// The buffer (kSpanBuffer bytes, uninitialised).
    char* get() const { return p_.get(); }

private:
    std::unique_ptr<char[]> p_;
};
inline constexpr std::size_t kPooledBuffers = 3;  ///< kept per thread by PooledBuffer

/// Reads byte ranges of an uncompressed file with pread(): long ranges straight
/// into the caller's buffer, short runs through a span buffer that is filled
/// with one read covering the following runs of the same group (the rows of
/// a box within one plane) when the gaps between them are small. The kernel
/// copies from the page cache through its direct mapping: no page faults or
/// TLB misses on the caller's side, and no mapped file pages in the resident
/// set.
class RawFile {
public:
    /// Opens `path` read-only. Throws SodaError(500, "Error") if it cannot.
    explicit RawFile(const std::string& path);
    ~RawFile();
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
    /// Reads exactly `len` bytes at byte `pos` into dst (pread, EINTR retried).
    /// Throws SodaError(500, "Error") on a read error or a file shorter than
    /// pos + len ("the product file is truncated").
    void read_full(char* dst, std::uint64_t pos, std::size_t len);
    int fd_ = -1;
    PooledBuffer span_;
    std::uint64_t span_pos_ = 0;
    std::size_t span_len_ = 0;
};

/// Walks the pixels of a box in file order as contiguous runs of pixels (a run
/// is one row of the box; consecutive rows merge into one run when the box
/// spans full rows or planes) and copies them into caller buffers. Copyable:
/// a copy resumes where the original was.
class BoxCursor {
public:
    /// naxes: NAXISn of the image (FITS order); axes: the selection, one per
    /// axis (AxisCut: 0-based first, count, step >= 1, within the axis). A box
    /// with a count <= 0 on any axis is empty (fill returns 0 at once).
    BoxCursor(const std::vector<long>& naxes, const std::vector<AxisCut>& axes)
        : axes_(axes),
          stride_(naxes.size(), 1),
          idx_(naxes.size(), 0),
          run_(static_cast<std::uint64_t>(axes[0].count)) {
        for (std::size_t i = 1; i < naxes.size(); ++i)
            stride_[i] = stride_[i - 1] * static_cast<std::uint64_t>(naxes[i - 1]);
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
    /// Pixel offset of the box's first pixel in the data unit.
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
    /// Starts the next run at cur_ (merging following rows while they are
    /// contiguous) and sets group_end_; false when the box is exhausted.
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

/// Copies the (big-endian, stored-value) pixels of the cut HDUs: with pread
/// (RawFile) for uncompressed files, through CFITSIO (fits_read_pix without
/// scaling, then byte swapping) for tile-compressed and gzip files.
class PixelSource {
public:
    /// Opens `path` (RawFile, or open_fits when use_cfitsio). Throws SodaError
    /// (404 if the file is gone, 500 if it cannot be opened).
    PixelSource(const std::string& path, bool use_cfitsio);

    /// Selects the HDU the next copy() calls read: `h` (kept by reference: it
    /// must outlive the reads) whose input data unit starts at byte
    /// `data_start`. Throws SodaError(500) if CFITSIO cannot move to it.
    void select(const CutHdu& h, long long data_start);
    /// Bytes per pixel of the selected HDU (|BITPIX| / 8).
    std::size_t bytes_per_pixel() const { return bpp_; }
    /// Copies npix pixels starting at pixel_offset (pixels from the start of the
    /// selected HDU's data unit, FITS order) into dst (npix x bytes_per_pixel()
    /// bytes, big-endian) (group_end: see BoxCursor::fill). Throws SodaError(500)
    /// on a read failure.
    void operator()(char* dst, std::uint64_t pixel_offset, std::uint64_t npix, std::uint64_t group_end) {
        if (!cfitsio_) {
            raw_->copy(dst, data_start_ + pixel_offset * bpp_, static_cast<std::size_t>(npix * bpp_),
                       data_start_ + group_end * bpp_);
            return;
        }
        read_cfitsio(dst, pixel_offset, npix);
    }

private:
    /// The CFITSIO path of operator() (tile-compressed and gzip files).
    void read_cfitsio(char* dst, std::uint64_t pixel_offset, std::uint64_t npix);

    bool cfitsio_;
    FitsPtr f_;
    std::unique_ptr<RawFile> raw_;
    const CutHdu* h_ = nullptr;
    std::uint64_t data_start_ = 0;
    std::size_t bpp_ = 1;
};

}  // namespace vo::soda::detail
