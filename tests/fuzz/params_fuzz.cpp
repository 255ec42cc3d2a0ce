// libFuzzer target for the DALI request parameters (server/params.hpp):
// parse_multipart, parse_urlencoded, parse_request_params, the DaliParams
// look-ups and parse_maxrec. Every input must end in success or a ParamError,
// never a crash, a leak, a sanitizer report or another exception; on success
// the results must be consistent with the input (checked below: decoded
// names and values are never longer in total than what was sent, a name
// from URL-encoded text is never empty, MAXREC is within [0, hard limit]).
// Built and run by tests/fuzz/build_and_run.sh.
//
// Input layout: byte 0 selects the entry point (low 2 bits) and the MAXREC
// limits (next bits); the rest is "target\ncontent-type\nbody" (the body is
// everything after the second newline and may contain newlines).
//   mode 0: parse_multipart(content-type, body)
//   mode 1: parse_request_params("POST", target, content-type, body)
//   mode 2: parse_request_params("GET", target, content-type, body)
//   mode 3: parse_urlencoded(body)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "server/params.hpp"

namespace {

using vo::server::DaliParams;
using vo::server::ParamError;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "params_fuzz: invariant violated: %s\n", what);
    std::abort();
}

std::string_view next_line(std::string_view& rest) {
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
        std::string_view all = rest;
        rest = {};
        return all;
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return line;
}

/// The look-ups the TAP and SODA endpoints make on a parsed request.
void use(const DaliParams& p, std::uint8_t mode) {
    for (const char* name : {"REQUEST", "LANG", "QUERY", "FORMAT", "RESPONSEFORMAT", "RUNID", "PHASE", "ID"}) {
        try {
            (void)p.single(name);
        } catch (const ParamError&) {
        }
        (void)p.has(name);
    }
    (void)p.all("UPLOAD");
    (void)p.all("ID");
    static const std::int64_t defaults[4] = {0, 1000, 100000, INT64_MAX};
    static const std::int64_t hard[4] = {0, 1, 100000, INT64_MAX};
    const std::int64_t d = defaults[(mode >> 2) & 3], h = hard[(mode >> 4) & 3];
    try {
        const std::int64_t m = vo::server::parse_maxrec(p, d, h);
        if (m < 0 || m > h) fail("parse_maxrec outside [0, hard_limit]");
    } catch (const ParamError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string_view target = next_line(rest);
    const std::string_view content_type = next_line(rest);
    const std::string_view body = rest;
    try {
        DaliParams p;
        std::size_t budget = body.size();
        switch (mode & 3) {
            case 0: vo::server::parse_multipart(content_type, body, p); break;
            case 1:
                p = vo::server::parse_request_params("POST", target, content_type, body);
                budget += target.size();
                break;
            case 2:
                p = vo::server::parse_request_params("GET", target, content_type, body);
                budget = target.size();
                break;
            case 3: vo::server::parse_urlencoded(body, p); break;
        }
        // Decoding only shrinks text, and multipart parts do not overlap.
        std::size_t total = 0;
        for (const auto& [k, v] : p.pairs()) {
            if (k.empty() && (mode & 3) >= 2) fail("empty parameter name from URL-encoded text");
            total += k.size() + v.size();
        }
        for (const auto& f : p.files) total += f.content.size();
        if (total > budget) fail("decoded parameters longer than the request");
        use(p, mode);
    } catch (const ParamError&) {
        // the expected outcome for a malformed request
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception (not ParamError): %s\n", e.what());
        std::abort();
    }
    return 0;
}
