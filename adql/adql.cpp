// Entry points of adql/adql.hpp that are not the translator: the syntax check
// and UDF declarations (ADQL 2.1 section 4.3, TAPRegExt 1.0 section 2.3).
#include <cctype>

#include "adql/adql.hpp"
#include "adql/parser.hpp"

namespace vo::adql {

namespace {
std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}
std::string upper_collapse(std::string_view s) {
    std::string r;
    bool space = false;
    for (char c : trim(s)) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space && !r.empty()) r += ' ';
        space = false;
        r += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return r;
}
}  // namespace

std::optional<std::string> check_syntax(std::string_view adql, const std::vector<UdfDecl>& udfs) {
    ParseOptions opt;
    opt.udfs = udfs;
    opt.lenient_ivo_udfs = true;
    try {
        parse(adql, opt);
    } catch (const AdqlError& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

UdfDecl parse_udf_decl(std::string_view form) {
    UdfDecl d;
    d.form = trim(form);
    const std::string& f = d.form;
    auto bad = [&](const std::string& why) -> AdqlError {
        return AdqlError(AdqlError::Kind::Syntax, "malformed UDF declaration '" + f + "': " + why);
    };
    std::size_t i = 0;
    while (i < f.size() && (std::isalnum(static_cast<unsigned char>(f[i])) || f[i] == '_')) ++i;
    if (i == 0 || !std::isalpha(static_cast<unsigned char>(f[0]))) throw bad("expected a function name");
    for (std::size_t k = 0; k < i; ++k) d.name += static_cast<char>(std::tolower(static_cast<unsigned char>(f[k])));
    while (i < f.size() && std::isspace(static_cast<unsigned char>(f[i]))) ++i;
    if (i >= f.size() || f[i] != '(') throw bad("expected '(' after the name");
    ++i;
    int depth = 0;
    std::string arg;
    auto flush = [&]() {
        std::string a = trim(arg);
        arg.clear();
        if (a.empty()) return false;
        std::size_t sp = a.find_first_of(" \t");
        if (sp == std::string::npos) throw bad("argument '" + a + "' needs a name and a type");
        d.arg_types.push_back(upper_collapse(a.substr(sp + 1)));
        return true;
    };
    bool closed = false;
    for (; i < f.size(); ++i) {
        char c = f[i];
        if (c == '(') ++depth;
        if (c == ')') {
            if (depth == 0) {
                if (!flush() && !d.arg_types.empty()) throw bad("empty argument");
                closed = true;
                ++i;
                break;
            }
            --depth;
        }
        if (c == ',' && depth == 0) {
            if (!flush()) throw bad("empty argument");
            continue;
        }
        arg += c;
    }
    if (!closed) throw bad("missing ')'");
    std::string rest = trim(std::string_view(f).substr(i));
    if (rest.rfind("->", 0) != 0) throw bad("expected '-> TYPE' after the arguments");
    d.return_type = upper_collapse(rest.substr(2));
    if (d.return_type.empty()) throw bad("missing return type");
    return d;
}

}  // namespace vo::adql
