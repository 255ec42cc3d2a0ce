// TAP uploads (server/upload.hpp).
#include "server/upload.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <optional>
#include <set>

#include "adql/parser.hpp"
#include "votable/reader.hpp"

namespace vo::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

bool regular_identifier(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return false;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return !adql::is_reserved_word(s);
}

/// The content of the request part `part` (a file, else a form field).
std::optional<std::string> part_content(const DaliParams& params, const std::string& part) {
    for (const auto& f : params.files)
        if (f.part_name == part) return f.content;
    for (const auto& [k, v] : params.pairs())
        if (k == part) return v;
    return std::nullopt;
}

/// Receives a read table into its upload table.
class Loader final : public votable::TableReceiver {
public:
    Loader(obscore::QueryBackend& backend, const std::string& name) : backend_(backend), name_(name) {}
    void begin(const std::vector<votable::Field>& fields) override {
        std::vector<adql::ColumnInfo> columns;
        for (const auto& f : fields) {
            adql::ColumnInfo c;
            c.name = f.name;
            c.datatype = f.datatype;
            c.arraysize = f.arraysize;
            c.xtype = f.xtype;
            c.unit = f.unit;
            c.ucd = f.ucd;
            c.utype = f.utype;
            c.description = f.description;
            columns.push_back(std::move(c));
        }
        table_ = backend_.add_upload_table(name_, std::move(columns));
        cells_.resize(fields.size());
    }
    void row(const std::vector<votable::Value>& values) override {
        for (std::size_t i = 0; i < values.size(); ++i) {
            auto& c = cells_[i];
            const auto& v = values[i];
            c = obscore::UploadCell{};
            switch (v.kind) {
                case votable::CellKind::null: break;
                case votable::CellKind::integer:
                    c.kind = obscore::UploadCell::Kind::integer;
                    c.integer = v.integer;
                    break;
                case votable::CellKind::real:
                    c.kind = obscore::UploadCell::Kind::real;
                    c.real = v.real;
                    break;
                case votable::CellKind::text:
                    c.kind = obscore::UploadCell::Kind::text;
                    c.text = v.text;
                    break;
            }
        }
        table_->insert(cells_);
    }
    std::unique_ptr<obscore::RequestTable> take() {
        if (table_) table_->finish();
        return std::move(table_);
    }

private:
    obscore::QueryBackend& backend_;
    const std::string& name_;
    std::unique_ptr<obscore::RequestTable> table_;
    std::vector<obscore::UploadCell> cells_;
};

}  // namespace

std::vector<UploadRequest> parse_uploads(const DaliParams& params, const UploadLimits& limits) {
    std::vector<UploadRequest> out;
    std::set<std::string> names;
    for (const auto& value : params.all("UPLOAD")) {
        std::size_t start = 0;
        while (start <= value.size()) {
            auto end = value.find(';', start);
            if (end == std::string::npos) end = value.size();
            const std::string item = trim(std::string_view(value).substr(start, end - start));
            start = end + 1;
            if (item.empty()) {
                if (end == value.size()) break;
                continue;
            }
            const auto comma = item.find(',');
            if (comma == std::string::npos)
                throw ParamError("UPLOAD=" + item +
                                 " is not \"name,URI\" (TAP 1.1 section 2.5.1), e.g. "
                                 "UPLOAD=mytable,param:mytable with the VOTable in the multipart part mytable");
            UploadRequest u;
            u.table = trim(std::string_view(item).substr(0, comma));
            const std::string uri = trim(std::string_view(item).substr(comma + 1));
            if (!regular_identifier(u.table))
                throw ParamError("UPLOAD table name \"" + u.table +
                                 "\" is not an ADQL regular identifier (a letter, then letters, digits or _; not a "
                                 "reserved word); the table is queried as TAP_UPLOAD.<name>");
            if (!names.insert(lower(u.table)).second)
                throw ParamError("UPLOAD names the table \"" + u.table + "\" twice");
            const std::string scheme = lower(uri.substr(0, uri.find(':') == std::string::npos ? 0 : uri.find(':')));
            if (scheme == "param") {
                const std::string part = uri.substr(6);
                auto content = part_content(params, part);
                if (!content)
                    throw ParamError("UPLOAD " + u.table + ",param:" + part + ": the request has no part named \"" +
                                     part + "\" (send the VOTable as multipart/form-data, DALI 1.1 section 3.4.5)");
                if (content->size() > limits.max_bytes)
                    throw ParamError("UPLOAD " + u.table + ": the table is " + std::to_string(content->size()) +
                                     " bytes, more than the upload limit of " + std::to_string(limits.max_bytes) +
                                     " bytes (limits.max_upload_bytes)");
                u.content = std::move(*content);
            } else if (scheme == "http") {
                u.url = uri;
            } else if (scheme == "https") {
                throw ParamError("UPLOAD " + u.table + "," + uri +
                                 ": this server does not fetch https URLs; upload the table inline "
                                 "(UPLOAD=" +
                                 u.table + ",param:" + u.table + " with the VOTable as that multipart part)");
            } else {
                throw ParamError("UPLOAD " + u.table + "," + uri +
                                 ": the URI must be param:<part> (an inline upload) or an http URL");
            }
            out.push_back(std::move(u));
            if (out.size() > limits.max_tables)
                throw ParamError("UPLOAD gives more than " + std::to_string(limits.max_tables) +
                                 " tables, the limit per query");
        }
    }
    return out;
}

