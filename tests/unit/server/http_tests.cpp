// In-process HTTP tests: the App on an ephemeral port with a small store,
// requests sent with a Beast client.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "obscore/store.hpp"
#include "server/app.hpp"
#include "server/vosi.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace vo;

namespace {

/// A store with three products: two cubes and an image.
std::string make_store() {
    const auto dir = std::filesystem::temp_directory_path() / ("voserver-http-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "store.sqlite").string();
    std::filesystem::remove(path);
    auto store = obscore::Store::open_for_write(path);
    store->begin();
    for (int i = 0; i < 3; ++i) {
        obscore::ObsCoreRecord r;
        r.obs_collection = "test";
        r.obs_id = "obs" + std::to_string(i);
        r.obs_publisher_did = "ivo://voserver.test/test?obs" + std::to_string(i);
        r.dataproduct_type = i < 2 ? "cube" : "image";
        r.calib_level = 2;
        r.s_ra = 10.0 + i;
        r.s_dec = -5.0;
        r.s_fov = 0.01;
        r.s_region = {{10.0 + i - 0.005, -5.005},
                      {10.0 + i + 0.005, -5.005},
                      {10.0 + i + 0.005, -4.995},
                      {10.0 + i - 0.005, -4.995}};
        r.em_min = 4.75e-7;
        r.em_max = 9.35e-7;
        r.target_name = i == 0 ? "a<b>&c" : "NGC 628";
        r.access_url = "http://127.0.0.1/datalink/sync?ID=obs" + std::to_string(i);
        obscore::ProductFile f;
        f.path = "/nonexistent/obs" + std::to_string(i) + ".fits";
        store->upsert(r, f);
    }
    store->commit();
    return path;
}

struct Response {
    unsigned status = 0;
    std::string content_type;
    std::string body;
    bool chunked = false;
    std::string location;  ///< the Location header (redirects)
};

/// Sends requests over one keep-alive connection.
class Client {
public:
    explicit Client(unsigned short port) : stream_(ioc_) {
        stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    Response send(http::verb method, const std::string& target, const std::string& body = "",
                  const std::string& content_type = "application/x-www-form-urlencoded") {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (method == http::verb::post) {
            req.set(http::field::content_type, content_type);
            req.body() = body;
            req.prepare_payload();
        }
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        return {res.result_int(), std::string(res[http::field::content_type]), res.body(), res.chunked(),
                std::string(res[http::field::location])};
    }
    Response get(const std::string& target) { return send(http::verb::get, target); }

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

struct Fixture {
    explicit Fixture(const std::function<void(server::Config&)>& tweak = {}) {
        server::Config c;
        spdlog::set_level(spdlog::level::warn);  // no request log lines in test output
        c.server.port = 0;
        c.server.query_workers = 2;
        c.archive.database = make_store();
        c.archive.title = "test archive";
        c.limits.maxrec_default = 2;
        c.limits.maxrec_hard = 100;
        vo::server::CollectionConfig test_collection;
        test_collection.name = "test";
        test_collection.directories = {"/nonexistent"};
        test_collection.description = "test collection";
        c.collections.push_back(test_collection);
        if (tweak) tweak(c);
        app = std::make_unique<server::App>(c);
        port = app->start();
    }
    ~Fixture() { app->stop(); }
    std::unique_ptr<server::App> app;
    unsigned short port = 0;
};

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("TAP sync over HTTP", "[http]") {
    Fixture fx;
    Client client(fx.port);

    SECTION("GET with lower-case names, VOTable, MAXREC overflow from the default") {
        auto r = client.get(
            "/tap/sync?lang=ADQL&query=SELECT%20obs_id,%20target_name%20FROM%20ivoa.obscore%20ORDER%20BY%20obs_id");
        CHECK(r.status == 200);
        CHECK(r.content_type == "application/x-votable+xml");
        CHECK(r.chunked);
        CHECK(count(r.body, "<TR>") == 2);  // maxrec_default = 2
        CHECK(r.body.find("<TD>a&lt;b&gt;&amp;c</TD>") != std::string::npos);
        CHECK(r.body.find("</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>") != std::string::npos);
    }
    SECTION("TOP below MAXREC: no overflow") {
        auto r = client.get("/tap/sync?LANG=ADQL&MAXREC=10&QUERY=SELECT%20TOP%201%20obs_id%20FROM%20ivoa.obscore");
        CHECK(r.status == 200);
        CHECK(count(r.body, "<TR>") == 1);
        CHECK(r.body.find("OVERFLOW") == std::string::npos);
    }
    SECTION("POST urlencoded, CSV, keep-alive across requests") {
        for (int i = 0; i < 3; ++i) {
            auto r = client.send(http::verb::post, "/tap/sync",
                                 "REQUEST=doQuery&LANG=ADQL-2.1&RESPONSEFORMAT=csv&MAXREC=10&QUERY=SELECT+obs_id,s_ra+"
                                 "FROM+ivoa.obscore+ORDER+BY+s_ra");
            CHECK(r.status == 200);
            CHECK(r.content_type == "text/csv;header=present;charset=UTF-8");
            CHECK(r.body == "obs_id,s_ra\r\nobs0,10\r\nobs1,11\r\nobs2,12\r\n");
        }
    }
    SECTION("POST multipart, TSV by MIME type") {
        const std::string body =
            "--b\r\nContent-Disposition: form-data; name=\"LANG\"\r\n\r\nADQL\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"FORMAT\"\r\n\r\ntext/tab-separated-values\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"QUERY\"\r\n\r\nSELECT COUNT(*) AS n FROM ivoa.obscore WHERE "
            "dataproduct_type = 'cube'\r\n"
            "--b--\r\n";
        auto r = client.send(http::verb::post, "/tap/sync", body, "multipart/form-data; boundary=b");
        CHECK(r.status == 200);
        CHECK(r.content_type == "text/tab-separated-values;charset=UTF-8");
        CHECK(r.body == "n\n2\n");
    }
    SECTION("MAXREC=0 gives the metadata and the overflow marker") {
        auto r = client.get("/tap/sync?LANG=ADQL&MAXREC=0&QUERY=SELECT%20*%20FROM%20ivoa.obscore");
        CHECK(r.status == 200);
        CHECK(count(r.body, "<TR>") == 0);
        CHECK(r.body.find("<FIELD name=\"s_region\"") != std::string::npos);
        CHECK(r.body.find("value=\"OVERFLOW\"") != std::string::npos);
    }
    SECTION("errors are DALI VOTables with the right status") {
        auto r = client.get("/tap/sync?LANG=ADQL&QUERY=SELECT%20nosuchcolumn%20FROM%20ivoa.obscore");
        CHECK(r.status == 400);
        CHECK(r.content_type == "application/x-votable+xml");
        CHECK(r.body.find("<INFO name=\"QUERY_STATUS\" value=\"ERROR\">") != std::string::npos);
        CHECK(r.body.find("nosuchcolumn") != std::string::npos);

        r = client.get("/tap/sync?LANG=ADQL");
        CHECK(r.status == 400);
        CHECK(r.body.find("missing parameter QUERY") != std::string::npos);

        r = client.get("/tap/sync?LANG=SQL&QUERY=SELECT%201");
        CHECK(r.status == 400);
        CHECK(r.body.find("unknown query language LANG=SQL") != std::string::npos);

        r = client.get("/tap/sync?LANG=ADQL&RESPONSEFORMAT=hdf5&QUERY=SELECT%20obs_id%20FROM%20ivoa.obscore");
        CHECK(r.status == 400);
        CHECK(r.body.find("RESPONSEFORMAT=hdf5") != std::string::npos);
        CHECK(r.body.find("votable/b2") != std::string::npos);  // the message lists what is supported

        r = client.get("/tap/sync?LANG=ADQL&RESPONSEFORMAT=fits&QUERY=SELECT%20obs_id%20FROM%20ivoa.obscore");
        CHECK(r.status == 200);
        CHECK(r.content_type == "application/fits");
        CHECK(r.body.rfind("SIMPLE  =                    T", 0) == 0);

        r = client.get("/tap/sync?LANG=ADQL&MAXREC=x&QUERY=SELECT%20obs_id%20FROM%20ivoa.obscore");
        CHECK(r.status == 400);
        CHECK(r.body.find("MAXREC") != std::string::npos);

        r = client.get("/tap/sync?LANG=ADQL&QUERY=SELEC%20obs_id%20FROM%20ivoa.obscore");
        CHECK(r.status == 400);
        CHECK(r.body.find("line 1") != std::string::npos);

        r = client.get("/no/such/thing");
        CHECK(r.status == 404);
        CHECK(r.content_type == "application/x-votable+xml");

        r = client.get("/tap/async");  // the UWS job list (TAP 1.1 section 2.2.2)
        CHECK(r.status == 200);
        CHECK(r.body.find("<uws:jobs") != std::string::npos);
        r = client.get("/tap/async/nosuchjob");
        CHECK(r.status == 404);
    }
}

TEST_CASE("VOSI endpoints and landing page over HTTP", "[http]") {
    Fixture fx;
    Client client(fx.port);

    auto r = client.get("/tap/availability");
    CHECK(r.status == 200);
    CHECK(r.body.find("<vosi:available>true</vosi:available>") != std::string::npos);

    r = client.get("/tap/capabilities");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/xml;charset=UTF-8");
    CHECK(r.body.find("standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\"") != std::string::npos);
    CHECK(r.body.find("<dataModel ivo-id=\"ivo://ivoa.net/std/ObsCore#core-1.1\">") != std::string::npos);
    CHECK(r.body.find("<version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>") != std::string::npos);
    CHECK(r.body.find("<hard unit=\"row\">100</hard>") != std::string::npos);
    CHECK(r.body.find("ivo_hasword(haystack TEXT, needle TEXT) -&gt; INTEGER") != std::string::npos);

    r = client.get("/tap/tables");
    CHECK(r.status == 200);
    CHECK(r.body.find("<name>ivoa.obscore</name>") != std::string::npos);
    CHECK(r.body.find("<name>s_region</name>") != std::string::npos);
    CHECK(r.body.find("<name>&quot;size&quot;</name>") != std::string::npos);  // reserved word, delimited

    r = client.get("/tap/tables?detail=min");
    CHECK(r.body.find("<name>ivoa.obscore</name>") != std::string::npos);
    CHECK(r.body.find("<column") == std::string::npos);

    r = client.get("/tap/tables/ivoa.ObsCore");
    CHECK(r.status == 200);
    CHECK(r.body.find("<vosi:table ") != std::string::npos);
    CHECK(r.body.find("<name>obs_publisher_did</name>") != std::string::npos);

    r = client.get("/tap/tables/nope.nothing");
    CHECK(r.status == 404);

    r = client.get("/");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/html;charset=UTF-8");
    CHECK(r.body.find("test archive") != std::string::npos);
    CHECK(r.body.find("<td>3</td>") != std::string::npos);  // 3 products in collection "test"
}

TEST_CASE("port 0: the bound port is reported and every published URL is on it", "[http][port]") {
    Fixture fx;  // port 0, no base_url
    REQUIRE(fx.port != 0);
    CHECK(fx.app->config().server.port == fx.port);
    const std::string base = "http://127.0.0.1:" + std::to_string(fx.port);
    CHECK(fx.app->config().base_url() == base);
    Client client(fx.port);
    auto r = client.get("/tap/capabilities");
    CHECK(r.body.find("<accessURL use=\"base\">" + base + "/tap</accessURL>") != std::string::npos);
    CHECK(r.body.find(":0/") == std::string::npos);
    r = client.get("/");
    CHECK(r.body.find(base + "/tap") != std::string::npos);
    r = client.send(http::verb::post, "/tap/async", "LANG=ADQL&QUERY=SELECT+TOP+1+obs_id+FROM+ivoa.obscore");
    CHECK(r.status == 303);
    CHECK(r.location.rfind(base + "/tap/async/", 0) == 0);
    const std::string job = r.location.substr(base.size());
    // an anonymous job is in no list (issue 12 item 4), but its URL answers
    r = client.get("/tap/async");
    CHECK(r.body.find("<uws:jobref") == std::string::npos);
    r = client.get(job);
    CHECK(r.status == 200);
    CHECK(r.body.find("<uws:jobId>" + job.substr(std::string("/tap/async/").size()) + "</uws:jobId>") !=
          std::string::npos);
}

TEST_CASE("port 0 with an explicit base_url: published URLs keep the base_url", "[http][port]") {
    Fixture fx([](server::Config& c) {
        c.server.base_url = "https://archive.example.org/vo";
        c.server.base_url_explicit = true;
    });
    CHECK(fx.app->config().server.port == fx.port);
    Client client(fx.port);
    auto r = client.get("/tap/capabilities");
    CHECK(r.body.find("<accessURL use=\"base\">https://archive.example.org/vo/tap</accessURL>") != std::string::npos);
    r = client.send(http::verb::post, "/tap/async", "LANG=ADQL&QUERY=SELECT+TOP+1+obs_id+FROM+ivoa.obscore");
    CHECK(r.location.rfind("https://archive.example.org/vo/tap/async/", 0) == 0);
}

TEST_CASE("a client that disconnects mid-stream does not stop the server", "[http]") {
    Fixture fx;
    {
        net::io_context ioc;
        tcp::socket s(ioc);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), fx.port));
        const std::string req =
            "GET /tap/sync?LANG=ADQL&MAXREC=100&QUERY=SELECT%20*%20FROM%20ivoa.obscore%20AS%20a HTTP/1.1\r\nHost: "
            "x\r\n\r\n";
        net::write(s, net::buffer(req));
        s.close();  // gone before the answer
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Client client(fx.port);
    auto r =
        client.get("/tap/sync?LANG=ADQL&QUERY=SELECT%20COUNT(*)%20AS%20n%20FROM%20ivoa.obscore&RESPONSEFORMAT=csv");
    CHECK(r.status == 200);
    CHECK(r.body == "n\r\n3\r\n");
}

TEST_CASE("HEAD on the App's GET resources answers GET's headers, no body (RFC 9110 section 9.3.2)", "[http][head]") {
    Fixture fx;
    const std::vector<std::string> targets = {"/tap/capabilities", "/", "/tap/tables",
                                              "/tap/sync?LANG=ADQL&QUERY=SELECT%20obs_id%20FROM%20ivoa.obscore",
                                              "/no/such/thing"};
    for (const auto& target : targets) {
        INFO(target);
        net::io_context ioc;
        beast::tcp_stream s(ioc);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), fx.port));
        const std::string get = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
        const std::string head = "HEAD " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(s.socket(), net::buffer(get + head + get));  // pipelined
        beast::flat_buffer buf;
        s.expires_after(std::chrono::seconds(10));
        http::response<http::string_body> first;
        http::read(s, buf, first);
        http::response_parser<http::string_body> hp;
        hp.skip(true);  // a response to HEAD has no body
        http::read(s, buf, hp);
        auto h = hp.release();
        http::response<http::string_body> third;
        http::read(s, buf, third);
        CHECK(h.result_int() == first.result_int());
        CHECK(h[http::field::content_type] == first[http::field::content_type]);
        CHECK(h.chunked() == first.chunked());
        if (!first.chunked()) CHECK(h[http::field::content_length] == std::to_string(first.body().size()));
        CHECK(third.result_int() == first.result_int());
        CHECK(third.body() == first.body());
    }
}

