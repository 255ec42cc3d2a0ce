// The output of a planned cutout (SODA 1.0 section 5.1, "application/fits";
// META=true as text/plain): Cutout::write streams the headers and the selected
// data in bounded memory, with DATASUM and CHECKSUM (FITS 4.0 Appendix J)
// computed before each header is sent, and exactly Cutout::size_bytes() bytes.
// The strategy is documented at Cutout::write (soda/cutout.hpp); the pixel
// reads are reading.hpp's.
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "soda/checksum.hpp"
#include "soda/cutout_internal.hpp"
#include "soda/reading.hpp"

namespace vo::soda {
using namespace detail;

namespace {

static_assert(kSpanBuffer >= (1u << 20), "the output buffer and checksum scratch are pooled span buffers");
constexpr std::size_t kChunk = 1u << 20;  // output buffer, sink chunk and checksum scratch size

/// Output buffer in front of the sink: small pieces (headers, padding) are
/// gathered into chunks of kChunk bytes; large ready-made blocks go to the sink
/// directly.
class Out {
public:
    explicit Out(const std::function<bool(const char*, std::size_t)>& sink) : sink_(sink) {}
    /// Appends n bytes at p (copied into the buffer, flushed when full).
    /// False once the sink has refused a chunk.
    bool put(const char* p, std::size_t n) {
        while (n > 0) {
            if (pos_ == kChunk && !flush()) return false;
            const std::size_t k = std::min(n, kChunk - pos_);
            std::memcpy(buf_.get() + pos_, p, k);
            pos_ += k, p += k, n -= k;
        }
        return !stopped_;
    }
    /// Appends n zero bytes (padding of a data unit). False as put().
    bool zeros(std::size_t n) {
        while (n > 0) {
            if (pos_ == kChunk && !flush()) return false;
            const std::size_t k = std::min(n, kChunk - pos_);
            std::memset(buf_.get() + pos_, 0, k);
            pos_ += k, n -= k;
        }
        return !stopped_;
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
    /// Counts n bytes written at room() as buffered.
    void commit(std::size_t n) { pos_ += n; }
    /// Passes what is buffered to the sink. False if the sink refused it (or an
    /// earlier chunk).
    bool flush() {
        if (stopped_) return false;
        if (pos_ == 0) return true;
        const bool ok = sink_(buf_.get(), pos_);
        pos_ = 0;
        return ok ? true : stop();
    }

private:
    /// Marks the sink as stopped; returns false.
    bool stop() {
        stopped_ = true;
        return false;
    }
    const std::function<bool(const char*, std::size_t)>& sink_;
    PooledBuffer buf_;
    std::size_t pos_ = 0;
    bool stopped_ = false;
};

/// The output header of one HDU as bytes (FITS 4.0 Appendix J): `cards`
/// (80-character cards without END, with the DATASUM and CHECKSUM
/// placeholders of cut_header/primary_header) with DATASUM = `datasum` (the
/// ones' complement sum of the data unit), END, blanks up to `header_bytes`
/// (a multiple of 2880), and CHECKSUM set so that the whole HDU sums to -0.
std::string checksummed_header(std::vector<std::string> cards, std::uint64_t header_bytes, std::uint32_t datasum) {
    for (auto& c : cards)
        if (card_key(c) == "DATASUM") c = string_card("DATASUM", std::to_string(datasum), "data unit checksum");
    std::string header;
    header.reserve(header_bytes);
    for (const auto& c : cards) header += c;
    header += pad80("END");
    header.resize(header_bytes, ' ');
    OnesComplementSum hs;
    hs.add(header.data(), header.size());
    const std::string encoded = checksum_encode(ones_complement_add(hs.value(), datasum));
    const std::size_t pos = header.find("CHECKSUM= '0000000000000000'");
    if (pos != std::string::npos && pos % 80 == 0) header.replace(pos + 11, 16, encoded);
    return header;
}

}  // namespace

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

bool Cutout::write(const std::function<bool(const char* data, std::size_t n)>& sink) {
    Impl& im = *impl_;
    if (im.meta) {
        const std::string text = im.meta_text();
        return sink(text.data(), text.size());
    }
    const bool use_cfitsio =
        im.gzip || std::any_of(im.compressed.begin(), im.compressed.end(), [](bool c) { return c; });
    PixelSource src(im.path, use_cfitsio);
    Out out(sink);
    PooledBuffer scratch;
    for (std::size_t i = 0; i < im.hdus.size(); ++i) {
        const CutHdu& h = im.hdus[i];
        std::uint32_t datasum = 0;
        bool kept = false;  // all of the HDU's data are in `scratch` from the first pass
        if (h.cut) {
            // First pass: the DATASUM of the box, through a scratch buffer that
            // stays in cache. Data that fit in it (small cutouts) are sent from
            // it; larger ones are read again. (Keeping the first 24 MiB of each
            // HDU in a fresh buffer cost more in page faults than the second
            // read it saved.)
            src.select(h, im.data_start[i]);
            const std::size_t bpp = src.bytes_per_pixel();
            OnesComplementSum sum;
            BoxCursor cursor(h.naxes, im.axes);
            for (bool first = true;; first = false) {
                const std::uint64_t n = cursor.fill(scratch.get(), kChunk / bpp, bpp, src);
                if (n == 0) break;
                sum.add(scratch.get(), static_cast<std::size_t>(n * bpp));
                if (first && n * bpp == h.data_bytes) kept = true;
            }
            datasum = sum.value();
        }
        const std::string header = checksummed_header(im.headers[i], h.header_bytes, datasum);
        if (!out.put(header.data(), header.size())) return false;
        if (kept) {
            if (!out.put(scratch.get(), static_cast<std::size_t>(h.data_bytes))) return false;
            if (!out.zeros(pad_block(h.data_bytes) - h.data_bytes)) return false;
        } else if (h.cut) {
            // Second pass: the same box straight into the output buffer.
            const std::size_t bpp = src.bytes_per_pixel();
            BoxCursor cursor(h.naxes, im.axes);
            for (std::uint64_t sent = 0; sent < h.data_bytes;) {
                std::size_t room = 0;
                char* p = out.room(bpp, room);
                if (!p) return false;
                const std::uint64_t n = cursor.fill(p, room / bpp, bpp, src);
                if (n == 0) throw SodaError(500, "Error", "", "internal error: cutout data shorter than planned");
                out.commit(static_cast<std::size_t>(n * bpp));
                sent += n * bpp;
            }
            if (!out.zeros(pad_block(h.data_bytes) - h.data_bytes)) return false;
        }
    }
    return out.flush();
}

}  // namespace vo::soda