std::string fetch_upload(const std::string& url_text, const UploadLimits& limits) {
    const auto deadline = std::chrono::steady_clock::now() + limits.fetch_timeout;
    std::string url = url_text;
    for (int redirect = 0; redirect <= 3; ++redirect) {
        auto parsed = boost::urls::parse_uri(url);
        if (!parsed || lower(std::string(parsed->scheme())) != "http" || parsed->encoded_host().empty())
            throw UploadError("the upload URL " + url + " is not an http URL");
        const std::string host(parsed->encoded_host());
        const std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
        std::string target(parsed->encoded_path());
        if (target.empty()) target = "/";
        if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        auto remaining = [&] {
            const auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::steady_clock::duration::zero())
                throw UploadError("the upload URL " + url_text + " did not answer within " +
                                  std::to_string(limits.fetch_timeout.count()) + " s");
            return left;
        };
        beast::error_code ec;
        tcp::resolver resolver(ioc);
        const auto endpoints = resolver.resolve(host, port, ec);
        if (ec) throw UploadError("cannot fetch the upload URL " + url_text + ": host " + host + ": " + ec.message());
        stream.expires_after(remaining());
        stream.connect(endpoints, ec);
        if (ec) throw UploadError("cannot fetch the upload URL " + url_text + ": " + ec.message());
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, parsed->has_port() ? host + ":" + port : host);
        req.set(http::field::user_agent, "voserver (TAP upload)");
        req.set(http::field::accept, "application/x-votable+xml, text/xml, */*");
        stream.expires_after(remaining());
        http::write(stream, req, ec);
        if (ec) throw UploadError("cannot fetch the upload URL " + url_text + ": " + ec.message());
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(limits.max_bytes);
        parser.header_limit(64 * 1024);
        // Read in steps so that the deadline holds for a slow sender too.
        while (!parser.is_done()) {
            stream.expires_after(remaining());
            http::read_some(stream, buffer, parser, ec);
            if (ec == http::error::body_limit)
                throw UploadError("the table at the upload URL " + url_text + " is larger than the upload limit of " +
                                  std::to_string(limits.max_bytes) + " bytes (limits.max_upload_bytes)");
            if (ec == beast::error::timeout) remaining();  // throws the timeout message
            if (ec) throw UploadError("cannot fetch the upload URL " + url_text + ": " + ec.message());
        }
        auto res = parser.release();
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        const unsigned status = res.result_int();
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            const std::string location(res[http::field::location]);
            if (location.empty()) throw UploadError("the upload URL " + url_text + " redirects without a Location");
            if (location.rfind("/", 0) == 0)
                url = "http://" + std::string(req[http::field::host]) + location;
            else
                url = location;
            continue;
        }
        if (status != 200)
            throw UploadError("the upload URL " + url_text + " answered HTTP " + std::to_string(status) +
                              " instead of a VOTable");
        return std::move(res.body());
    }
    throw UploadError("the upload URL " + url_text + " redirects more than 3 times");
}

std::unique_ptr<obscore::RequestTable> load_upload(obscore::QueryBackend& backend, const UploadRequest& upload,
                                                   const UploadLimits& limits) {
    try {
        std::string fetched;
        if (!upload.url.empty()) fetched = fetch_upload(upload.url, limits);
        const std::string& doc = upload.url.empty() ? upload.content : fetched;
        Loader loader(backend, upload.table);
        votable::ReadLimits rl;
        rl.max_rows = limits.max_rows;
        votable::read_votable(doc, loader, rl);
        return loader.take();
    } catch (const votable::ReadError& e) {
        throw UploadError("UPLOAD " + upload.table + ": " + e.what());
    } catch (const obscore::StoreError& e) {
        throw UploadError("UPLOAD " + upload.table + ": " + e.what());
    } catch (const UploadError& e) {
        throw UploadError("UPLOAD " + upload.table + ": " + e.what());
    }
}

}  // namespace vo::server