static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST_CASE("the App passes the HTTP limits and the access log of the configuration to the HTTP layer",
          "[http][config]") {
    const auto log =
        std::filesystem::temp_directory_path() / ("voserver-app-access-" + std::to_string(::getpid()) + ".log");
    std::filesystem::remove(log);
    {
        Fixture fx([&](server::Config& c) {
            c.limits.max_url_bytes = 1024;
            c.server.access_log = log.string();
        });
        net::io_context ioc;
        beast::tcp_stream s(ioc);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), fx.port));
        const std::string req = "GET /tap/sync?QUERY=" + std::string(1100, 'x') + " HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(s.socket(), net::buffer(req));
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        s.expires_after(std::chrono::seconds(10));
        http::read(s, buf, res);
        CHECK(res.result_int() == 414);
        CHECK(res[http::field::content_type] == "application/x-votable+xml");
        CHECK(res.body().find("QUERY_STATUS") != std::string::npos);
        // The line is written once the response is out: wait for it.
        for (int i = 0; i < 500 && slurp(log).find("414") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(slurp(log).find("GET /tap/sync 414 ") != std::string::npos);
    std::filesystem::remove(log);
}

// Regression (CI, ThreadSanitizer): stop() closed the acceptor from the
// caller's thread while an I/O thread, having just accepted a connection,
// re-armed async_accept on it: a data race on the acceptor. A connection
// arriving right before stop() is the case that raced.
TEST_CASE("stop() right after a connection arrives does not race the accept loop", "[http][stop]") {
    for (int round = 0; round < 100; ++round) {
        server::HttpOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.threads = 2;
        server::HttpServer http(
            options, [](std::shared_ptr<const server::Request>, std::shared_ptr<server::ResponseChannel> channel) {
                server::Reply r;
                r.status = 204;
                channel->reply(std::move(r));
            });
        const unsigned short port = http.start();
        net::io_context ioc;
        tcp::socket s(ioc);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        if (round % 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        http.stop();
        http.stop();  // idempotent
        // The listening socket is closed: a new connection is refused.
        tcp::socket late(ioc);
        beast::error_code ec;
        late.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
        CHECK(ec == net::error::connection_refused);
    }
}
