// DALI 1.1 section 3 parameter parsing.
#include "server/params.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

#include <charconv>

namespace vo::server {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Value of a header parameter such as boundary=... or name="..." in `header`.
std::optional<std::string> header_param(std::string_view header, std::string_view name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t semi = header.find(';', pos);
        // Skip semicolons inside quotes.
        std::size_t q = header.find('"', pos);
        while (q != std::string_view::npos && semi != std::string_view::npos && q < semi) {
            const std::size_t q2 = header.find('"', q + 1);
            if (q2 == std::string_view::npos) break;
            if (q2 > semi) semi = header.find(';', q2);
            q = header.find('"', q2 + 1);
        }
        std::string_view item =
            trim(header.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
        const std::size_t eq = item.find('=');
        if (eq != std::string_view::npos && iequals(trim(item.substr(0, eq)), name)) {
            std::string_view v = trim(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                std::string out;
                for (std::size_t i = 1; i + 1 < v.size(); ++i) {
                    if (v[i] == '\\' && i + 2 < v.size()) ++i;
                    out += v[i];
                }
                return out;
            }
            return std::string(v);
        }
        if (semi == std::string_view::npos) break;
        pos = semi + 1;
    }
    return std::nullopt;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

void DaliParams::add(std::string name, std::string value) { pairs_.emplace_back(std::move(name), std::move(value)); }

std::vector<std::string> DaliParams::all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : pairs_)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

std::optional<std::string> DaliParams::single(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [k, v] : pairs_) {
        if (!iequals(k, name)) continue;
        if (out && *out != v)
            throw ParamError("parameter " + std::string(name) +
                             " is single-valued but was given more than once (DALI 1.1 section 3.2)");
        out = v;
    }
    return out;
}

bool DaliParams::has(std::string_view name) const {
    for (const auto& [k, v] : pairs_)
        if (iequals(k, name)) return true;
    return false;
}

void parse_urlencoded(std::string_view text, DaliParams& params) {
    if (text.empty()) return;
    // Boost.URL 1.81 decodes the last value past the end of a string_view
    // that is not the end of its buffer ("csv\r\n" with the CRLF cut off
    // still decodes as "csv\r\n"): parse an owned copy.
    const std::string owned(text);
    auto parsed = boost::urls::parse_query(owned);
    if (!parsed) throw ParamError("malformed URL-encoded parameters: " + parsed.error().message());
    boost::urls::encoding_opts opt;
    opt.space_as_plus = true;
    for (const auto& p : *parsed) {
        std::string key = p.key.decode(opt);
        if (key.empty()) continue;  // "&&" or "=x"
        std::string value = p.has_value ? p.value.decode(opt) : std::string();
        params.add(std::move(key), std::move(value));
    }
}

void parse_multipart(std::string_view content_type, std::string_view body, DaliParams& params) {
    const auto boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty())
        throw ParamError("multipart/form-data request without a boundary in its Content-Type");
    const std::string delim = "--" + *boundary;

    std::size_t pos = body.find(delim);
    if (pos == std::string_view::npos)
        throw ParamError("multipart/form-data body without the boundary \"" + *boundary + "\"");
    pos += delim.size();
    while (true) {
        // After a delimiter: "--" ends the body, otherwise CRLF then a part.
        if (body.substr(pos, 2) == "--") return;
        if (body.substr(pos, 2) == "\r\n")
            pos += 2;
        else if (body.substr(pos, 1) == "\n")
            pos += 1;
        else
            throw ParamError("malformed multipart/form-data body (bad boundary line)");

        std::size_t headers_end = body.find("\r\n\r\n", pos);
        std::size_t sep = 4;
        if (headers_end == std::string_view::npos) {
            headers_end = body.find("\n\n", pos);
            sep = 2;
        }
        if (headers_end == std::string_view::npos)
            throw ParamError("malformed multipart/form-data body (part without headers)");
        const std::string_view headers = body.substr(pos, headers_end - pos);
        const std::size_t content_begin = headers_end + sep;
        const std::size_t next = body.find(delim, content_begin);
        if (next == std::string_view::npos)
            throw ParamError("malformed multipart/form-data body (missing closing boundary)");
        std::size_t content_end = next;
        if (content_end >= content_begin + 2 && body.substr(content_end - 2, 2) == "\r\n")
            content_end -= 2;
        else if (content_end >= content_begin + 1 && body[content_end - 1] == '\n')
            content_end -= 1;
        const std::string_view content = body.substr(content_begin, content_end - content_begin);

        std::optional<std::string> name, filename;
        std::string part_type;
        std::size_t hp = 0;
        while (hp <= headers.size()) {
            std::size_t eol = headers.find('\n', hp);
            std::string_view line =
                headers.substr(hp, eol == std::string_view::npos ? std::string_view::npos : eol - hp);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            const std::size_t colon = line.find(':');
            if (colon != std::string_view::npos) {
                const std::string_view hname = trim(line.substr(0, colon));
                const std::string_view hvalue = trim(line.substr(colon + 1));
                if (iequals(hname, "Content-Disposition")) {
                    name = header_param(hvalue, "name");
                    filename = header_param(hvalue, "filename");
                } else if (iequals(hname, "Content-Type")) {
                    part_type = std::string(hvalue);
                }
            }
            if (eol == std::string_view::npos) break;
            hp = eol + 1;
        }
        if (!name) throw ParamError("malformed multipart/form-data body (a part has no Content-Disposition name)");
        if (filename) {
            params.files.push_back({*name, *filename, part_type, std::string(content)});
        } else {
            params.add(*name, std::string(content));
        }
        pos = next + delim.size();
    }
}

DaliParams parse_request_params(std::string_view method, std::string_view target, std::string_view content_type,
                                std::string_view body) {
    DaliParams params;
    const std::size_t q = target.find('?');
    if (q != std::string_view::npos) {
        std::string_view query = target.substr(q + 1);
        const std::size_t hash = query.find('#');
        if (hash != std::string_view::npos) query = query.substr(0, hash);
        parse_urlencoded(query, params);
    }
    if (method == "POST" && !body.empty()) {
        const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
        if (type.empty() || iequals(type, "application/x-www-form-urlencoded")) {
            std::string_view b = body;
            while (!b.empty() && (b.back() == '\r' || b.back() == '\n' || b.back() == ' ')) b.remove_suffix(1);
            parse_urlencoded(b, params);
        } else if (iequals(type, "multipart/form-data")) {
            parse_multipart(content_type, body, params);
        } else {
            throw ParamError("unsupported Content-Type \"" + std::string(type) +
                             "\" for POST parameters (use application/x-www-form-urlencoded or multipart/form-data)");
        }
    }
    return params;
}

std::int64_t parse_maxrec(const DaliParams& params, std::int64_t default_maxrec, std::int64_t hard_limit) {
    const auto v = params.single("MAXREC");
    if (!v) return std::min(default_maxrec, hard_limit);
    const std::string_view s = trim(*v);
    std::int64_t x = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || x < 0) {
        if (r.ec == std::errc::result_out_of_range && !s.empty() && s.front() != '-') return hard_limit;
        throw ParamError("MAXREC must be a non-negative integer (got \"" + *v + "\")");
    }
    return std::min(x, hard_limit);
}

std::string percent_decode_path(std::string_view s) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

}  // namespace vo::server
