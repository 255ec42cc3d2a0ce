// voserver configuration file reader (toml++).
#include "server/config.hpp"

#include <toml++/toml.h>

#include <boost/asio/ip/address.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <cctype>
#include <map>
#include <variant>
#include <sstream>

#include "obscore/writer.hpp"

namespace fs = std::filesystem;

namespace vo::server {

std::string Config::base_url() const {
    if (!server.base_url.empty()) return server.base_url;
    return "http://" + server.host + ":" + std::to_string(server.port);
}

namespace {

/// Reads one TOML table with a fixed set of keys; every key must be known.
class Section {
public:
    Section(const toml::table& table, std::string prefix, std::string file)
        : table_(table), prefix_(std::move(prefix)), file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw ConfigError(file_ + ": " + prefix_ + key + ": " + what);
    }

    /// Calls `read` for each key; unknown keys are errors.
    void each(const std::map<std::string, std::function<void(const toml::node&, const std::string&)>>& readers) const {
        for (auto&& [k, v] : table_) {
            const std::string key(k.str());
            auto it = readers.find(key);
            if (it == readers.end()) {
                std::string known;
                for (auto& [name, _] : readers) known += (known.empty() ? "" : ", ") + name;
                fail(key, "unknown key (known keys: " + known + ")");
            }
            it->second(v, key);
        }
    }

    std::string string(const toml::node& v, const std::string& key, bool allow_empty = true) const {
        auto s = v.value<std::string>();
        if (!v.is_string() || !s) fail(key, "must be a string");
        if (!allow_empty && s->empty()) fail(key, "must not be empty");
        return *s;
    }

    std::int64_t integer(const toml::node& v, const std::string& key, std::int64_t lo, std::int64_t hi) const {
        if (!v.is_integer()) fail(key, "must be an integer");
        const std::int64_t x = *v.value<std::int64_t>();
        if (x < lo || x > hi)
            fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                          std::to_string(x) + ")");
        return x;
    }

    const std::string& prefix() const { return prefix_; }

private:
    const toml::table& table_;
    std::string prefix_;
    std::string file_;
};

std::string resolve(const fs::path& base_dir, const std::string& p) {
    fs::path path(p);
    if (path.is_relative()) path = base_dir / path;
    return path.lexically_normal().string();
}

std::string fold(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

/// ADQL type of a VOTable datatype of an extension column.
const char* adql_type_of(const std::string& datatype) {
    static const std::map<std::string, const char*> kTypes = {
        {"char", "VARCHAR"},    {"int", "INTEGER"},   {"long", "BIGINT"}, {"short", "SMALLINT"},
        {"boolean", "BOOLEAN"}, {"double", "DOUBLE"}, {"float", "REAL"}};
    auto it = kTypes.find(datatype);
    return it == kTypes.end() ? nullptr : it->second;
}

}  // namespace

