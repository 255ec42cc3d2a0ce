// VOSI 1.1 documents and the landing page.
#include "server/vosi.hpp"

#include <filesystem>
#include <system_error>

#include "adql/functions.hpp"
#include "adql/parser.hpp"
#include "votable/formats.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

using votable::xml_escape;

constexpr const char* kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

void element(std::string& out, const char* indent, const char* name, const std::string& text) {
    if (text.empty()) return;
    out += indent;
    out += '<';
    out += name;
    out += '>';
    out += xml_escape(text);
    out += "</";
    out += name;
    out += ">\n";
}

void column_xml(std::string& out, const adql::ColumnInfo& c) {
    out += "    <column";
    if (c.std) out += " std=\"true\"";
    out += ">\n";
    // A column named by a reserved word is written delimited, as in
    // TAP_SCHEMA.columns (ADQL 2.1 section 2.1.3), e.g. "size".
    element(out, "      ", "name", adql::is_reserved_word(c.name) ? "\"" + c.name + "\"" : c.name);
    element(out, "      ", "description", c.description);
    element(out, "      ", "unit", c.unit);
    element(out, "      ", "ucd", c.ucd);
    element(out, "      ", "utype", c.utype);
    // VODataService 1.2 VOTableType: datatype, arraysize, xtype as extendedType.
    out += "      <dataType xsi:type=\"vs:VOTableType\"";
    if (!c.arraysize.empty()) out += " arraysize=\"" + xml_escape(c.arraysize) + "\"";
    if (!c.xtype.empty()) out += " extendedType=\"" + xml_escape(c.xtype) + "\"";
    out += ">" + xml_escape(c.datatype.empty() ? std::string("char") : c.datatype) + "</dataType>\n";
    if (c.indexed) out += "      <flag>indexed</flag>\n";
    if (c.principal) out += "      <flag>principal</flag>\n";
    out += "    </column>\n";
}

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

void table_body(std::string& out, const adql::TableInfo& t, bool min_detail, const std::vector<ForeignKey>& keys) {
    element(out, "    ", "name", qualified_name(t));
    element(out, "    ", "description", t.description);
    if (min_detail) return;
    for (const auto& c : t.columns) column_xml(out, c);
    const std::string name = lower(qualified_name(t));
    for (const auto& k : keys) {
        if (lower(k.from_table) != name) continue;
        out += "    <foreignKey>\n";
        element(out, "      ", "targetTable", k.target_table);
        for (const auto& [from, target] : k.columns) {
            out += "      <fkColumn>\n";
            element(out, "        ", "fromColumn", from);
            element(out, "        ", "targetColumn", target);
            out += "      </fkColumn>\n";
        }
        element(out, "      ", "description", k.description);
        element(out, "      ", "utype", k.utype);
        out += "    </foreignKey>\n";
    }
}

