// SODA 1.0 {sync} over in-process HTTP: the App on an ephemeral port with a
// store whose products are real files of ../shared/data/fits, requests sent
// with a Beast client; plus the cancellation path of run_soda_sync through a
// recording ResponseChannel.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fitsio.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <thread>

#include "obscore/store.hpp"
#include "server/app.hpp"
#include "server/soda_endpoint.hpp"
#include "votable/writer.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace vo;

namespace {

const std::string kMuse = std::string(VO_SHARED_DIR) + "/data/fits/muse/udf_mosaic_subcube.fits";
const std::string kAlma = std::string(VO_SHARED_DIR) + "/data/fits/alma/ngc3256_alma_sv_co10_cube.fits";
const std::string kMuseId = "ivo://voserver.test/samples?udf_mosaic_subcube";
const std::string kAlmaId = "ivo://voserver.test/samples?ngc3256_alma_sv_co10_cube";

/// A store with two real products: the MUSE UDF cube (DATA=1, STAT=2) and the
/// ALMA NGC 3256 CO(1-0) cube (primary HDU, FREQ and STOKES axes).
std::string make_store() {
    const auto dir = std::filesystem::temp_directory_path() / ("voserver-soda-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "store.sqlite").string();
    std::filesystem::remove(path);
    auto store = obscore::Store::open_for_write(path);
    store->begin();
    const auto add = [&](const std::string& obs_id, const std::string& did, const std::string& file,
                         std::vector<int> hdus) {
        obscore::ObsCoreRecord r;
        r.obs_collection = "samples";
        r.obs_id = obs_id;
        r.obs_publisher_did = did;
        r.dataproduct_type = "cube";
        r.calib_level = 2;
        r.access_url = "http://127.0.0.1/datalink/sync?ID=" + obs_id;
        obscore::ProductFile f;
        f.path = file;
        f.size_bytes = static_cast<std::int64_t>(std::filesystem::file_size(file));
        f.image_hdus = std::move(hdus);
        store->upsert(r, f);
    };
    add("udf_mosaic_subcube", kMuseId, kMuse, {1, 2});
    add("ngc3256_alma_sv_co10_cube", kAlmaId, kAlma, {0});
    store->commit();
    return path;
}

struct Response {
    unsigned status = 0;
    std::string content_type;
    std::string content_disposition;
    std::string content_length;  ///< the header as sent ("" if absent)
    bool chunked = false;
    std::string body;
};

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out += static_cast<char>(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

class Client {
public:
    explicit Client(unsigned short port) : stream_(ioc_) {
        stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    Response send(http::verb method, const std::string& target, const std::string& body = "") {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (method == http::verb::post) {
            req.set(http::field::content_type, "application/x-www-form-urlencoded");
            req.body() = body;
            req.prepare_payload();
        }
        http::write(stream_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(1ull << 30);
        http::read(stream_, buffer_, parser);
        auto& res = parser.get();
        return {res.result_int(),
                std::string(res[http::field::content_type]),
                std::string(res["Content-Disposition"]),
                std::string(res[http::field::content_length]),
                res.chunked(),
                res.body()};
    }
    Response get(const std::string& target) { return send(http::verb::get, target); }

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

struct Fixture {
    Fixture() {
        server::Config c;
        spdlog::set_level(spdlog::level::warn);
        c.server.port = 0;
        c.server.query_workers = 2;
        c.archive.database = make_store();
        c.archive.title = "soda test archive";
        app = std::make_unique<server::App>(c);
        port = app->start();
    }
    ~Fixture() { app->stop(); }
    std::unique_ptr<server::App> app;
    unsigned short port = 0;
};

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

/// Reads all pixels of HDU `hdu` (1-based CFITSIO number) of an in-memory FITS
/// file as doubles, with its NAXISn.
std::vector<double> read_memory_hdu(std::string fits_bytes, int hdu, std::vector<long>& naxes) {
    fitsfile* f = nullptr;
    int status = 0;
    void* mem = fits_bytes.data();
    std::size_t size = fits_bytes.size();
    fits_open_memfile(&f, "cut.fits", READONLY, &mem, &size, 0, nullptr, &status);
    REQUIRE(status == 0);
    fits_movabs_hdu(f, hdu, nullptr, &status);
    int naxis = 0;
    fits_get_img_dim(f, &naxis, &status);
    naxes.assign(static_cast<std::size_t>(naxis), 0);
    fits_get_img_size(f, naxis, naxes.data(), &status);
    long n = 1;
    for (long a : naxes) n *= a;
    std::vector<double> v(static_cast<std::size_t>(n));
    std::vector<long> first(static_cast<std::size_t>(naxis), 1);
    fits_read_pix(f, TDOUBLE, first.data(), n, nullptr, v.data(), nullptr, &status);
    int verify_data = 0, verify_header = 0;
    fits_verify_chksum(f, &verify_data, &verify_header, &status);
    CHECK(verify_data == 1);    // DATASUM correct
    CHECK(verify_header == 1);  // CHECKSUM correct
    fits_close_file(f, &status);
    REQUIRE(status == 0);
    return v;
}

/// CFITSIO's reading of a 1-based inclusive box of HDU `hdu` of a file.
std::vector<double> read_box(const std::string& path, int hdu, std::vector<long> first, std::vector<long> last) {
    fitsfile* f = nullptr;
    int status = 0;
    fits_open_file(&f, path.c_str(), READONLY, &status);
    fits_movabs_hdu(f, hdu, nullptr, &status);
    long n = 1;
    for (std::size_t i = 0; i < first.size(); ++i) n *= last[i] - first[i] + 1;
    std::vector<long> inc(first.size(), 1);
    std::vector<double> v(static_cast<std::size_t>(n));
    fits_read_subset(f, TDOUBLE, first.data(), last.data(), inc.data(), nullptr, v.data(), nullptr, &status);
    fits_close_file(f, &status);
    REQUIRE(status == 0);
    return v;
}

/// A ResponseChannel that records what it is given and reports the client
/// gone after `accept_writes` writes.
class RecordingChannel : public server::ResponseChannel {
public:
    explicit RecordingChannel(int accept_writes) : accept_writes_(accept_writes) {}
    void reply(server::Reply r) override { replies.push_back(std::move(r)); }
    void start(unsigned status, std::string content_type, std::vector<std::pair<std::string, std::string>> headers,
               std::optional<std::uint64_t> content_length) override {
        started_status = status;
        started_type = std::move(content_type);
        started_headers = std::move(headers);
        announced = content_length;
    }
    void write(std::string_view data) override {
        if (writes >= accept_writes_) {
            cancel_ = true;
            throw votable::SinkClosed();
        }
        ++writes;
        bytes += data.size();
    }
    void finish() override { finished = true; }
    bool cancelled() const override { return cancel_.load(); }
    const std::atomic<bool>& cancel_flag() const override { return cancel_; }

    std::vector<server::Reply> replies;
    unsigned started_status = 0;
    std::string started_type;
    std::vector<std::pair<std::string, std::string>> started_headers;
    std::optional<std::uint64_t> announced;
    int writes = 0;
    std::uint64_t bytes = 0;
    bool finished = false;

private:
    int accept_writes_;
    std::atomic<bool> cancel_{false};
};

}  // namespace

TEST_CASE("SODA sync cutout of the real MUSE UDF cube over HTTP", "[soda][http]") {
    Fixture fx;
    Client client(fx.port);
    // CIRCLE of 0.0003 deg around (53.1752, -27.8078) and BAND 500-501 nm
    // (vacuum). Expected box computed with astropy (tests/integration
    // method): 20001 points of the circle boundary -> WCS(DATA header)
    // .celestial.all_world2pix -> floor(p + 0.5) clipped: x 12..22, y 11..21;
    // channels: AWAV edges from all_pix2world, converted to vacuum with the
    // WCSLIB awavwave iteration (Cox/Edlen), kept where [lo, hi) meets the
    // BAND: 200..208 (1-based).
    const std::string target =
        "/soda/sync?id=" + url_encode(kMuseId) + "&circle=53.1752%20-27.8078%200.0003&Band=5.0e-7%205.01e-7";
    const auto r = client.get(target);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/fits");
    CHECK_FALSE(r.chunked);
    CHECK(r.content_length == std::to_string(r.body.size()));
    CHECK(r.content_disposition == "attachment; filename=udf_mosaic_subcube_cut_12-22_11-21_200-208.fits");
    CHECK(r.body.size() % 2880 == 0);
    CHECK(r.body.rfind("SIMPLE  =", 0) == 0);

    // DATA (output HDU 2) and STAT (3): the same box of the original,
    // read by CFITSIO, identical values.
    for (int hdu : {2, 3}) {
        std::vector<long> naxes;
        const auto cut = read_memory_hdu(r.body, hdu, naxes);
        CHECK(naxes == std::vector<long>{11, 11, 9});
        const auto orig = read_box(kMuse, hdu, {12, 11, 200}, {22, 21, 208});
        REQUIRE(cut.size() == orig.size());
        std::size_t different = 0;
        for (std::size_t i = 0; i < cut.size(); ++i)
            if (!(cut[i] == orig[i]) && !(std::isnan(cut[i]) && std::isnan(orig[i]))) ++different;
        CHECK(different == 0);
    }

    SECTION("POST gives the same bytes") {
        const auto p = client.send(http::verb::post, "/soda/sync",
                                   "ID=" + url_encode(kMuseId) + "&CIRCLE=53.1752+-27.8078+0.0003&BAND=5.0e-7+5.01e-7");
        CHECK(p.status == 200);
        CHECK(p.body.size() == r.body.size());
        // Same except the DATE card the engine may stamp: compare the data part.
        CHECK(p.body.substr(p.body.size() - 5760) == r.body.substr(r.body.size() - 5760));
    }
    SECTION("a cutout larger than 2 MiB is streamed with its Content-Length") {
        // PIXEL_3 = 1..400 of the 30 x 30 x 500 cube: 2 x 1.44 MB of data.
        const auto big = client.get("/soda/sync?ID=" + url_encode(kMuseId) + "&PIXEL_3=1%20400");
        REQUIRE(big.status == 200);
        CHECK_FALSE(big.chunked);
        CHECK(big.content_length == std::to_string(big.body.size()));
        CHECK(big.body.size() > (2u << 20));
        std::vector<long> naxes;
        const auto cut = read_memory_hdu(big.body, 3, naxes);  // STAT
        CHECK(naxes == std::vector<long>{30, 30, 400});
        const auto orig = read_box(kMuse, 3, {1, 1, 1}, {30, 30, 400});
        std::size_t different = 0;
        for (std::size_t i = 0; i < cut.size(); ++i)
            if (!(cut[i] == orig[i]) && !(std::isnan(cut[i]) && std::isnan(orig[i]))) ++different;
        CHECK(different == 0);
    }
    SECTION("META=true gives the headers as text") {
        const auto m = client.get(target + "&META=true");
        CHECK(m.status == 200);
        CHECK(m.content_type.rfind("text/plain", 0) == 0);
        CHECK(m.content_length == std::to_string(m.body.size()));
        CHECK(contains(m.body, "EXTNAME = 'STAT"));
    }
}

TEST_CASE("SODA sync POL cut of the ALMA cube over HTTP", "[soda][http]") {
    Fixture fx;
    Client client(fx.port);
    // The cube is 128 x 128 x 50 x 1 with CTYPE4 = STOKES, CRVAL4 = 1 (I).
    auto r = client.get("/soda/sync?ID=" + url_encode(kAlmaId) + "&POL=I&PIXEL_3=11%2020");
    REQUIRE(r.status == 200);
    CHECK(r.content_length == std::to_string(r.body.size()));
    std::vector<long> naxes;
    const auto cut = read_memory_hdu(r.body, 1, naxes);
    CHECK(naxes == std::vector<long>{128, 128, 10, 1});
    CHECK(cut == read_box(kAlma, 1, {1, 1, 11, 1}, {128, 128, 20, 1}));

    // Q is not on the axis: no pixel -> 204, empty body.
    r = client.get("/soda/sync?ID=" + url_encode(kAlmaId) + "&POL=Q");
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    CHECK(r.content_length.empty());
}

TEST_CASE("SODA sync errors map to DALI error documents and statuses", "[soda][http]") {
    Fixture fx;
    Client client(fx.port);
    const std::string muse = "/soda/sync?ID=" + url_encode(kMuseId);
    const auto is_error_votable = [](const Response& r) {
        return r.content_type == "application/x-votable+xml" &&
               contains(r.body, "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">");
    };

    auto r =
        client.get("/soda/sync?ID=" + url_encode("ivo://voserver.test/samples?nothing_here") + "&CIRCLE=10%2010%201");
    CHECK(r.status == 404);
    CHECK(is_error_votable(r));
    CHECK(contains(r.body, "ivo://voserver.test/samples?nothing_here"));
    CHECK_FALSE(contains(r.body, "/data/fits"));  // no path leaks

    r = client.get(muse + "&CIRCLE=53.17%20-27.80");  // radius missing
    CHECK(r.status == 400);
    CHECK(is_error_votable(r));
    CHECK(contains(r.body, "UsageError: CIRCLE"));

    r = client.get(muse + "&CIRCLE=53.17%20-27.80%20abc");
    CHECK(r.status == 400);
    CHECK(is_error_votable(r));
    CHECK(contains(r.body, "UsageError: CIRCLE"));
    CHECK(contains(r.body, "not a number"));  // what is wrong, and with which token
    CHECK(contains(r.body, "abc"));

    r = client.get(muse + "&BAND=5.1e-7%205.0e-7");  // min > max
    CHECK(r.status == 400);
    CHECK(is_error_votable(r));
    CHECK(contains(r.body, "UsageError: BAND"));

    r = client.get(muse + "&POL=I");  // the MUSE cube has no STOKES axis
    CHECK(r.status == 400);
    CHECK(is_error_votable(r));
    CHECK(contains(r.body, "POL"));
    CHECK(contains(r.body, "no STOKES axis"));  // why the parameter cannot apply

    r = client.get(muse + "&CIRCLE=53.3%20-27.9%200.01");  // 10 arcmin away from the 6 arcsec field
    CHECK(r.status == 204);
    CHECK(r.body.empty());

    r = client.get(muse + "&BAND=6.0e-7%206.1e-7");  // beyond the cube's 475-537 nm
    CHECK(r.status == 204);

    r = client.get("/soda/sync?CIRCLE=53.17%20-27.80%200.001");
    CHECK(r.status == 400);
    CHECK(contains(r.body, "UsageError: ID: missing"));

    r = client.get(muse + "&ID=other");
    CHECK(r.status == 400);
    CHECK(contains(r.body, "MultiValuedParamNotSupported: ID"));

    r = client.get(muse + "&CIRCLE=53.17%20-27.80%200.001&CIRCLE=53.18%20-27.80%200.001");
    CHECK(r.status == 400);
    CHECK(contains(r.body, "MultiValuedParamNotSupported"));

    r = client.get(muse + "&RESPONSEFORMAT=votable");
    CHECK(r.status == 400);
    CHECK(contains(r.body, "RESPONSEFORMAT"));

    r = client.send(http::verb::put, muse);
    CHECK(r.status == 405);

    // The connection is still usable after all these answers (keep-alive).
    r = client.get("/soda/availability");
    CHECK(r.status == 200);
    CHECK(contains(r.body, "<vosi:available>true</vosi:available>"));
    r = client.get("/soda/capabilities");
    CHECK(contains(r.body, "standardID=\"ivo://ivoa.net/std/SODA#sync-1.0\""));
    CHECK(contains(r.body, "standardID=\"ivo://ivoa.net/std/SODA#async-1.0\""));
    r = client.get("/soda");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/html;charset=UTF-8");
    r = client.get("/soda/async");  // the UWS job list (SODA 1.0 section 3.2)
    CHECK(r.status == 200);
    CHECK(contains(r.body, "<uws:jobs"));
}

TEST_CASE("run_soda_sync stops reading when the client is gone", "[soda]") {
    const std::string db = make_store();
    auto store = obscore::Store::open_read_only(db);
    server::DaliParams params;
    params.add("ID", kMuseId);  // the whole cube: 3.6 MB of DATA + STAT
    const auto request = server::parse_soda_request(params);

    RecordingChannel complete(1 << 30);
    const auto all = server::run_soda_sync(request, *store, complete);
    CHECK(complete.started_status == 200);
    REQUIRE(complete.announced);
    CHECK(all == *complete.announced);
    CHECK(complete.bytes == all);
    CHECK(complete.finished);
    CHECK(complete.replies.empty());

    RecordingChannel gone(1);  // the client disconnects after the first chunk
    const auto sent = server::run_soda_sync(request, *store, gone);
    CHECK(gone.writes == 1);
    CHECK(sent == gone.bytes);
    CHECK(sent < all);
    CHECK_FALSE(gone.finished);
}

TEST_CASE("Content-Disposition file names are quoted safely", "[soda]") {
    CHECK(server::content_disposition("a_cut_1-2.fits") == "attachment; filename=a_cut_1-2.fits");  // a token
    CHECK(server::content_disposition("MUSE.2017-06-16T01:34:56.867.fits") ==
          "attachment; filename=\"MUSE.2017-06-16T01:34:56.867.fits\"");  // ':' is not a token character
    CHECK(server::content_disposition("we\"ird\\name\n.fits") == "attachment; filename=we_ird_name_.fits");
    CHECK(server::content_disposition("two words.fits") == "attachment; filename=\"two words.fits\"");
}

TEST_CASE("streamed responses with a Content-Length (HTTP layer)", "[http]") {
    spdlog::set_level(spdlog::level::err);
    server::HttpOptions options;
    options.port = 0;
    server::HttpServer http(
        options, [](std::shared_ptr<const server::Request> req, std::shared_ptr<server::ResponseChannel> channel) {
            if (req->path == "/full") {
                channel->start(200, "application/octet-stream", {{"X-Test", "1"}}, 10);
                channel->write("01234");
                channel->write("56789");
                channel->finish();
            } else if (req->path == "/over") {
                channel->start(200, "application/octet-stream", {}, 4);
                channel->write("0123456789");  // more than announced: cut at 4
                channel->finish();
            } else if (req->path == "/short") {
                channel->start(200, "application/octet-stream", {}, 10);
                channel->write("01234");  // then a failure: fewer than announced
                channel->finish();
            } else {
                server::Reply r;
                r.status = 204;
                r.content_type = "text/plain";
                channel->reply(std::move(r));
            }
        });
    const unsigned short port = http.start();

    Client client(port);
    auto r = client.get("/full");
    CHECK(r.status == 200);
    CHECK_FALSE(r.chunked);
    CHECK(r.content_length == "10");
    CHECK(r.body == "0123456789");
    r = client.get("/over");  // same keep-alive connection
    CHECK(r.content_length == "4");
    CHECK(r.body == "0123");
    r = client.get("/nothing");
    CHECK(r.status == 204);
    CHECK(r.content_length.empty());  // RFC 9110 section 8.6
    CHECK(r.content_type.empty());
    r = client.get("/full");  // still the same connection
    CHECK(r.body == "0123456789");

    // A short body ends with the connection closed: the client sees the
    // truncation instead of waiting or taking it as complete.
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::verb::get, "/short", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    beast::error_code ec;
    stream.expires_after(std::chrono::seconds(10));
    http::read(stream, buffer, res, ec);
    CHECK(ec == http::error::partial_message);
    http.stop();
}

TEST_CASE("a client leaving during a streamed cutout does not disturb the server", "[soda][http]") {
    Fixture fx;
    {
        // The whole MUSE cube (3.6 MB, streamed): read the status line and
        // headers only, then close.
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), fx.port));
        http::request<http::empty_body> req{http::verb::get, "/soda/sync?ID=" + url_encode(kMuseId), 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(stream, req);
        beast::flat_buffer buffer;
        http::response_parser<http::empty_body> parser;
        parser.skip(true);
        http::read_header(stream, buffer, parser);
        CHECK(parser.get().result_int() == 200);
        CHECK_FALSE(parser.get().chunked());
        CHECK(parser.get()[http::field::content_length] != "");
        beast::error_code ec;
        stream.socket().close(ec);
    }
    // Both workers still serve, repeatedly.
    Client client(fx.port);
    for (int i = 0; i < 4; ++i) {
        const auto r = client.get("/soda/sync?ID=" + url_encode(kMuseId) + "&CIRCLE=53.1752%20-27.8078%200.0003");
        CHECK(r.status == 200);
        CHECK(r.content_length == std::to_string(r.body.size()));
    }
}
