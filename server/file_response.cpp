// Files from disk as HTTP responses, with single byte ranges (server/file_response.hpp).
#include "server/file_response.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>

#include "votable/writer.hpp"

namespace vo::server {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<std::uint64_t> number(std::string_view t) {
    if (t.empty()) return std::nullopt;
    for (const char c : t)
        if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return v;
}

}  // namespace

ByteRange parse_byte_range(std::string_view header, std::uint64_t size) {
    ByteRange whole;
    header = trim(header);
    const auto eq = header.find('=');
    if (eq == std::string_view::npos) return whole;
    const std::string_view unit = trim(header.substr(0, eq));
    if (unit.size() != 5) return whole;
    for (std::size_t i = 0; i < 5; ++i)
        if ((unit[i] | 0x20) != "bytes"[i]) return whole;
    const std::string_view spec = trim(header.substr(eq + 1));
    if (spec.find(',') != std::string_view::npos) return whole;
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return whole;
    const std::string_view a_text = trim(spec.substr(0, dash)), b_text = trim(spec.substr(dash + 1));
    const auto a = number(a_text), b = number(b_text);
    if ((!a_text.empty() && !a) || (!b_text.empty() && !b) || (!a && !b)) return whole;
    ByteRange r;
    if (!a) {  // suffix: the last *b bytes
        if (*b == 0 || size == 0) return {ByteRange::Kind::unsatisfiable, 0, 0};
        r.kind = ByteRange::Kind::partial;
        r.first = size > *b ? size - *b : 0;
        r.last = size - 1;
        return r;
    }
    if (b && *b < *a) return whole;
    if (*a >= size) return {ByteRange::Kind::unsatisfiable, 0, 0};
    r.kind = ByteRange::Kind::partial;
    r.first = *a;
    r.last = (!b || *b >= size) ? size - 1 : *b;
    return r;
}

std::string http_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf, n);
}

std::uint64_t send_file(const FileResponse& f, ResponseChannel& channel, const std::string& what) {
    const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    const auto file = fd >= 0 ? std::make_shared<const OpenFile>(fd) : nullptr;
    struct stat st {};
    if (!file || ::fstat(file->fd(), &st) != 0 || !S_ISREG(st.st_mode)) {
        Reply r;
        r.status = 500;
        r.content_type = "application/x-votable+xml";
        r.body = votable::error_document("Error: " + what + " cannot be read");
        channel.reply(std::move(r));
        return 0;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::vector<std::pair<std::string, std::string>> headers{{"Accept-Ranges", "bytes"}};
    std::string etag, modified;
    if (f.validators) {
        const auto ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                        static_cast<unsigned long long>(st.st_mtim.tv_nsec);
        char buf[64];
        std::snprintf(buf, sizeof buf, "\"%llu-%llx\"", static_cast<unsigned long long>(size), ns);
        etag = buf;
        modified = http_date(st.st_mtim.tv_sec);
        headers.emplace_back("ETag", etag);
        headers.emplace_back("Last-Modified", modified);
    }
    for (const auto& h : f.headers) headers.push_back(h);
    if (!etag.empty() && !f.if_none_match.empty()) {
        bool match = false;
        std::string_view list = f.if_none_match;
        while (!list.empty() && !match) {  // a comma-separated list of entity tags; W/ ignored (weak comparison)
            const std::size_t comma = list.find(',');
            std::string_view tag = trim(list.substr(0, comma));
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
            match = tag == "*" || tag == etag;
        }
        if (match) {
            Reply r;
            r.status = 304;
            r.headers = std::move(headers);
            channel.reply(std::move(r));
            return 0;
        }
    }

    ByteRange range = parse_byte_range(f.range, size);
    if (!f.if_range.empty() && range.kind != ByteRange::Kind::whole) {
        const std::string_view v = trim(f.if_range);
        // a weak tag never matches (strong comparison, RFC 9110 section 8.8.3.2)
        const bool same = !etag.empty() && (v == etag || v == modified);
        if (!same) range = ByteRange{};
    }
    if (range.kind == ByteRange::Kind::unsatisfiable) {
        Reply r;
        r.status = 416;
        r.content_type = "text/plain;charset=UTF-8";
        r.body = "the range " + f.range + " is outside the " + std::to_string(size) + " bytes of " + what + "\n";
        r.headers = std::move(headers);
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        channel.reply(std::move(r));
        return 0;
    }
    std::uint64_t first = 0, count = size;
    unsigned status = 200;
    if (range.kind == ByteRange::Kind::partial) {
        first = range.first;
        count = range.last - range.first + 1;
        status = 206;
        headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                  std::to_string(range.last) + "/" + std::to_string(size));
    }
    try {
        channel.spool_only_when_stalled();  // the file is on disk already: wait for the client
        channel.start(status, f.content_type, std::move(headers), count);
        // The server's channel sends the region with sendfile after this
        // worker has returned (a file that shrinks meanwhile ends the body
        // short, which closes the connection).
        channel.write_file(file, first, count);
        channel.finish();
    } catch (const votable::SinkClosed&) {
        // the client went away, or HEAD: the header is out, the body not wanted
        return 0;
    } catch (const std::exception& e) {
        // the default write_file could not read the file after the header:
        // the connection closes with a short body
        spdlog::error("sending {}: {}", what, e.what());
        channel.finish();
        return 0;
    }
    return count;
}

}  // namespace vo::server
