// VOSI 1.1 documents (capabilities, availability, tables) and the landing page.
#pragma once

#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "server/config.hpp"

namespace vo::server {

/// VOSI 1.1 section 3.2 availability document.
std::string availability_document(bool available, const std::string& note);

/// VOSI 1.1 section 3.1 capabilities of the TAP service at {base}/tap: the
/// TAP 1.1 capability with TAPRegExt 1.0 metadata (ADQL 2.0 and 2.1 with the
/// geometry, string, set, type, unit and offset features and the UDFs of
/// `udfs`; output formats VOTable/CSV/TSV with MIME types and aliases;
/// retentionPeriod, executionDuration, outputLimit from [limits]; data model
/// ObsCore 1.1 ivo://ivoa.net/std/ObsCore#core-1.1), and the VOSI
/// capabilities, availability and tables-1.1 capabilities.
std::string capabilities_document(const Config& config, const std::vector<adql::UdfDecl>& udfs);

/// A VOSI 1.1 section 3.1 capabilities document of a service below
/// `service_url` (absolute, e.g. "http://host/sia2", not XML-escaped):
/// `protocol_capabilities` (whole `<capability>` elements, already XML, in
/// the namespaces vosi, xsi, vr and vs), then the VOSI capabilities and
/// availability capabilities at `service_url`/capabilities and /availability.
std::string service_capabilities_document(const std::string& service_url, const std::string& protocol_capabilities);

/// The securityMethod elements of an interface that takes anonymous and
/// authenticated requests (TAP 1.1 section 2.4, VOResource 1.1 Interface;
/// issue 12 item 2), indented for an interface: anonymous (no standardID),
/// ivo://ivoa.net/sso#BasicAA, and ivo://ivoa.net/sso#token when bearer
/// tokens are configured. pyvo's AuthSession reads them.
std::string security_methods_xml(const Config& config);

/// A capability (standardID ivo://{authority}/std/voserver#downloads-1.0,
/// this archive's own) whose ParamHTTP interface has accessURL
/// use="base" `base_url` and the security methods: tells clients such as
/// pyvo's AuthSession that every URL below it (downloads, previews, job
/// URLs) takes credentials.
std::string authenticated_base_capability(const Config& config, const std::string& base_url);

/// A foreign key as in TAP_SCHEMA.keys / key_columns (TAP 1.1 section 4.4).
using ForeignKey = obscore::ForeignKey;

/// VOSI 1.1 section 3.3 tableset: every schema and table of `catalog`;
/// `min_detail` (detail=min) leaves out the columns. Table names are
/// qualified ("ivoa.obscore"), as in TAP_SCHEMA.tables.
/// `keys`: the foreign keys, written in their from_table (max detail only).
std::string tableset_document(const adql::Catalog& catalog, bool min_detail, const std::vector<ForeignKey>& keys = {});

/// VOSI 1.1 section 3.3 single-table document (vosi:table root) for the
/// child resource /tables/{schema.table}.
std::string table_document(const adql::TableInfo& table, const std::vector<ForeignKey>& keys = {});

/// Qualified name of a table: "schema.name" (just "name" without schema).
std::string qualified_name(const adql::TableInfo& table);

/// The start of a service's HTML page up to <body>: UTF-8, `title` (HTML,
/// escaped by the caller), and an empty icon so that browsers do not probe
/// /favicon.ico (whose 404 Firefox reports as a corrupt image).
std::string html_page_start(const std::string& title);

/// Per-collection figures for the landing page.
struct CollectionSummary {
    std::string name;
    std::string description;
    long long products = 0;
};

/// The HTML landing page at / (TAP 1.1 section 2: a human-readable document
/// describing the service): archive title, the services with their URLs,
/// the collections with their number of products, example queries.
std::string landing_page(const Config& config, const std::vector<CollectionSummary>& collections,
                         long long total_products);

}  // namespace vo::server
