// gzip of streamed responses (votable/gzip_sink.hpp), with zlib.
#include "votable/gzip_sink.hpp"

#include <zlib.h>

#include <cctype>
#include <stdexcept>
#include <string>

namespace vo::votable {

struct GzipSink::Impl {
    Sink out;
    z_stream z{};
    std::string buf = std::string(64 * 1024, '\0');
    bool finished = false;

    void pump(int flush) {
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf.data());
            z.avail_out = static_cast<uInt>(buf.size());
            const int rc = deflate(&z, flush);
            if (rc == Z_STREAM_ERROR) throw std::runtime_error("gzip: deflate failed");
            const std::size_t n = buf.size() - z.avail_out;
            if (n) out(std::string_view(buf.data(), n));
        } while (z.avail_out == 0);
    }
};

GzipSink::GzipSink(Sink out, int level) : impl_(std::make_unique<Impl>()) {
    impl_->out = std::move(out);
    // windowBits 15 + 16: a gzip header and trailer (zlib manual, deflateInit2)
    if (deflateInit2(&impl_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("gzip: cannot initialise zlib");
}

GzipSink::~GzipSink() { deflateEnd(&impl_->z); }

void GzipSink::write(std::string_view data) {
    auto& z = impl_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    impl_->pump(Z_NO_FLUSH);
}

void GzipSink::finish() {
    if (impl_->finished) return;
    impl_->finished = true;
    impl_->z.avail_in = 0;
    impl_->pump(Z_FINISH);
}

Sink GzipSink::sink() {
    return [this](std::string_view d) { write(d); };
}

bool accepts_gzip(std::string_view h) {
    std::size_t i = 0;
    while (i < h.size()) {
        std::size_t j = h.find(',', i);
        if (j == std::string_view::npos) j = h.size();
        std::string item(h.substr(i, j - i));
        i = j + 1;
        std::string coding, params;
        const auto semi = item.find(';');
        coding = item.substr(0, semi);
        if (semi != std::string::npos) params = item.substr(semi + 1);
        auto trim = [](std::string& s) {
            while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
            while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
            for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        };
        trim(coding);
        trim(params);
        if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
        if (params.rfind("q=", 0) == 0) {
            const double q = std::atof(params.c_str() + 2);
            if (q <= 0) continue;
        }
        return true;
    }
    return false;
}

}  // namespace vo::votable
