// The voserver web application: routes, TAP sync, VOSI, landing page.
//
// Routes (DESIGN.md "The public face"):
//   /                      landing page (HTML)
//   /tap                   short description of the TAP service (HTML)
//   /tap/sync              TAP 1.1 section 2.1 synchronous ADQL queries (GET, POST)
//   /tap/async             501 until UWS jobs exist (later issue)
//   /tap/availability      VOSI 1.1 availability
//   /tap/capabilities      VOSI 1.1 capabilities with TAPRegExt 1.0
//   /tap/tables            VOSI-tables 1.1 (detail=min|max)
//   /tap/tables/{table}    one table
//   /tap/examples          404 (TAP 1.1 section 2.6: no examples yet)
//   /soda                  short description of the SODA service (HTML)
//   /soda/sync             SODA 1.0 {sync} cutouts (GET, POST; server/soda_endpoint.hpp)
//   /soda/capabilities     VOSI 1.1 capabilities of the SODA service (SODA 1.0 section 2.5)
//   /soda/availability     VOSI 1.1 availability
//   /soda/async            501 until UWS jobs exist
//   /datalink/sync         DataLink 1.1 {links} (GET, POST; server/datalink.hpp)
//   /datalink/file         product file downloads by ID (GET, HEAD, Range)
//   /datalink/capabilities, /datalink/availability   VOSI 1.1
//   /sia2/query            501 until the engine is wired in
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/http.hpp"

namespace vo::server {

/// The application behind the HTTP server. Blocking work (queries) runs on a
/// WorkerPool of `config.server.query_workers` threads, each with its own
/// read-only store connection.
class App {
public:
    /// Opens the store read-only once to build the VOSI documents and the
    /// landing page. Throws obscore::StoreError if the store is missing or is
    /// not a voserver store.
    explicit App(Config config);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Handles one request (the HttpServer's Handler).
    void handle(std::shared_ptr<const Request> request, std::shared_ptr<ResponseChannel> channel);

    /// Starts the HTTP server on the configured host and port; returns the
    /// bound port. With port 0 the system chooses a free port; config()
    /// then reports it, and when [server] base_url is empty every published
    /// URL (capabilities, pages, UWS job URLs) is derived from it before the
    /// first connection is accepted. Throws std::runtime_error if it cannot
    /// listen.
    unsigned short start();
    /// Blocks until SIGINT/SIGTERM (`handle_signals`) or stop().
    void wait(bool handle_signals = true);
    void stop();

    const Config& config() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vo::server