std::string html_escape(const std::string& s) { return xml_escape(s); }

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out += static_cast<char>(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

std::string qualified_name(const adql::TableInfo& table) {
    if (table.schema.empty()) return table.name;
    // TableInfo.name may already be qualified.
    if (table.name.size() > table.schema.size() &&
        table.name.compare(0, table.schema.size() + 1, table.schema + ".") == 0)
        return table.name;
    return table.schema + "." + table.name;
}

std::string availability_document(bool available, const std::string& note) {
    std::string out = kXmlDecl;
    out += "<vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n";
    out += std::string("  <vosi:available>") + (available ? "true" : "false") + "</vosi:available>\n";
    if (!note.empty()) out += "  <vosi:note>" + xml_escape(note) + "</vosi:note>\n";
    out += "</vosi:availability>\n";
    return out;
}

std::string capabilities_document(const Config& config, const std::vector<adql::UdfDecl>& udfs) {
    const std::string tap = xml_escape(config.base_url() + "/tap");
    std::string out = kXmlDecl;
    out +=
        "<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\""
        " xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\""
        " xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\">\n";

    // TAP 1.1 section 2.4: exactly one TAP capability, base URL interface.
    out += "  <capability standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\">\n";
    out += "    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\">\n";
    out += "      <accessURL use=\"base\">" + tap + "</accessURL>\n";
    out += security_methods_xml(config);
    out += "    </interface>\n";
    // TAPRegExt 1.0 section 2.2; ObsCore 1.1 section 4.
    out += "    <dataModel ivo-id=\"ivo://ivoa.net/std/ObsCore#core-1.1\">ObsCore-1.1</dataModel>\n";
    // TAPRegExt 1.0 section 2.3.
    out += "    <language>\n      <name>ADQL</name>\n";
    out += "      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>\n";
    out += "      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>\n";
    out +=
        "      <description>ADQL 2.1 (ADQL 2.0 queries are accepted too); geometry evaluated on the sphere with "
        "S2</description>\n";
    if (!udfs.empty()) {
        out += "      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-udf\">\n";
        for (const auto& u : udfs) {
            out += "        <feature><form>" + xml_escape(u.form) + "</form></feature>\n";
        }
        out += "      </languageFeatures>\n";
    }
    // ADQL 2.1 sections 4.2-4.10: the optional features, from the library's
    // function catalogue (adql/functions.hpp), one languageFeatures per type.
    std::string_view open_type;
    for (const auto& f : adql::language_features()) {
        if (f.type != open_type) {
            if (!open_type.empty()) out += "      </languageFeatures>\n";
            out += "      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#" + std::string(f.type) + "\">\n";
            open_type = f.type;
        }
        out += "        <feature><form>" + std::string(f.form) + "</form></feature>\n";
    }
    if (!open_type.empty()) out += "      </languageFeatures>\n";
    out += "    </language>\n";
    // TAPRegExt 1.0 section 2.4: every format of the registry (votable/formats.hpp),
    // its MIME type with its aliases, then each other MIME type it answers to.
    for (const auto& f : votable::output_formats()) {
        const std::string open = f.ivo_id.empty() ? std::string("    <outputFormat>\n")
                                                  : "    <outputFormat ivo-id=\"" + std::string(f.ivo_id) + "\">\n";
        out += open + "      <mime>" + votable::xml_escape(f.mime) + "</mime>\n";
        for (auto alias : f.aliases) out += "      <alias>" + votable::xml_escape(alias) + "</alias>\n";
        out += "    </outputFormat>\n";
        for (auto mime : f.other_mimes)
            out += open + "      <mime>" + votable::xml_escape(mime) + "</mime>\n    </outputFormat>\n";
    }
    // TAPRegExt 1.0 section 2.5: TAP_UPLOAD by inline part and by http URL
    out += "    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>\n";
    out += "    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-http\"/>\n";
    // TAPRegExt 1.0 section 2.6.
    // retentionPeriod and executionDuration are those of async jobs (UWS
    // DESTRUCTION and EXECUTIONDURATION); sync queries stop after
    // limits.max_sync_seconds, which TAPRegExt 1.0 has no element for.
    out += "    <retentionPeriod>\n      <default>" + std::to_string(config.limits.retention_seconds) +
           "</default>\n      <hard>" + std::to_string(config.limits.max_retention_seconds) +
           "</hard>\n    </retentionPeriod>\n";
    out += "    <executionDuration>\n      <default>" + std::to_string(config.limits.async_default_seconds) +
           "</default>\n      <hard>" + std::to_string(config.limits.async_max_seconds) +
           "</hard>\n    </executionDuration>\n";
    out += "    <outputLimit>\n      <default unit=\"row\">" + std::to_string(config.limits.maxrec_default) +
           "</default>\n      <hard unit=\"row\">" + std::to_string(config.limits.maxrec_hard) +
           "</hard>\n    </outputLimit>\n";
    // TAPRegExt 1.0 section 2.7 (rows per table: limits.max_upload_rows, in the docs)
    out += "    <uploadLimit>\n      <default unit=\"byte\">" + std::to_string(config.limits.max_upload_bytes) +
           "</default>\n      <hard unit=\"byte\">" + std::to_string(config.limits.max_upload_bytes) +
           "</hard>\n    </uploadLimit>\n";
    out += "  </capability>\n";

    // VOSI 1.1 section 4 (DALI 1.1 section 2.5): the VOSI endpoints.
    const auto vosi = [&](const char* id, const char* version, const char* use, const char* path) {
        out += std::string("  <capability standardID=\"") + id + "\">\n";
        out += std::string("    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"") + version + "\">\n";
        out += std::string("      <accessURL use=\"") + use + "\">" + tap + path + "</accessURL>\n";
        out += "    </interface>\n  </capability>\n";
    };
    vosi("ivo://ivoa.net/std/VOSI#capabilities", "1.0", "full", "/capabilities");
    vosi("ivo://ivoa.net/std/VOSI#availability", "1.0", "full", "/availability");
    vosi("ivo://ivoa.net/std/VOSI#tables-1.1", "1.1", "base", "/tables");
    // DALI 1.1 section 2.3 / TAP 1.1 section 2.6: the examples, a web page
    out += "  <capability standardID=\"ivo://ivoa.net/std/DALI#examples\">\n";
    out += "    <interface xsi:type=\"vr:WebBrowser\">\n";
    out += "      <accessURL use=\"full\">" + tap + "/examples</accessURL>\n";
    out += "    </interface>\n  </capability>\n";
    // issue 12: the DataLink documents, downloads, previews and cutouts every
    // result links to live on this server too; a client that reads only these
    // capabilities (pyvo's AuthSession.update_from_capabilities) learns that
    // they take the same credentials
    out += authenticated_base_capability(config, config.base_url() + "/");
    out += "</vosi:capabilities>\n";
    return out;
}

std::string tableset_document(const adql::Catalog& catalog, bool min_detail, const std::vector<ForeignKey>& keys) {
    std::string out = kXmlDecl;
    out +=
        "<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n";
    // Group by schema, in the catalogue's order of first appearance.
    std::vector<std::string> schemas;
    for (const auto& t : catalog.tables())
        if (std::find(schemas.begin(), schemas.end(), t.schema) == schemas.end()) schemas.push_back(t.schema);
    for (const auto& s : schemas) {
        out += "  <schema>\n";
        element(out, "    ", "name", s.empty() ? std::string("default") : s);
        for (const auto& t : catalog.tables()) {
            if (t.schema != s) continue;
            out += "  <table>\n";
            std::string body;
            table_body(body, t, min_detail, keys);
            out += body;
            out += "  </table>\n";
        }
        out += "  </schema>\n";
    }
    out += "</vosi:tableset>\n";
    return out;
}

std::string table_document(const adql::TableInfo& table, const std::vector<ForeignKey>& keys) {
    std::string out = kXmlDecl;
    out +=
        "<vosi:table xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n";
    table_body(out, table, false, keys);
    out += "</vosi:table>\n";
    return out;
}

std::string html_page_start(const std::string& title) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" "
           "href=\"data:,\">\n<title>" +
           title + "</title>\n";
}

std::string landing_page(const Config& config, const std::vector<CollectionSummary>& collections,
                         long long total_products) {
    const std::string base = config.base_url();
    const std::string title = html_escape(config.archive.title);
    std::string out;
    out += html_page_start(title);
    out +=
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        "code,pre{background:#f4f4f4}pre{padding:.6em;overflow-x:auto}</style>\n</head>\n<body>\n";
    out += "<h1>" + title + "</h1>\n";
    if (!config.archive.description.empty()) out += "<p>" + html_escape(config.archive.description) + "</p>\n";
    out += "<p>" + std::to_string(total_products) +
           " data products in the ObsCore 1.1 table <code>ivoa.obscore</code>. "
           "Publisher: <code>ivo://" +
           html_escape(config.archive.authority) + "</code>.</p>\n";

    std::error_code no_portal;  // issue 13: the browser portal (server/web_assets.hpp), when its files are there
    if (!config.server.web_dir.empty() &&
        std::filesystem::is_regular_file(std::filesystem::path(config.server.web_dir) / "index.html", no_portal))
        out += "<p><strong><a href=\"" + html_escape(base) +
               "/portal/\">Search the archive in your browser</a></strong> (query page, result browser, "
               "downloads, ADQL).</p>\n";
    out += "<h2>Services</h2>\n<table>\n<tr><th>service</th><th>standard</th><th>URL</th></tr>\n";
    const auto row = [&](const char* what, const char* standard, const std::string& path) {
        const std::string url = html_escape(base + path);
        out += std::string("<tr><td>") + what + "</td><td>" + standard + "</td><td><a href=\"" + url + "\">" + url +
               "</a></td></tr>\n";
    };
    row("TAP (ADQL queries)", "TAP 1.1, ADQL 2.1, ObsCore 1.1", "/tap");
    row("TAP synchronous queries", "TAP 1.1 section 2.1", "/tap/sync");
    row("capabilities", "VOSI 1.1, TAPRegExt 1.0", "/tap/capabilities");
    row("table metadata", "VOSI-tables 1.1", "/tap/tables");
    row("availability", "VOSI 1.1", "/tap/availability");
    row("TAP examples", "DALI 1.1 section 2.3", "/tap/examples");
    row("SIAv2 queries", "SIA 2.0", "/sia2/query");
    row("DataLink", "DataLink 1.1", "/datalink/sync");
    row("SODA cutouts", "SODA 1.0", "/soda/sync");
    out += "</table>\n";

    out += "<h2>Collections</h2>\n<table>\n<tr><th>obs_collection</th><th>products</th><th>description</th></tr>\n";
    for (const auto& c : collections) {
        const std::string q =
            "SELECT TOP 100 obs_id, dataproduct_type, target_name, s_ra, s_dec, em_min, em_max, access_url "
            "FROM ivoa.obscore WHERE obs_collection = '" +
            c.name + "'";
        out += "<tr><td><a href=\"" +
               html_escape(base + "/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable&QUERY=" + url_encode(q)) + "\">" +
               html_escape(c.name) + "</a></td><td>" + std::to_string(c.products) + "</td><td>" +
               html_escape(c.description) + "</td></tr>\n";
    }
    out += "</table>\n";

    out += "<h2>Using it</h2>\n<pre>import pyvo\ntap = pyvo.dal.TAPService(\"" + html_escape(base) +
           "/tap\")\n"
           "tap.search(\"SELECT TOP 10 obs_id, s_ra, s_dec, em_min, em_max FROM ivoa.obscore\").to_table()</pre>\n";
    out += "<pre>curl '" + html_escape(base) +
           "/tap/sync?LANG=ADQL&amp;RESPONSEFORMAT=csv&amp;QUERY=SELECT+TOP+5+obs_id,s_ra,s_dec+FROM+ivoa.obscore'</"
           "pre>\n";
    out += "<p>TOPCAT: <em>VO &rarr; Table Access Protocol (TAP) Query</em>, TAP URL <code>" + html_escape(base) +
           "/tap</code>.</p>\n";
    out += "</body>\n</html>\n";
    return out;
}

std::string security_methods_xml(const Config& config) {
    std::string s =
        "      <securityMethod/>\n"
        "      <securityMethod standardID=\"ivo://ivoa.net/sso#BasicAA\"/>\n";
    if (!config.auth.jwt.public_key.empty()) s += "      <securityMethod standardID=\"ivo://ivoa.net/sso#token\"/>\n";
    return s;
}

std::string authenticated_base_capability(const Config& config, const std::string& base_url) {
    // a standardID of this archive's own (clients such as taplint expect one
    // on every capability; CADC's services name theirs alike)
    const std::string id = "ivo://" + config.archive.authority + "/std/voserver#downloads-1.0";
    return "  <capability standardID=\"" + votable::xml_escape(id) +
           "\">\n    <interface xsi:type=\"vs:ParamHTTP\">\n      <accessURL use=\"base\">" +
           votable::xml_escape(base_url) + "</accessURL>\n" + security_methods_xml(config) +
           "    </interface>\n  </capability>\n";
}

std::string service_capabilities_document(const std::string& service_url, const std::string& protocol_capabilities) {
    const std::string base = votable::xml_escape(service_url);
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out +=
        "<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\""
        " xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n";
    out += protocol_capabilities;
    for (const auto& [id, path] :
         {std::pair<const char*, const char*>{"ivo://ivoa.net/std/VOSI#capabilities", "/capabilities"},
          {"ivo://ivoa.net/std/VOSI#availability", "/availability"}}) {
        out += std::string("  <capability standardID=\"") + id +
               "\">\n"
               "    <interface xsi:type=\"vs:ParamHTTP\">\n"
               "      <accessURL use=\"full\">" +
               base + path +
               "</accessURL>\n"
               "    </interface>\n  </capability>\n";
    }
    out += "</vosi:capabilities>\n";
    return out;
}

}  // namespace vo::server