std::vector<obscore::ExtensionColumn> load_profile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": cannot read the profile file");
    std::stringstream ss;
    ss << in.rdbuf();
    toml::table root;
    try {
        root = toml::parse(ss.str(), path);
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << path << ": line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
            << e.description();
        throw ConfigError(msg.str());
    }
    std::vector<obscore::ExtensionColumn> out;
    Section top(root, "", path);
    top.each({
        {"description", [&](const toml::node& x, const std::string& k) { (void)top.string(x, k); }},
        {"column",
         [&](const toml::node& v, const std::string&) {
             if (!v.is_array_of_tables()) throw ConfigError(path + ": column: must be an array of tables ([[column]])");
             std::size_t index = 0;
             for (const auto& item : *v.as_array()) {
                 const std::string prefix = "column[" + std::to_string(index++) + "].";
                 Section s(*item.as_table(), prefix, path);
                 obscore::ExtensionColumn col;
                 auto& d = col.def;
                 d.std = false;
                 const auto flag = [&](const toml::node& x, const std::string& k) {
                     if (!x.is_boolean()) s.fail(k, "must be true or false");
                     return *x.value<bool>();
                 };
                 s.each({
                     {"name",
                      [&](const toml::node& x, const std::string& k) {
                          d.name = s.string(x, k, false);
                          bool ok = std::isalpha(static_cast<unsigned char>(d.name[0])) != 0;
                          for (char ch : d.name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
                          if (!ok)
                              s.fail(k,
                                     "must be an ADQL regular identifier (a letter, then letters, digits, '_'; got \"" +
                                         d.name + "\")");
                      }},
                     {"datatype",
                      [&](const toml::node& x, const std::string& k) {
                          d.datatype = s.string(x, k, false);
                          if (!adql_type_of(d.datatype))
                              s.fail(k, "must be one of char, int, long, short, boolean, double, float (got \"" +
                                            d.datatype + "\")");
                          d.adql_type = adql_type_of(d.datatype);
                      }},
                     {"arraysize", [&](const toml::node& x, const std::string& k) { d.arraysize = s.string(x, k); }},
                     {"unit", [&](const toml::node& x, const std::string& k) { d.unit = s.string(x, k); }},
                     {"ucd", [&](const toml::node& x, const std::string& k) { d.ucd = s.string(x, k); }},
                     {"utype", [&](const toml::node& x, const std::string& k) { d.utype = s.string(x, k); }},
                     {"description",
                      [&](const toml::node& x, const std::string& k) { d.description = s.string(x, k); }},
                     {"principal", [&](const toml::node& x, const std::string& k) { d.principal = flag(x, k); }},
                     {"indexed", [&](const toml::node& x, const std::string& k) { d.indexed = flag(x, k); }},
                     {"std", [&](const toml::node& x, const std::string& k) { d.std = flag(x, k); }},
                     {"keywords",
                      [&](const toml::node& x, const std::string& k) {
                          if (!x.is_array()) s.fail(k, "must be an array of FITS keywords");
                          for (const auto& kw : *x.as_array()) {
                              if (!kw.is_string() || kw.value<std::string>()->empty())
                                  s.fail(k, "must be an array of FITS keywords");
                              col.keywords.push_back(*kw.value<std::string>());
                          }
                      }},
                     {"default",
                      [&](const toml::node& x, const std::string& k) {
                          if (x.is_string())
                              col.default_value = obscore::ExtraValue(*x.value<std::string>());
                          else if (x.is_integer())
                              col.default_value = obscore::ExtraValue(*x.value<std::int64_t>());
                          else if (x.is_floating_point())
                              col.default_value = obscore::ExtraValue(*x.value<double>());
                          else
                              s.fail(k, "must be a string, an integer or a number");
                      }},
                     {"adql", [&](const toml::node& x, const std::string& k) { col.adql = s.string(x, k, false); }},
                     {"derive",
                      [&](const toml::node& x, const std::string& k) {
                          if (s.string(x, k) != "data_rights") s.fail(k, "the only derived value is \"data_rights\"");
                          col.data_rights = true;
                      }},
                 });
                 if (d.name.empty()) s.fail("name", "is required");
                 if (d.datatype.empty()) s.fail("datatype", "is required");
                 if (d.datatype == "char" && d.arraysize.empty()) d.arraysize = "*";
                 if (obscore::find_obscore_column(d.name))
                     s.fail("name", d.name + " is an ObsCore column (extension columns add to ObsCore)");
                 if (col.default_value) {
                     const bool text = d.sql_type() == "TEXT";
                     const bool is_text = std::holds_alternative<std::string>(*col.default_value);
                     if (text != is_text) s.fail("default", "does not match datatype " + d.datatype);
                 }
                 const bool computed = !col.adql.empty() || col.data_rights;
                 if ((!col.adql.empty() && col.data_rights) ||
                     (computed && (col.default_value || !col.keywords.empty())))
                     s.fail(col.data_rights ? "derive" : "adql",
                            "a computed column (adql or derive) takes no other source (keywords, default)");
                 for (const auto& other : out)
                     if (fold(other.def.name) == fold(d.name)) s.fail("name", "duplicate column " + d.name);
                 out.push_back(std::move(col));
             }
         }},
    });
    return out;
}

Config parse_config(const std::string& text, const std::string& path) {
    const std::string file = path.empty() ? std::string("<configuration>") : path;
    const fs::path base_dir = path.empty() ? fs::current_path() : fs::absolute(fs::path(path)).parent_path();

    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << file << ": line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
            << e.description();
        throw ConfigError(msg.str());
    }

    Config c;
    c.source = path;
    bool have_database = false;
    bool web_dir_set = false;
    const auto as_table = [&](const toml::node& v, const std::string& key) -> const toml::table& {
        if (!v.is_table()) throw ConfigError(file + ": " + key + ": must be a table ([" + key + "])");
        return *v.as_table();
    };

    Section top(root, "", file);
    top.each({
        {"server",
         [&](const toml::node& v, const std::string& key) {
             Section s(as_table(v, key), "server.", file);
             s.each({
                 {"host", [&](const toml::node& x, const std::string& k) { c.server.host = s.string(x, k, false); }},
                 {"port", [&](const toml::node& x,
                              const std::string& k) { c.server.port = static_cast<int>(s.integer(x, k, 0, 65535)); }},
                 {"base_url",
                  [&](const toml::node& x, const std::string& k) {
                      std::string u = s.string(x, k);
                      while (!u.empty() && u.back() == '/') u.pop_back();
                      if (!u.empty() && u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
                          s.fail(k, "must start with http:// or https:// (got \"" + u + "\")");
                      c.server.base_url = u;
                      c.server.base_url_explicit = !u.empty();
                  }},
                 {"threads",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.threads = static_cast<int>(s.integer(x, k, 1, 256));
                  }},
                 {"trusted_proxies",
                  [&](const toml::node& x, const std::string& k) {
                      if (!x.is_array()) s.fail(k, "must be an array of IP addresses");
                      for (const auto& d : *x.as_array()) {
                          if (!d.is_string()) s.fail(k, "must be an array of IP addresses");
                          const std::string a = *d.value<std::string>();
                          const std::string n = normalized_address(a);
                          if (n.empty()) s.fail(k, "\"" + a + "\" is not an IP address");
                          c.server.trusted_proxies.push_back(n);
                      }
                  }},
                 {"query_workers",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.query_workers = static_cast<int>(s.integer(x, k, 1, 256));
                  }},
                 {"express_workers",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.express_workers = static_cast<int>(s.integer(x, k, 1, 64));
                  }},
                 {"async_workers",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.async_workers = static_cast<int>(s.integer(x, k, 1, 256));
                  }},
                 {"soda_workers",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.soda_workers = static_cast<int>(s.integer(x, k, 1, 256));
                  }},
                 {"read_timeout_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.read_timeout_seconds = static_cast<int>(s.integer(x, k, 1, 3600));
                  }},
                 {"write_timeout_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.write_timeout_seconds = static_cast<int>(s.integer(x, k, 1, 86400));
                  }},
                 {"cors_origins",
                  [&](const toml::node& x, const std::string& k) {
                      if (!x.is_array())
                          s.fail(k, "must be an array of strings (e.g. [\"*\"] or [\"https://portal.example.org\"])");
                      c.server.cors_origins.clear();
                      for (const auto& d : *x.as_array()) {
                          const auto* str = d.as_string();
                          if (!str) s.fail(k, "must be an array of strings");
                          const std::string o = str->get();
                          if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0)
                              s.fail(k, "\"" + o + "\" is not \"*\" nor an origin such as https://portal.example.org");
                          c.server.cors_origins.push_back(o);
                      }
                  }},
                 {"spool_dir",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string d = s.string(x, k);
                      c.server.spool_dir = d.empty() ? d : resolve(base_dir, d);
                  }},
                 {"access_log",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string l = s.string(x, k);
                      c.server.access_log = l.empty() || l == "-" ? l : resolve(base_dir, l);
                  }},
                 {"web_dir",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string d = s.string(x, k);
                      c.server.web_dir = d.empty() ? d : resolve(base_dir, d);
                      web_dir_set = true;
                  }},
                 {"name_resolver",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string u = s.string(x, k);
                      if (!u.empty() && u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
                          s.fail(k, "\"" + u + "\" is not an http:// or https:// URL");
                      c.server.name_resolver = u;
                  }},
                 {"access_log_max_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.access_log_max_bytes = s.integer(x, k, 0, std::int64_t{1} << 53);
                  }},
                 {"access_log_keep",
                  [&](const toml::node& x, const std::string& k) {
                      c.server.access_log_keep = static_cast<int>(s.integer(x, k, 0, 1000));
                  }},
             });
         }},
        {"archive",
         [&](const toml::node& v, const std::string& key) {
             Section s(as_table(v, key), "archive.", file);
             s.each({
                 {"authority",
                  [&](const toml::node& x, const std::string& k) {
                      std::string a = s.string(x, k, false);
                      if (a.rfind("ivo://", 0) == 0) a = a.substr(6);
                      if (a.size() < 3 || a.find_first_of("/?#! ") != std::string::npos)
                          s.fail(k, "must be an IVOA authority such as \"example.org\" (got \"" + a + "\")");
                      c.archive.authority = a;
                  }},
                 {"title", [&](const toml::node& x, const std::string& k) { c.archive.title = s.string(x, k, false); }},
                 {"description",
                  [&](const toml::node& x, const std::string& k) { c.archive.description = s.string(x, k); }},
                 {"database",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string v = s.string(x, k, false);
                      // a PostgreSQL URL stays as it is (ingest writes into it,
                      // obscore/writer.hpp); a file path is relative to this file
                      c.archive.database = obscore::is_postgresql_url(v) ? v : resolve(base_dir, v);
                      have_database = true;
                  }},
                 {"postgresql",
                  [&](const toml::node& x, const std::string& k) { c.archive.postgresql = s.string(x, k, false); }},
                 {"query_database",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string v = s.string(x, k, false);
                      // a URL stays as it is; a file path is relative to this file
                      c.archive.query_database = v.find("://") != std::string::npos ? v : resolve(base_dir, v);
                  }},
                 {"jobs_database",
                  [&](const toml::node& x, const std::string& k) {
                      const std::string v = s.string(x, k, false);
                      // a PostgreSQL URL: the job store several instances share
                      c.archive.jobs_database = obscore::is_postgresql_url(v) ? v : resolve(base_dir, v);
                  }},
                 {"results_dir",
                  [&](const toml::node& x, const std::string& k) {
                      c.archive.results_dir = resolve(base_dir, s.string(x, k, false));
                  }},
                 {"previews_dir",
                  [&](const toml::node& x, const std::string& k) {
                      c.archive.previews_dir = resolve(base_dir, s.string(x, k, false));
                  }},
                 {"profiles",
                  [&](const toml::node& x, const std::string& k) {
                      if (!x.is_array()) s.fail(k, "must be an array of file names");
                      for (const auto& d : *x.as_array()) {
                          if (!d.is_string()) s.fail(k, "must be an array of file names");
                          c.archive.profiles.push_back(resolve(base_dir, *d.value<std::string>()));
                      }
                  }},
             });
         }},
        {"demo",
         [&](const toml::node& v, const std::string& key) {
             Section s(as_table(v, key), "demo.", file);
             s.each({
                 {"out_dir", [&](const toml::node& x,
                                 const std::string& k) { c.demo.out_dir = resolve(base_dir, s.string(x, k, false)); }},
                 {"nx", [&](const toml::node& x,
                            const std::string& k) { c.demo.nx = static_cast<int>(s.integer(x, k, 1, 4096)); }},
                 {"ny", [&](const toml::node& x,
                            const std::string& k) { c.demo.ny = static_cast<int>(s.integer(x, k, 1, 4096)); }},
                 {"nchan", [&](const toml::node& x,
                               const std::string& k) { c.demo.nchan = static_cast<int>(s.integer(x, k, 1, 3681)); }},
             });
         }},
        {"limits",
         [&](const toml::node& v, const std::string& key) {
             Section s(as_table(v, key), "limits.", file);
             const std::int64_t big = std::int64_t{1} << 53;
             s.each({
                 {"maxrec_default", [&](const toml::node& x,
                                        const std::string& k) { c.limits.maxrec_default = s.integer(x, k, 0, big); }},
                 {"maxrec_hard",
                  [&](const toml::node& x, const std::string& k) { c.limits.maxrec_hard = s.integer(x, k, 1, big); }},
                 {"max_query_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_query_seconds = static_cast<int>(s.integer(x, k, 1, 86400 * 7));
                  }},
                 {"max_request_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_request_bytes = s.integer(x, k, 1024, big);
                  }},
                 {"retention_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.retention_seconds = static_cast<int>(s.integer(x, k, 0, 86400 * 365));
                  }},
                 {"max_queued_queries",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_queued_queries = static_cast<int>(s.integer(x, k, 1, 100000));
                  }},
                 {"max_retention_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_retention_seconds = static_cast<int>(s.integer(x, k, 60, 86400 * 3650));
                  }},
                 {"async_default_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.async_default_seconds = static_cast<int>(s.integer(x, k, 1, 86400 * 30));
                  }},
                 {"async_max_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.async_max_seconds = static_cast<int>(s.integer(x, k, 1, 86400 * 30));
                  }},
                 {"max_wait_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_wait_seconds = static_cast<int>(s.integer(x, k, 0, 3600));
                  }},
                 {"max_waiting_clients",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_waiting_clients = static_cast<int>(s.integer(x, k, 1, 1000000));
                  }},
                 {"results_quota_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.results_quota_bytes = s.integer(x, k, 1024 * 1024, big);
                  }},
                 {"max_sync_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_sync_seconds = static_cast<int>(s.integer(x, k, 1, 86400));
                  }},
                 {"express_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.express_seconds = static_cast<int>(s.integer(x, k, 1, 3600));
                  }},
                 {"express_max_cost",
                  [&](const toml::node& x, const std::string& k) {
                      if (!x.is_number()) s.fail(k, "must be a number");
                      const double v =
                          x.is_integer() ? static_cast<double>(*x.value<std::int64_t>()) : *x.value<double>();
                      if (!(v >= 0)) s.fail(k, "must be a number >= 0");
                      c.limits.express_max_cost = v;
                  }},
                 {"max_queries_per_client",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_queries_per_client = static_cast<int>(s.integer(x, k, 1, 100000));
                  }},
                 {"max_query_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_query_bytes = s.integer(x, k, 64, big);
                  }},
                 {"max_query_depth",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_query_depth = static_cast<int>(s.integer(x, k, 8, 10000));
                  }},
                 {"max_query_nodes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_query_nodes = s.integer(x, k, 16, big);
                  }},
                 {"max_cell_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_cell_bytes = s.integer(x, k, 1024, std::int64_t{1} << 30);
                  }},
                 {"query_memory_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.query_memory_bytes = s.integer(x, k, 16 * 1024 * 1024, big);
                  }},
                 {"max_gzip_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_gzip_bytes = s.integer(x, k, 1024 * 1024, big);
                  }},
                 {"query_cache_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.query_cache_bytes = s.integer(x, k, 0, big);
                  }},
                 {"max_url_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_url_bytes = s.integer(x, k, 1024, 64 << 20);
                  }},
                 {"max_header_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_header_bytes = s.integer(x, k, 1024, 64 << 20);
                  }},
                 {"spool_bytes_per_response",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.spool_bytes_per_response = s.integer(x, k, 0, big);
                  }},
                 {"spool_bytes_total",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.spool_bytes_total = s.integer(x, k, 0, big);
                  }},
                 {"max_upload_bytes",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_upload_bytes = s.integer(x, k, 1024, big);
                  }},
                 {"max_upload_rows", [&](const toml::node& x,
                                         const std::string& k) { c.limits.max_upload_rows = s.integer(x, k, 1, big); }},
                 {"max_datalink_ids",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.max_datalink_ids = static_cast<int>(s.integer(x, k, 1, 1000000));
                  }},
                 {"upload_fetch_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.limits.upload_fetch_seconds = static_cast<int>(s.integer(x, k, 1, 3600));
                  }},
             });
         }},
        {"auth",
         [&](const toml::node& v, const std::string& key) {
             Section s(as_table(v, key), "auth.", file);
             s.each({
                 {"users_database",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.users_database = resolve(base_dir, s.string(x, k, false));
                  }},
                 {"realm",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.realm = s.string(x, k, false);
                      if (c.auth.realm.find_first_of("\"\\\r\n") != std::string::npos)
                          s.fail(k, "may not hold quotes, backslashes or line breaks");
                  }},
                 {"audit_log",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.audit_log = resolve(base_dir, s.string(x, k, false));
                  }},
                 {"max_failed_logins",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.max_failed_logins = static_cast<int>(s.integer(x, k, 1, 1000000));
                  }},
                 {"failed_login_window_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.failed_login_window_seconds = static_cast<int>(s.integer(x, k, 1, 86400));
                  }},
                 {"cache_seconds",
                  [&](const toml::node& x, const std::string& k) {
                      c.auth.cache_seconds = static_cast<int>(s.integer(x, k, 0, 86400));
                  }},
                 {"jwt",
                  [&](const toml::node& x, const std::string& k) {
                      Section j(as_table(x, k), "auth.jwt.", file);
                      j.each({
                          {"issuer", [&](const toml::node& y,
                                         const std::string& k2) { c.auth.jwt.issuer = j.string(y, k2, false); }},
                          {"audience", [&](const toml::node& y,
                                           const std::string& k2) { c.auth.jwt.audience = j.string(y, k2, false); }},
                          {"public_key",
                           [&](const toml::node& y, const std::string& k2) {
                               c.auth.jwt.public_key_file = resolve(base_dir, j.string(y, k2, false));
                               std::ifstream in(c.auth.jwt.public_key_file, std::ios::binary);
                               std::stringstream text;
                               text << in.rdbuf();
                               if (!in || text.str().find("-----BEGIN PUBLIC KEY-----") == std::string::npos)
                                   j.fail(k2, "cannot read a PEM public key from " + c.auth.jwt.public_key_file);
                               c.auth.jwt.public_key = text.str();
                           }},
                          {"algorithm",
                           [&](const toml::node& y, const std::string& k2) {
                               const std::string a = j.string(y, k2, false);
                               static const char* const known[] = {"RS256", "RS384", "RS512", "ES256", "ES384",
                                                                   "ES512", "PS256", "PS384", "PS512"};
                               if (std::find(std::begin(known), std::end(known), a) == std::end(known))
                                   j.fail(k2, "must be an asymmetric JWS algorithm (RS256, ES256, PS256, ...; got \"" +
                                                  a + "\")");
                               c.auth.jwt.algorithm = a;
                           }},
                          {"user_claim",
                           [&](const toml::node& y, const std::string& k2) {
                               c.auth.jwt.user_claim = j.string(y, k2, false);
                           }},
                          {"leeway_seconds",
                           [&](const toml::node& y, const std::string& k2) {
                               c.auth.jwt.leeway_seconds = static_cast<int>(j.integer(y, k2, 0, 3600));
                           }},
                      });
                      if (c.auth.jwt.public_key.empty()) j.fail("public_key", "is required for bearer tokens");
                      if (c.auth.jwt.issuer.empty()) j.fail("issuer", "is required for bearer tokens");
                  }},
             });
         }},
        {"collection",
         [&](const toml::node& v, const std::string& key) {
             if (!v.is_array_of_tables())
                 throw ConfigError(file + ": collection: must be an array of tables ([[collection]])");
             std::size_t index = 0;
             for (const auto& item : *v.as_array()) {
                 const std::string prefix = "collection[" + std::to_string(index++) + "].";
                 Section s(*item.as_table(), prefix, file);
                 CollectionConfig col;
                 s.each({
                     {"name",
                      [&](const toml::node& x, const std::string& k) {
                          col.name = s.string(x, k, false);
                          for (char ch : col.name)
                              if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ||
                                    ch == '.'))
                                  s.fail(k,
                                         "may hold only letters, digits, '-', '_' and '.' (it is part of "
                                         "obs_publisher_did; got \"" +
                                             col.name + "\")");
                      }},
                     {"directories",
                      [&](const toml::node& x, const std::string& k) {
                          if (!x.is_array()) s.fail(k, "must be an array of strings");
                          for (const auto& d : *x.as_array()) {
                              if (!d.is_string()) s.fail(k, "must be an array of strings");
                              col.directories.push_back(resolve(base_dir, *d.value<std::string>()));
                          }
                      }},
                     {"description",
                      [&](const toml::node& x, const std::string& k) { col.description = s.string(x, k); }},
                     {"calib_level",
                      [&](const toml::node& x, const std::string& k) {
                          col.calib_level = static_cast<int>(s.integer(x, k, 0, 4));
                      }},
                     {"facility_name",
                      [&](const toml::node& x, const std::string& k) { col.facility_name = s.string(x, k, false); }},
                     {"instrument_name",
                      [&](const toml::node& x, const std::string& k) { col.instrument_name = s.string(x, k, false); }},
                     {"proprietary_months",
                      [&](const toml::node& x, const std::string& k) {
                          col.proprietary_months = static_cast<int>(s.integer(x, k, 0, 1200));
                      }},
                     {"release_date_keyword",
                      [&](const toml::node& x, const std::string& k) {
                          col.release_date_keyword = s.string(x, k, false);
                          if (col.release_date_keyword.size() > 8 ||
                              col.release_date_keyword.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
                                  std::string::npos)
                              s.fail(k, "must be a FITS keyword (up to 8 of A-Z 0-9 - _; got \"" +
                                            col.release_date_keyword + "\")");
                      }},
                     {"metadata_protected",
                      [&](const toml::node& x, const std::string& k) {
                          if (!x.is_boolean()) s.fail(k, "must be true or false");
                          col.metadata_protected = *x.value<bool>();
                      }},
                     {"link",
                      [&](const toml::node& x, const std::string& k) {
                          if (!x.is_array_of_tables()) s.fail(k, "must be an array of tables ([[collection.link]])");
                          std::size_t n = 0;
                          for (const auto& item : *x.as_array()) {
                              Section l(*item.as_table(), prefix + "link[" + std::to_string(n++) + "].", file);
                              CollectionLink link;
                              l.each({
                                  {"semantics",
                                   [&](const toml::node& y, const std::string& key2) {
                                       link.semantics = l.string(y, key2, false);
                                       if (link.semantics[0] != '#' && link.semantics.find("://") == std::string::npos)
                                           l.fail(key2,
                                                  "must be a DataLink core term such as \"#auxiliary\" or a full URI "
                                                  "(got \"" +
                                                      link.semantics + "\")");
                                   }},
                                  {"pattern",
                                   [&](const toml::node& y, const std::string& key2) {
                                       link.pattern = l.string(y, key2, false);
                                       if (link.pattern.find('/') != std::string::npos ||
                                           link.pattern.find("..") != std::string::npos ||
                                           link.pattern.find('\0') != std::string::npos)
                                           l.fail(
                                               key2,
                                               "must name a file in the product's directory (no '/' or '..'; got \"" +
                                                   link.pattern + "\")");
                                   }},
                                  {"description",
                                   [&](const toml::node& y, const std::string& key2) {
                                       link.description = l.string(y, key2);
                                   }},
                                  {"content_type",
                                   [&](const toml::node& y, const std::string& key2) {
                                       link.content_type = l.string(y, key2);
                                   }},
                              });
                              if (link.semantics.empty()) l.fail("semantics", "is required");
                              if (link.pattern.empty()) l.fail("pattern", "is required");
                              col.links.push_back(std::move(link));
                          }
                      }},
                 });
                 if (col.name.empty()) s.fail("name", "is required");
                 if (col.directories.empty()) s.fail("directories", "is required (at least one directory)");
                 for (const auto& other : c.collections)
                     if (other.name == col.name) s.fail("name", "duplicate collection name \"" + col.name + "\"");
                 c.collections.push_back(std::move(col));
             }
         }},
    });

    for (const auto& profile : c.archive.profiles) {
        for (auto& col : load_profile(profile)) {
            for (const auto& other : c.archive.extension_columns)
                if (fold(other.def.name) == fold(col.def.name))
                    throw ConfigError(profile + ": column " + col.def.name +
                                      " is declared twice (also in an earlier profile)");
            c.archive.extension_columns.push_back(std::move(col));
        }
    }
    if (!have_database) c.archive.database = resolve(base_dir, "var/voserver.sqlite");
    if (!web_dir_set) c.server.web_dir = resolve(base_dir, "../web");
    if (c.archive.query_database.empty()) c.archive.query_database = c.archive.database;
    {
        // beside a SQLite store; in var/ beside this file for a PostgreSQL one
        const fs::path dir = obscore::is_postgresql_url(c.archive.database)
                                 ? fs::path(resolve(base_dir, "var"))
                                 : fs::path(c.archive.database).parent_path();
        if (c.archive.jobs_database.empty()) c.archive.jobs_database = (dir / "jobs.sqlite").string();
        if (c.archive.results_dir.empty()) c.archive.results_dir = (dir / "results").string();
        if (c.archive.previews_dir.empty()) c.archive.previews_dir = (dir / "previews").string();
        if (c.auth.users_database.empty()) c.auth.users_database = (dir / "users.sqlite").string();
        if (c.auth.audit_log.empty()) c.auth.audit_log = (dir / "audit.log").string();
    }
    if (c.limits.async_default_seconds > c.limits.async_max_seconds)
        throw ConfigError(file + ": limits.async_default_seconds: must not exceed limits.async_max_seconds");
    if (c.limits.retention_seconds > c.limits.max_retention_seconds)
        throw ConfigError(file + ": limits.retention_seconds: must not exceed limits.max_retention_seconds");
    if (c.demo.out_dir.empty()) c.demo.out_dir = resolve(base_dir, "var/demo/phangs-muse");
    if (c.limits.maxrec_default > c.limits.maxrec_hard)
        throw ConfigError(file + ": limits.maxrec_default: must not exceed limits.maxrec_hard (" +
                          std::to_string(c.limits.maxrec_default) + " > " + std::to_string(c.limits.maxrec_hard) + ")");
    return c;
}

std::string normalized_address(const std::string& text) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(text, ec);
    if (ec) return "";
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

Config load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": cannot read the configuration file");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

std::string default_config_path() {
    if (const char* env = std::getenv("VOSERVER_CONFIG"); env && *env) return env;
    if (fs::exists("conf/voserver.toml")) return "conf/voserver.toml";
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path p = exe.parent_path().parent_path() / "conf" / "voserver.toml";
        if (fs::exists(p)) return p.string();
    }
    return "conf/voserver.toml";
}

}  // namespace vo::server
