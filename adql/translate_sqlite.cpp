// Checker + translator of the ADQL AST into SQLite SQL (the SQLite dialect).
//
// Names are resolved against the Catalog (ADQL 2.1 sections 2.1.5-2.1.7),
// types are inferred for result metadata and checked where ADQL demands it,
// and every construct whose SQLite meaning differs from ADQL's is mapped to
// a function registered by vo::obscore::register_sql_functions
// (obscore/sql_functions.cpp): geometry (adql_point, adql_contains, ...),
// LOG natural, case-sensitive LIKE, ROUND/TRUNCATE/MOD as ADQL defines them.
//
// Geometry values travel between those functions as DALI 1.1 text
// (section 3.3): "ra dec" (point), "ra dec r" (circle), "ra1 dec1 ra2 dec2
// ra3 dec3 ..." (polygon) and, for RANGE_S2D, "range ra_min ra_max dec_min
// dec_max"; a geometry in the select list therefore reaches the client in
// its DALI serialisation.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "adql/adql.hpp"
#include "adql/ast.hpp"
#include "adql/parser.hpp"
#include "adql/stcs.hpp"
#include "adql/units.hpp"

namespace vo::adql {
namespace {

using ast::Expr;
using ast::ExprPtr;
using ast::Ident;
using ast::QueryExpr;
using ast::QueryPtr;
using K = Expr::Kind;

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}
std::string quote_ident(std::string_view s) {
    std::string r = "\"";
    for (char c : s) {
        if (c == '"') r += '"';
        r += c;
    }
    return r + "\"";
}
std::string quote_string(std::string_view s) {
    std::string r = "'";
    for (char c : s) {
        if (c == '\'') r += '\'';
        r += c;
    }
    return r + "'";
}
/// ADQL 2.1 section 2.1.7: regular identifiers case-insensitive, delimited exact.
bool name_matches(const Ident& id, std::string_view name) {
    if (id.delimited) return id.name == name;
    return lower(id.name) == lower(name);
}
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}
std::string suggest(const std::string& wanted, const std::vector<std::string>& candidates) {
    std::vector<std::pair<std::size_t, std::string>> scored;
    std::string w = lower(wanted);
    for (auto& c : candidates) {
        std::string lc = lower(c);
        std::size_t d = edit_distance(w, lc);
        if (lc.find(w) != std::string::npos || w.find(lc) != std::string::npos) d = std::min<std::size_t>(d, 1);
        scored.push_back({d, c});
    }
    std::sort(scored.begin(), scored.end());
    scored.erase(std::unique(scored.begin(), scored.end()), scored.end());
    std::string out;
    int n = 0;
    for (auto& [d, c] : scored) {
        if (n == 3) break;
        if (d > std::max<std::size_t>(2, w.size() / 2) && n > 0) break;
        out += (n ? ", " : "") + c;
        ++n;
    }
    return out.empty() ? "" : " (did you mean " + out + "?)";
}
std::string path_text(const std::vector<Ident>& p) {
    std::string s;
    for (auto& i : p) s += (s.empty() ? "" : ".") + (i.delimited ? "\"" + i.name + "\"" : i.name);
    return s;
}

// ------------------------------------------------------------------ types

enum class Base { Null, Integer, Double, String, Geometry, Timestamp, Bool, Unknown };

struct Typed {
    std::string sql;
    Base base = Base::Unknown;
    std::string geom;     // point, circle, polygon, range, "" (any)
    ColumnInfo info;      // metadata for the result column
    bool aggregate = false;
    // POINT(x, y) with numeric args: the coordinate SQL, for specialised calls
    std::optional<std::pair<std::string, std::string>> point_xy;
    std::optional<std::array<std::string, 3>> circle_xyr;
};

Base base_of(const ColumnInfo& c) {
    // DALI 1.1 geometry xtypes, and adql:REGION (ObsCore's s_region as STC-S text).
    if (c.xtype == "point" || c.xtype == "circle" || c.xtype == "polygon" || c.xtype == "region" ||
        c.xtype == "moc" || c.xtype == "adql:REGION" || c.xtype == "adql:region")
        return Base::Geometry;
    if (c.xtype == "timestamp") return Base::Timestamp;
    if (c.datatype == "char" || c.datatype == "unicodeChar") return Base::String;
    if (!c.arraysize.empty()) return Base::Unknown;
    if (c.datatype == "short" || c.datatype == "int" || c.datatype == "long" || c.datatype == "boolean" ||
        c.datatype == "unsignedByte")
        return Base::Integer;
    if (c.datatype == "float" || c.datatype == "double") return Base::Double;
    return Base::Unknown;
}
const char* base_name(Base b) {
    switch (b) {
        case Base::Null: return "NULL";
        case Base::Integer: return "an integer";
        case Base::Double: return "a floating-point number";
        case Base::String: return "a character string";
        case Base::Geometry: return "a geometry";
        case Base::Timestamp: return "a timestamp";
        case Base::Bool: return "a condition";
        default: return "a value";
    }
}
void set_scalar_meta(Typed& t, Base b) {
    t.base = b;
    t.info.xtype.clear();
    t.info.arraysize.clear();
    switch (b) {
        case Base::Integer: t.info.datatype = "long"; break;
        case Base::Double: case Base::Null: case Base::Unknown: t.info.datatype = "double"; break;
        case Base::String: t.info.datatype = "char"; t.info.arraysize = "*"; break;
        case Base::Timestamp: t.info.datatype = "char"; t.info.arraysize = "*"; t.info.xtype = "timestamp"; break;
        case Base::Bool: t.info.datatype = "boolean"; break;
        case Base::Geometry: t.info.datatype = "double"; t.info.arraysize = "*"; break;
    }
}
Typed scalar(std::string sql, Base b) {
    Typed t;
    t.sql = std::move(sql);
    set_scalar_meta(t, b);
    return t;
}
Typed geometry(std::string sql, const std::string& kind) {
    Typed t;
    t.sql = std::move(sql);
    t.base = Base::Geometry;
    t.geom = kind;
    t.info.datatype = "double";
    t.info.arraysize = kind == "point" ? "2" : kind == "circle" ? "3" : "*";
    t.info.xtype = kind == "range" ? "" : kind;
    t.info.unit = "deg";
    if (kind == "point") t.info.ucd = "pos.eq";
    return t;
}

// ------------------------------------------------------------------ scopes

struct RCol {
    std::string name;   // ADQL name
    std::string sql;    // SQL expression
    ColumnInfo info;
};
struct Range {
    std::string schema, table;          // for base tables (ADQL names)
    std::optional<Ident> alias;
    std::string label;                  // for messages
    std::vector<RCol> cols;
    std::string sql_alias;              // base tables: the SQL correlation name
    const SpatialIndexInfo* sindex = nullptr;  // base tables with a spatial index
};
struct Merged {                         // a NATURAL/USING column
    std::string name;
    std::string sql;
    ColumnInfo info;
};
struct Scope {
    std::vector<Range> ranges;
    std::vector<Merged> merged;
    std::vector<RCol> star;             // columns of SELECT *
    const Scope* outer = nullptr;
    // select-list aliases, visible in ORDER BY / GROUP BY / HAVING
    std::vector<std::pair<std::string, Typed>> aliases;
};

struct Cte {
    Ident name;
    std::string sql_name;
    std::vector<RCol> cols;  // sql = output column name
};

struct OutCol {
    std::string name;
    Typed t;
};
struct SubResult {
    std::string sql;
    std::vector<OutCol> cols;
};

constexpr const char* kPi = "3.141592653589793";

class Translator {
public:
    Translator(const Catalog& cat, const TranslateOptions& opt) : cat_(cat), opt_(opt) {}

    Translation run(const ast::Statement& st) {
        std::string with;
        for (auto& w : st.with) {
            for (auto& c : ctes_)
                if (name_matches(w.name, c.name.name) || name_matches(c.name, w.name.name))
                    throw AdqlError(AdqlError::Kind::UnknownName, "WITH: the name " + w.name.name + " is defined twice");
            SubResult r = query(*w.query, nullptr, false);
            Cte c;
            c.name = w.name;
            c.sql_name = "w" + std::to_string(ctes_.size() + 1);
            for (auto& oc : r.cols) c.cols.push_back({oc.name, quote_ident(oc.name), oc.t.info});
            with += (with.empty() ? "WITH " : ", ") + quote_ident(c.sql_name) + " AS (" + r.sql + ")";
            ctes_.push_back(std::move(c));
        }
        SubResult r = query(*st.body, nullptr, true);
        Translation tr;
        tr.sql = with.empty() ? r.sql : with + " " + r.sql;
        for (auto& oc : r.cols) {
            ColumnInfo ci = oc.t.info;
            ci.name = oc.name;
            ci.physical = oc.name;
            tr.columns.push_back(std::move(ci));
        }
        tr.top = top_;
        return tr;
    }

private:
    const Catalog& cat_;
    const TranslateOptions& opt_;
    std::vector<Cte> ctes_;
    int next_alias_ = 0;
    std::optional<std::int64_t> top_;

    [[noreturn]] static void error(AdqlError::Kind k, const std::string& msg, int line = 0, int col = 0) {
        std::string where = line > 0 ? " (line " + std::to_string(line) + ", column " + std::to_string(col) + ")" : "";
        throw AdqlError(k, msg + where, line, col);
    }
    [[noreturn]] static void error_at(AdqlError::Kind k, const Expr& e, const std::string& msg) {
        error(k, msg, e.line, e.column);
    }

    // ---------------------------------------------------------- queries

    SubResult query(const QueryExpr& q, const Scope* outer, bool outermost) {
        switch (q.kind) {
            case QueryExpr::Kind::Select:
                return select(q, outer, outermost);
            case QueryExpr::Kind::Nested: {
                SubResult in = query(*q.left, outer, false);
                return finish_compound(q, "SELECT * FROM (" + in.sql + ")", in.cols, outermost);
            }
            default: {
                SubResult l = query(*q.left, outer, false);
                SubResult r = query(*q.right, outer, false);
                if (l.cols.size() != r.cols.size())
                    error(AdqlError::Kind::Type,
                          "the operands of " + std::string(q.kind == QueryExpr::Kind::Union ? "UNION"
                                                           : q.kind == QueryExpr::Kind::Except ? "EXCEPT"
                                                                                              : "INTERSECT") +
                              " have different numbers of columns (" + std::to_string(l.cols.size()) + " and " +
                              std::to_string(r.cols.size()) + ")",
                          q.line, q.column);
                std::string sql;
                const char* op = q.kind == QueryExpr::Kind::Union ? "UNION"
                                 : q.kind == QueryExpr::Kind::Except ? "EXCEPT" : "INTERSECT";
                if (q.all && q.kind != QueryExpr::Kind::Union) {
                    // SQLite has no INTERSECT ALL / EXCEPT ALL: number the duplicates
                    // and compare (row, occurrence) pairs, which is the multiset rule.
                    auto numbered = [&](const SubResult& s) {
                        std::string part;
                        for (auto& c : s.cols) part += (part.empty() ? "" : ", ") + quote_ident(c.name);
                        return "SELECT *, row_number() OVER (PARTITION BY " + part + ") AS \"__occ\" FROM (" +
                               s.sql + ")";
                    };
                    std::string cols;
                    for (auto& c : l.cols) cols += (cols.empty() ? "" : ", ") + quote_ident(c.name);
                    sql = "SELECT " + cols + " FROM (" + numbered(l) + " " + op + " " + numbered(r) + ")";
                } else {
                    sql = "SELECT * FROM (" + l.sql + ") " + op + (q.all ? " ALL " : " ") + "SELECT * FROM (" +
                          r.sql + ")";
                }
                return finish_compound(q, sql, l.cols, outermost);
            }
        }
    }

    std::string limit_clause(std::optional<std::int64_t> top, std::optional<std::int64_t> offset, bool outermost) {
        std::optional<std::int64_t> lim = top;
        if (outermost && opt_.row_limit) lim = lim ? std::min(*lim, *opt_.row_limit) : *opt_.row_limit;
        std::string s;
        if (lim) s += " LIMIT " + std::to_string(*lim);
        if (offset) s += (lim ? "" : " LIMIT -1") + std::string(" OFFSET ") + std::to_string(*offset);
        return s;
    }

    // ORDER BY on a compound: only output columns (by name or position).
    SubResult finish_compound(const QueryExpr& q, std::string sql, const std::vector<OutCol>& cols, bool outermost) {
        if (!q.order_by.empty()) {
            std::string ob;
            for (auto& it : q.order_by) {
                std::string term;
                const Expr& e = *it.expr;
                if (e.kind == K::Number && e.is_integer) {
                    term = position_term(e, cols.size());
                } else if (e.kind == K::Column && e.path.size() == 1) {
                    for (auto& c : cols)
                        if (name_matches(e.path[0], c.name)) term = quote_ident(c.name);
                    if (term.empty()) {
                        std::vector<std::string> names;
                        for (auto& c : cols) names.push_back(c.name);
                        error_at(AdqlError::Kind::UnknownName, e,
                                 "ORDER BY: unknown column " + path_text(e.path) + suggest(e.path[0].name, names));
                    }
                } else {
                    error_at(AdqlError::Kind::Unsupported, e,
                             "ORDER BY after a set operation may only name output columns");
                }
                ob += (ob.empty() ? "" : ", ") + term + (it.desc ? " DESC" : " ASC");
            }
            sql = "SELECT * FROM (" + sql + ") ORDER BY " + ob;
        }
        sql += limit_clause(std::nullopt, q.offset, outermost);
        return {sql, cols};
    }

    static std::string position_term(const Expr& e, std::size_t n) {
        long long p = std::atoll(e.text.c_str());
        if (p < 1 || static_cast<std::size_t>(p) > n)
            error_at(AdqlError::Kind::UnknownName, e,
                     "ORDER BY " + e.text + ": there are only " + std::to_string(n) + " columns");
        return std::to_string(p);
    }

    SubResult select(const QueryExpr& q, const Scope* outer, bool outermost) {
        const ast::SelectCore& s = *q.select;
        Scope scope;
        scope.outer = outer;
        std::string from;
        for (auto& tr : s.from) {
            std::vector<RCol> star;
            std::string part = from_item(*tr, scope, star);
            from += (from.empty() ? "" : ", ") + part;
            scope.star.insert(scope.star.end(), star.begin(), star.end());
        }
        // select list
        std::vector<OutCol> cols;
        std::string list;
        std::set<std::string> used;
        auto add = [&](std::string name, Typed t) {
            std::string base = name.empty() ? "col" : name, n = base;
            for (int k = 2; used.count(lower(n)); ++k) n = base + "_" + std::to_string(k);
            used.insert(lower(n));
            list += (list.empty() ? "" : ", ") + t.sql + " AS " + quote_ident(n);
            cols.push_back({n, std::move(t)});
        };
        bool has_aggregate = false;
        for (auto& item : s.items) {
            if (item.star) {
                const std::vector<RCol>* src = &scope.star;
                if (!item.star_qualifier.empty()) src = &find_range(scope, item.star_qualifier, item.line, item.column).cols;
                for (auto& c : *src) {
                    Typed t;
                    t.sql = c.sql;
                    t.info = c.info;
                    t.base = base_of(c.info);
                    add(c.name, t);
                }
                continue;
            }
            Typed t = expr(*item.expr, scope);
            if (t.base == Base::Bool) error_at(AdqlError::Kind::Type, *item.expr, "a condition cannot be selected");
            has_aggregate |= t.aggregate;
            std::string name;
            if (item.alias) name = item.alias->name;
            else name = default_name(*item.expr);
            if (!item.alias && t.info.name.empty()) t.info.name = name;
            add(name, t);
            if (item.alias) scope.aliases.push_back({item.alias->name, cols.back().t});
        }
        for (auto& c : cols) scope.aliases.push_back({c.name, c.t});

        std::string sql = std::string("SELECT ") + (s.distinct ? "DISTINCT " : "") + list + " FROM " + from;
        if (s.where) {
            std::string cond = condition(*s.where, scope, "WHERE");
            std::string pre = spatial_prefilter(*s.where, scope);
            sql += " WHERE " + (pre.empty() ? cond : "(" + cond + ")" + pre);
        }
        std::vector<std::string> grouped;  // SQL of the GROUP BY expressions
        if (!s.group_by.empty()) {
            std::string g;
            for (auto& e : s.group_by) {
                grouped.push_back(expr(*e, scope, true).sql);
                g += (g.empty() ? "" : ", ") + grouped.back();
            }
            sql += " GROUP BY " + g;
        }
        if (has_aggregate || !s.group_by.empty() || s.having) check_grouping(s, scope, grouped);
        if (s.having) sql += " HAVING " + condition(*s.having, scope, "HAVING", true);
        if (!q.order_by.empty()) {
            std::string ob;
            for (auto& it : q.order_by) {
                std::string term;
                if (it.expr->kind == K::Number && it.expr->is_integer) term = position_term(*it.expr, cols.size());
                else term = expr(*it.expr, scope, true).sql;
                ob += (ob.empty() ? "" : ", ") + term + (it.desc ? " DESC" : " ASC");
            }
            sql += " ORDER BY " + ob;
        }
        if (outermost && s.top) top_ = s.top;
        sql += limit_clause(s.top, q.offset, outermost);
        return {sql, cols};
    }

    // ---------------------------------------------------------- grouping

    /// SQL-92 section 7.9 / ADQL 2.1 section 2.2: in a grouped query (GROUP
    /// BY, an aggregate in the select list, or HAVING) every column reference
    /// of the select list and of HAVING outside an aggregate function must be
    /// one of the GROUP BY expressions (or a column of one). Throws
    /// AdqlError(Type) naming the column and the clause.
    void check_grouping(const ast::SelectCore& s, const Scope& scope, const std::vector<std::string>& grouped) {
        const auto is_grouped = [&](const std::string& sql) {
            return std::find(grouped.begin(), grouped.end(), sql) != grouped.end();
        };
        // column references outside aggregates and subqueries
        std::function<void(const Expr&, const char*, bool)> walk = [&](const Expr& e, const char* clause, bool alias) {
            if (e.kind == K::Aggregate || e.kind == K::Subquery || e.kind == K::Exists) return;
            if (e.kind == K::Function && e.is_udf && e.text == "ivo_string_agg") return;  // an aggregate UDF
            if (e.kind == K::In && e.query) {
                walk(*e.args[0], clause, alias);
                return;
            }
            if (e.kind == K::Column) {
                Typed t = column(e, scope, alias);
                if (t.aggregate || is_grouped(t.sql)) return;
                std::string name;
                for (const auto& part : e.path) name += (name.empty() ? "" : ".") + part.name;
                error_at(AdqlError::Kind::Type, e,
                         name + " " + clause + " must appear in GROUP BY or be used inside an aggregate function");
            }
            for (const auto& a : e.args) walk(*a, clause, alias);
        };
        for (const auto& item : s.items) {
            if (item.star) {
                const std::vector<RCol>* src = &scope.star;
                if (!item.star_qualifier.empty()) src = &find_range(scope, item.star_qualifier, item.line, item.column).cols;
                for (const auto& c : *src)
                    if (!is_grouped(c.sql))
                        error(AdqlError::Kind::Type,
                              "* selects " + c.name + ", which must appear in GROUP BY or be used inside an aggregate function",
                              item.line, item.column);
                continue;
            }
            if (is_grouped(expr(*item.expr, scope).sql)) continue;
            walk(*item.expr, "in the select list", false);
        }
        if (s.having) walk(*s.having, "in HAVING", true);
    }

    // ---------------------------------------------------------- spatial index

    // Issue 3 item 3: WHERE conjuncts that a spatial index can pre-filter.
    // For each conjunct
    //   CONTAINS(POINT(ra, dec), shape) = 1, INTERSECTS(POINT(ra, dec), shape) = 1
    //     (either order for INTERSECTS)                          -> point cells
    //   INTERSECTS(region, shape) = 1, CONTAINS(region, shape) = 1,
    //   CONTAINS(shape, region) = 1 (either order of INTERSECTS)  -> region cells
    //   DISTANCE(POINT(ra, dec), POINT(x, y)) < r (or <=, either order, the
    //     4-argument form, also r > DISTANCE(..))                 -> point cells of CIRCLE(x, y, r)
    // (also `1 = ...`), where ra/dec/region are the indexed columns of one base
    // table of this FROM clause and the shape is constant, adds
    //   AND alias.rowid IN (SELECT row_id FROM cells matching the shape's covering)
    // The exact test stays, so the result is unchanged. `= 0` cannot be
    // pre-filtered (the complement of a covering is not a superset).
    std::string spatial_prefilter(const Expr& where, const Scope& scope) {
        std::vector<const Expr*> conj;
        std::function<void(const Expr&)> flatten = [&](const Expr& e) {
            if (e.kind == K::And) {
                flatten(*e.args[0]);
                flatten(*e.args[1]);
            } else if (e.kind == K::Paren) {
                flatten(*e.args[0]);
            } else {
                conj.push_back(&e);
            }
        };
        flatten(where);
        std::string out;
        std::set<std::string> seen;
        for (const Expr* c : conj) {
            std::string p = prefilter_one(*c, scope);
            if (!p.empty() && seen.insert(p).second) out += " AND " + p;
        }
        return out;
    }

    static const Expr& unparen(const Expr& e) { return e.kind == K::Paren ? unparen(*e.args[0]) : e; }

    // Whether `e` can be computed without the row of range `r`: constants,
    // and columns of other tables (of this FROM clause or an outer query), so
    // that a shape built from them can drive r's spatial index row by row
    // (an upload cross-matched with obscore, TAP 1.1 section 2.5). Columns
    // are matched by name conservatively: an unqualified name that r has
    // counts as r's.
    static bool independent_of(const Expr& e, const Range& r) {
        switch (e.kind) {
            case K::Null: case K::Number: case K::String: return true;
            case K::Column: {
                if (e.path.size() > 1) return !range_matches(r, std::vector<Ident>(e.path.begin(), e.path.end() - 1));
                for (auto& col : r.cols)
                    if (name_matches(e.path.back(), col.name)) return false;
                return true;
            }
            case K::Unary: case K::Binary: case K::Paren: case K::Cast:
                break;
            case K::Function:
                if (e.is_udf && e.text != "range_s2d") return false;
                if (e.text == "RAND") return false;
                break;
            default: return false;
        }
        return std::all_of(e.args.begin(), e.args.end(), [&](const ExprPtr& a) { return a && independent_of(*a, r); });
    }

    // The range (of this scope) and ADQL column name a column reference
    // resolves to, or nullptr.
    const Range* column_range(const Expr& e, const Scope& scope, std::string& name) {
        const Expr& c = unparen(e);
        if (c.kind != K::Column) return nullptr;
        const Ident& cname = c.path.back();
        for (auto& m : scope.merged)
            if (name_matches(cname, m.name)) return nullptr;
        const Range* found = nullptr;
        for (auto& r : scope.ranges) {
            if (c.path.size() > 1 && !range_matches(r, std::vector<Ident>(c.path.begin(), c.path.end() - 1)))
                continue;
            for (auto& col : r.cols)
                if (name_matches(cname, col.name)) {
                    if (found && found != &r) return nullptr;
                    found = &r;
                    name = col.name;
                }
        }
        return found;
    }

    // POINT(ra, dec) on the indexed point columns of one range.
    const Range* indexed_point(const Expr& e, const Scope& scope) {
        const Expr& p = unparen(e);
        if (p.kind != K::Function || p.text != "POINT" || p.args.size() != 2) return nullptr;
        return indexed_pair(*p.args[0], *p.args[1], scope);
    }
    const Range* indexed_pair(const Expr& ra, const Expr& dec, const Scope& scope) {
        std::string n1, n2;
        const Range* r1 = column_range(ra, scope, n1);
        const Range* r2 = column_range(dec, scope, n2);
        if (!r1 || r1 != r2 || !r1->sindex || r1->sindex->ra.empty()) return nullptr;
        if (lower(n1) != lower(r1->sindex->ra) || lower(n2) != lower(r1->sindex->dec)) return nullptr;
        return r1;
    }
    const Range* indexed_region(const Expr& e, const Scope& scope) {
        std::string n;
        const Range* r = column_range(e, scope, n);
        if (!r || !r->sindex || r->sindex->region.empty() || lower(n) != lower(r->sindex->region)) return nullptr;
        return r;
    }

    std::string lookup(const Range& r, const std::string& shape_sql, int kind) {
        const SpatialIndexInfo& si = *r.sindex;
        std::string k = std::to_string(kind);
        return quote_ident(r.sql_alias) + ".rowid IN (SELECT \"s\".row_id FROM " + si.cover_function + "(" + shape_sql +
               ", " + k + ") AS \"c\" CROSS JOIN " + quote_ident(si.cell_table) + " AS \"s\" ON \"s\".kind = " + k +
               " AND \"s\".cell BETWEEN \"c\".lo AND \"c\".hi)";
    }

    // `pt` = POINT(x, y) and `circ` = CIRCLE(ra, dec, r) or CIRCLE(POINT(ra,
    // dec), r) with (ra, dec) the indexed point of a range that x, y and r do
    // not depend on: the lookup of CIRCLE(x, y, r) in its point cells.
    std::string circle_on_index(const Expr& pt0, const Expr& circ0, const Scope& scope) {
        const Expr& pt = unparen(pt0);
        const Expr& circ = unparen(circ0);
        if (pt.kind != K::Function || pt.text != "POINT" || pt.args.size() != 2) return {};
        if (circ.kind != K::Function || circ.text != "CIRCLE") return {};
        const Range* rg = nullptr;
        const Expr* radius = nullptr;
        if (circ.args.size() == 3) {
            rg = indexed_pair(*circ.args[0], *circ.args[1], scope);
            radius = circ.args[2].get();
        } else if (circ.args.size() == 2) {
            rg = indexed_point(*circ.args[0], scope);
            radius = circ.args[1].get();
        }
        if (!rg || !independent_of(*pt.args[0], *rg) || !independent_of(*pt.args[1], *rg) ||
            !independent_of(*radius, *rg))
            return {};
        return lookup(*rg, "adql_circle(" + expr(*pt.args[0], scope).sql + ", " + expr(*pt.args[1], scope).sql +
                               ", max(" + expr(*radius, scope).sql + ", 0))", 0);
    }

    std::string prefilter_one(const Expr& c0, const Scope& scope) {
        const Expr& c = unparen(c0);
        if (c.kind != K::Compare) return {};
        const Expr& l = unparen(*c.args[0]);
        const Expr& r = unparen(*c.args[1]);
        auto is_one = [](const Expr& e) { return e.kind == K::Number && e.is_integer && std::atoll(e.text.c_str()) == 1; };
        if (c.op == "=") {
            const Expr* f = is_one(r) && is_predicate_fn(l) ? &l : is_one(l) && is_predicate_fn(r) ? &r : nullptr;
            if (!f || f->args.size() != 2) return {};
            const Expr& a = unparen(*f->args[0]);
            const Expr& b = unparen(*f->args[1]);
            bool contains = f->text == "CONTAINS";
            auto shape = [&](const Expr& e) { return expr(e, scope).sql; };
            if (const Range* rg = indexed_point(a, scope); rg && independent_of(b, *rg)) return lookup(*rg, shape(b), 0);
            if (!contains)
                if (const Range* rg = indexed_point(b, scope); rg && independent_of(a, *rg)) return lookup(*rg, shape(a), 0);
            if (const Range* rg = indexed_region(a, scope); rg && independent_of(b, *rg)) return lookup(*rg, shape(b), 1);
            if (const Range* rg = indexed_region(b, scope); rg && independent_of(a, *rg)) return lookup(*rg, shape(a), 1);
            // POINT(x, y) in a CIRCLE centred on the indexed point: the same
            // as the indexed point in the CIRCLE of that radius around (x, y).
            if (std::string p = circle_on_index(a, b, scope); !p.empty()) return p;
            if (!contains)
                if (std::string p = circle_on_index(b, a, scope); !p.empty()) return p;
            return {};
        }
        // DISTANCE(...) < r
        const Expr* dist = nullptr;
        const Expr* radius = nullptr;
        if ((c.op == "<" || c.op == "<=") && l.kind == K::Function && l.text == "DISTANCE") dist = &l, radius = &r;
        if ((c.op == ">" || c.op == ">=") && r.kind == K::Function && r.text == "DISTANCE") dist = &r, radius = &l;
        if (!dist) return {};
        const Range* rg = nullptr;
        const Expr* cx = nullptr;
        const Expr* cy = nullptr;
        const auto& d = dist->args;
        if (d.size() == 4) {
            if ((rg = indexed_pair(*d[0], *d[1], scope))) cx = d[2].get(), cy = d[3].get();
            else if ((rg = indexed_pair(*d[2], *d[3], scope))) cx = d[0].get(), cy = d[1].get();
        } else if (d.size() == 2) {
            auto centre = [&](const Expr& p) {
                const Expr& q = unparen(p);
                if (q.kind == K::Function && q.text == "POINT" && q.args.size() == 2) cx = q.args[0].get(), cy = q.args[1].get();
            };
            if ((rg = indexed_point(*d[0], scope))) centre(*d[1]);
            else if ((rg = indexed_point(*d[1], scope))) centre(*d[0]);
        }
        if (!rg || !cx || !cy || !independent_of(*cx, *rg) || !independent_of(*cy, *rg) || !independent_of(*radius, *rg))
            return {};
        return lookup(*rg, "adql_circle(" + expr(*cx, scope).sql + ", " + expr(*cy, scope).sql + ", max(" +
                               expr(*radius, scope).sql + ", 0))", 0);
    }

    static std::string default_name(const Expr& e) {
        switch (e.kind) {
            case K::Column: return e.path.back().name;
            case K::Function: case K::Aggregate: return lower(e.text);
            case K::Cast: return "cast";
            case K::Paren: return default_name(*e.args[0]);
            default: return "expr";
        }
    }

    // ---------------------------------------------------------- FROM

    std::string fresh_alias() { return "t" + std::to_string(++next_alias_); }

    std::string from_item(const ast::TableRef& t, Scope& scope, std::vector<RCol>& star) {
        switch (t.kind) {
            case ast::TableRef::Kind::Table: {
                Range r;
                r.alias = t.alias;
                std::string sa = fresh_alias();
                std::string physical;
                const Cte* cte = nullptr;
                if (t.name.size() == 1)
                    for (auto& c : ctes_)
                        if (name_matches(t.name[0], c.name.name)) cte = &c;
                if (cte) {
                    physical = cte->sql_name;
                    r.table = cte->name.name;
                    for (auto& c : cte->cols) r.cols.push_back({c.name, quote_ident(sa) + "." + c.sql, c.info});
                } else {
                    const TableInfo& ti = find_table(t);
                    physical = ti.physical;
                    r.sql_alias = sa;
                    if (ti.spatial_index) r.sindex = &*ti.spatial_index;
                    r.schema = ti.schema;
                    r.table = ti.name;
                    for (auto& c : ti.columns) {
                        std::string ref = quote_ident(sa) + "." + quote_ident(c.physical);
                        if (!c.sql_template.empty()) {  // a value completed at query time
                            std::string t = c.sql_template;
                            for (std::size_t at = 0; (at = t.find("{}", at)) != std::string::npos; at += ref.size())
                                t.replace(at, 2, ref);
                            ref = "(" + t + ")";
                        }
                        r.cols.push_back({c.name, std::move(ref), c});
                    }
                }
                r.label = t.alias ? t.alias->name : path_text(t.name);
                star = r.cols;
                scope.ranges.push_back(std::move(r));
                return quote_ident(physical) + " AS " + quote_ident(sa);
            }
            case ast::TableRef::Kind::Derived: {
                SubResult sub = query(*t.subquery, scope.outer, false);
                Range r;
                r.alias = t.alias;
                r.label = t.alias->name;
                std::string sa = fresh_alias();
                for (auto& oc : sub.cols) r.cols.push_back({oc.name, quote_ident(sa) + "." + quote_ident(oc.name), oc.t.info});
                star = r.cols;
                scope.ranges.push_back(std::move(r));
                return "(" + sub.sql + ") AS " + quote_ident(sa);
            }
            case ast::TableRef::Kind::Join: {
                std::vector<RCol> ls, rs;
                std::string l = from_item(*t.left, scope, ls);
                std::string r = from_item(*t.right, scope, rs);
                std::vector<std::string> common;
                if (t.natural) {
                    for (auto& a : ls)
                        for (auto& b : rs)
                            if (lower(a.name) == lower(b.name)) common.push_back(a.name);
                } else if (t.has_using) {
                    for (auto& u : t.using_columns) {
                        auto in = [&](const std::vector<RCol>& v) {
                            return std::any_of(v.begin(), v.end(), [&](const RCol& c) { return name_matches(u, c.name); });
                        };
                        if (!in(ls) || !in(rs))
                            error(AdqlError::Kind::UnknownName,
                                  "USING: column " + u.name + " is not in both joined tables", t.line, t.column);
                        for (auto& a : ls)
                            if (name_matches(u, a.name)) common.push_back(a.name);
                    }
                }
                std::string on;
                std::vector<RCol> merged_star;
                std::set<std::string> merged_names;
                for (auto& name : common) {
                    const RCol* a = nullptr;
                    const RCol* b = nullptr;
                    for (auto& c : ls)
                        if (lower(c.name) == lower(name)) a = &c;
                    for (auto& c : rs)
                        if (lower(c.name) == lower(name)) b = &c;
                    on += (on.empty() ? "" : " AND ") + a->sql + " = " + b->sql;
                    std::string m = t.join_type == ast::TableRef::JoinType::Inner || t.join_type == ast::TableRef::JoinType::Left
                                        ? a->sql
                                    : t.join_type == ast::TableRef::JoinType::Right ? b->sql
                                                                                    : "coalesce(" + a->sql + ", " + b->sql + ")";
                    scope.merged.push_back({a->name, m, a->info});
                    merged_star.push_back({a->name, m, a->info});
                    merged_names.insert(lower(name));
                }
                if (t.on) {
                    on = condition(*t.on, scope, "ON");
                    // the spatial index also serves join conditions (cross-matches)
                    if (std::string pre = spatial_prefilter(*t.on, scope); !pre.empty()) on = "(" + on + ")" + pre;
                }
                star = merged_star;
                for (auto& c : ls)
                    if (!merged_names.count(lower(c.name))) star.push_back(c);
                for (auto& c : rs)
                    if (!merged_names.count(lower(c.name))) star.push_back(c);
                const char* jt = t.join_type == ast::TableRef::JoinType::Inner ? "INNER"
                                 : t.join_type == ast::TableRef::JoinType::Left ? "LEFT OUTER"
                                 : t.join_type == ast::TableRef::JoinType::Right ? "RIGHT OUTER" : "FULL OUTER";
                return "(" + l + " " + jt + " JOIN " + r + " ON " + (on.empty() ? "1" : on) + ")";
            }
        }
        return {};
    }

    const TableInfo& find_table(const ast::TableRef& t) {
        const auto& name = t.name;
        const Ident& table = name.back();
        const Ident* schema = name.size() >= 2 ? &name[name.size() - 2] : nullptr;
        const TableInfo* found = nullptr;
        int matches = 0;
        for (auto& ti : cat_.tables()) {
            if (!name_matches(table, ti.name)) continue;
            if (schema && !name_matches(*schema, ti.schema)) continue;
            found = &ti;
            ++matches;
        }
        if (matches == 1) return *found;
        std::vector<std::string> names;
        for (auto& ti : cat_.tables()) names.push_back(ti.schema.empty() ? ti.name : ti.schema + "." + ti.name);
        for (auto& c : ctes_) names.push_back(c.name.name);
        if (matches > 1)
            error(AdqlError::Kind::UnknownName, "ambiguous table name " + path_text(name) + ": qualify it with its schema",
                  t.line, t.column);
        error(AdqlError::Kind::UnknownName,
              "unknown table " + path_text(name) + suggest(schema ? schema->name + "." + table.name : table.name, names),
              t.line, t.column);
    }

    static bool range_matches(const Range& r, const std::vector<Ident>& q) {
        if (r.alias) return q.size() == 1 && name_matches(q[0], r.alias->name);
        if (q.empty() || !name_matches(q.back(), r.table)) return false;
        if (q.size() >= 2 && !name_matches(q[q.size() - 2], r.schema)) return false;
        return true;
    }

    const Range& find_range(const Scope& scope, const std::vector<Ident>& q, int line, int col) {
        for (const Scope* s = &scope; s; s = s->outer)
            for (auto& r : s->ranges)
                if (range_matches(r, q)) return r;
        std::vector<std::string> names;
        for (auto& r : scope.ranges) names.push_back(r.label);
        error(AdqlError::Kind::UnknownName,
              "unknown table or correlation name " + path_text(q) + suggest(q.back().name, names), line, col);
    }

    Typed column(const Expr& e, const Scope& scope, bool allow_alias) {
        const Ident& cname = e.path.back();
        auto from_rcol = [](const std::string& sql, const ColumnInfo& info) {
            Typed t;
            t.sql = sql;
            t.info = info;
            t.base = base_of(info);
            if (t.base == Base::Geometry) t.geom = info.xtype;
            return t;
        };
        if (e.path.size() == 1) {
            for (const Scope* s = &scope; s; s = s->outer) {
                for (auto& m : s->merged)
                    if (name_matches(cname, m.name)) return from_rcol(m.sql, m.info);
                const RCol* hit = nullptr;
                for (auto& r : s->ranges)
                    for (auto& c : r.cols)
                        if (name_matches(cname, c.name)) {
                            if (hit && hit->sql != c.sql)
                                error_at(AdqlError::Kind::UnknownName, e,
                                         "ambiguous column name " + cname.name + ": qualify it with its table");
                            hit = &c;
                        }
                if (hit) return from_rcol(hit->sql, hit->info);
                if (allow_alias && s == &scope)
                    for (auto& [n, t] : s->aliases)
                        if (name_matches(cname, n)) return t;
            }
        } else {
            std::vector<Ident> q(e.path.begin(), e.path.end() - 1);
            const Range& r = find_range(scope, q, e.line, e.column);
            for (auto& c : r.cols)
                if (name_matches(cname, c.name)) return from_rcol(c.sql, c.info);
            std::vector<std::string> names;
            for (auto& c : r.cols) names.push_back(c.name);
            error_at(AdqlError::Kind::UnknownName, e,
                     "unknown column " + path_text(e.path) + " in " + r.label + suggest(cname.name, names));
        }
        std::vector<std::string> names;
        for (auto& r : scope.ranges)
            for (auto& c : r.cols) names.push_back(c.name);
        error_at(AdqlError::Kind::UnknownName, e, "unknown column " + path_text(e.path) + suggest(cname.name, names));
    }

    // ---------------------------------------------------------- expressions

    std::string condition(const Expr& e, const Scope& scope, const char* where, bool allow_alias = false) {
        Typed t = expr(e, scope, allow_alias);
        return t.sql;
    }

    void need_numeric(const Typed& t, const Expr& e, const std::string& what) {
        if (t.base == Base::String || t.base == Base::Geometry || t.base == Base::Bool || t.base == Base::Timestamp)
            error_at(AdqlError::Kind::Type, e, what + " must be numeric, found " + base_name(t.base));
    }
    Typed need_geometry(const Typed& t, const Expr& e, const std::string& what) {
        if (t.base == Base::Null || t.base == Base::Geometry || t.base == Base::Unknown) return t;
        error_at(AdqlError::Kind::Type, e, what + " must be a geometry (POINT, CIRCLE, BOX, POLYGON or a geometry column), found " +
                                               base_name(t.base));
    }
    /// ADQL 2.1 section 2.2 (and SQL-92 8.2): comparison operands must be of
    /// comparable types: numbers with numbers, character strings (and
    /// timestamps, written as ISO 8601 strings) with strings. NULL and values
    /// of unknown type compare with anything. Geometries are not comparable.
    /// The type class of a value for comparisons and CASE results: 1 numbers,
    /// 2 character strings and timestamps, 3 geometries, 4 truth values,
    /// 0 NULL or unknown (goes with any class).
    static int type_class(Base x) {
        switch (x) {
            case Base::Integer: case Base::Double: return 1;
            case Base::String: case Base::Timestamp: return 2;
            case Base::Geometry: return 3;
            case Base::Bool: return 4;
            default: return 0;
        }
    }
    void need_comparable(const Typed& a, const Typed& b, const Expr& at, const std::string& where) {
        const int ca = type_class(a.base), cb = type_class(b.base);
        if (ca == 3 || cb == 3)
            error_at(AdqlError::Kind::Type, at, "cannot compare geometry values " + where +
                                                    " (use CONTAINS, INTERSECTS or DISTANCE)");
        if (ca && cb && ca != cb)
            error_at(AdqlError::Kind::Type, at, std::string("cannot compare ") + base_name(a.base) + " with " + base_name(b.base) + " " +
                                                    where);
    }

    void check_coordsys(const Expr& e) {
        if (!e.coordsys) return;
        std::string c = lower(*e.coordsys);
        while (!c.empty() && c.back() == ' ') c.pop_back();
        if (c.empty() || c == "icrs" || c.rfind("icrs ", 0) == 0) return;
        error_at(AdqlError::Kind::Unsupported, e,
                 e.text + ": coordinate system '" + *e.coordsys +
                     "' is not supported; use 'ICRS' (or '') with coordinates in degrees");
    }

    Typed expr(const Expr& e, const Scope& scope, bool allow_alias = false) {
        auto sub = [&](const ExprPtr& x) { return expr(*x, scope, allow_alias); };
        switch (e.kind) {
            case K::Null: return scalar("NULL", Base::Null);
            case K::Number: {
                if (e.is_integer) {
                    if (e.text.size() < 19) return scalar(e.text, Base::Integer);
                    return scalar(e.text + ".0", Base::Double);
                }
                std::string s = e.text;
                if (s[0] == '.') s = "0" + s;
                return scalar(s, Base::Double);
            }
            case K::String: return scalar(quote_string(e.text), Base::String);
            case K::Column: return column(e, scope, allow_alias);
            case K::Paren: {
                Typed t = sub(e.args[0]);
                t.sql = "(" + t.sql + ")";
                return t;
            }
            case K::Unary: {
                Typed t = sub(e.args[0]);
                need_numeric(t, *e.args[0], "the operand of " + e.op);
                if (t.base == Base::String || t.base == Base::Unknown || t.base == Base::Null) set_scalar_meta(t, Base::Double);
                t.sql = "(" + e.op + t.sql + ")";
                t.point_xy.reset();
                return t;
            }
            case K::Binary: {
                Typed a = sub(e.args[0]), b = sub(e.args[1]);
                if (e.op == "||") {
                    Typed t = scalar("(" + a.sql + " || " + b.sql + ")", Base::String);
                    t.aggregate = a.aggregate || b.aggregate;
                    return t;
                }
                if (a.base == Base::Geometry || b.base == Base::Geometry)
                    error_at(AdqlError::Kind::Type, e, "arithmetic on a geometry value");
                // ADQL 2.1 section 2.3: arithmetic on numeric values only
                need_numeric(a, *e.args[0], "the left operand of " + e.op);
                need_numeric(b, *e.args[1], "the right operand of " + e.op);
                Base rb = (a.base == Base::Integer && b.base == Base::Integer) ? Base::Integer : Base::Double;
                Typed t = scalar("(" + a.sql + " " + e.op + " " + b.sql + ")", rb);
                // keep the unit of a sum/difference of like quantities
                if ((e.op == "+" || e.op == "-") && a.info.unit == b.info.unit) t.info.unit = a.info.unit;
                t.aggregate = a.aggregate || b.aggregate;
                return t;
            }
            case K::Compare: {
                Typed a = sub(e.args[0]), b = sub(e.args[1]);
                need_comparable(a, b, e, "with " + e.op);
                Typed t = scalar("(" + a.sql + " " + e.op + " " + b.sql + ")", Base::Bool);
                // CONTAINS(...) = 1 / INTERSECTS(...) = 1: the predicate itself
                if (e.op == "=" && e.args[1]->kind == K::Number && e.args[1]->text == "1" && is_predicate_fn(*e.args[0]))
                    t.sql = a.sql;
                else if (e.op == "=" && e.args[0]->kind == K::Number && e.args[0]->text == "1" && is_predicate_fn(*e.args[1]))
                    t.sql = b.sql;
                t.aggregate = a.aggregate || b.aggregate;
                return t;
            }
            case K::Between: {
                Typed a = sub(e.args[0]), lo = sub(e.args[1]), hi = sub(e.args[2]);
                need_comparable(a, lo, e, "in BETWEEN");
                need_comparable(a, hi, e, "in BETWEEN");
                return scalar("(" + a.sql + (e.negated ? " NOT" : "") + " BETWEEN " + lo.sql + " AND " + hi.sql + ")",
                              Base::Bool);
            }
            case K::In: {
                Typed a = sub(e.args[0]);
                std::string s = "(" + a.sql + (e.negated ? " NOT IN (" : " IN (");
                if (e.query) {
                    SubResult r = query(*e.query, &scope, false);
                    if (r.cols.size() != 1)
                        error_at(AdqlError::Kind::Type, e, "the subquery of IN must select exactly one column");
                    s += r.sql;
                } else {
                    for (std::size_t i = 1; i < e.args.size(); ++i) {
                        Typed v = sub(e.args[i]);
                        need_comparable(a, v, *e.args[i], "in the IN list");
                        s += (i > 1 ? ", " : "") + v.sql;
                    }
                }
                return scalar(s + "))", Base::Bool);
            }
            case K::Like: {
                Typed a = sub(e.args[0]), p = sub(e.args[1]);
                for (const Typed* x : {&a, &p})
                    if (x->base != Base::String && x->base != Base::Timestamp && x->base != Base::Null &&
                        x->base != Base::Unknown)
                        error_at(AdqlError::Kind::Type, e,
                                 e.op + " compares character strings, found " + std::string(base_name(x->base)) +
                                     " (CAST it to VARCHAR first)");
                // ADQL 2.1 section 2.2.3: LIKE is case-sensitive; ILIKE (4.4.4) is not.
                std::string f = e.op == "ILIKE" ? "adql_ilike" : "adql_like";
                return scalar(std::string("(") + (e.negated ? "NOT " : "") + f + "(" + a.sql + ", " + p.sql + "))",
                              Base::Bool);
            }
            case K::IsNull: {
                Typed a = sub(e.args[0]);
                return scalar("(" + a.sql + (e.negated ? " IS NOT NULL)" : " IS NULL)"), Base::Bool);
            }
            case K::Exists: {
                SubResult r = query(*e.query, &scope, false);
                return scalar("(EXISTS (" + r.sql + "))", Base::Bool);
            }
            case K::And: case K::Or: {
                Typed a = sub(e.args[0]), b = sub(e.args[1]);
                Typed t = scalar("(" + a.sql + (e.kind == K::And ? " AND " : " OR ") + b.sql + ")", Base::Bool);
                t.aggregate = a.aggregate || b.aggregate;
                return t;
            }
            case K::Not: {
                Typed a = sub(e.args[0]);
                return scalar("(NOT " + a.sql + ")", Base::Bool);
            }
            case K::Subquery: {
                SubResult r = query(*e.query, &scope, false);
                if (r.cols.size() != 1)
                    error_at(AdqlError::Kind::Type, e, "a scalar subquery must select exactly one column");
                Typed t = r.cols[0].t;
                t.sql = "(" + r.sql + ")";
                t.aggregate = false;
                return t;
            }
            case K::Case: {
                std::string s = "(CASE";
                std::size_t i = 0;
                if (e.case_has_operand) s += " " + sub(e.args[i++]).sql;
                std::size_t end = e.args.size() - (e.case_has_else ? 1 : 0);
                Typed result;
                bool have = false;
                // SQL-92 9.3 (result of CASE): every THEN/ELSE value of one type
                // class; integers and floating-point numbers give a double.
                auto take = [&](Typed v, const Expr& at) {
                    if (v.base == Base::Null) return;
                    if (!have) {
                        result = v;
                        have = true;
                        return;
                    }
                    const int cr = type_class(result.base), cv = type_class(v.base);
                    if (cr && cv && cr != cv)
                        error_at(AdqlError::Kind::Type, at,
                                 std::string("the results of one CASE must be of one type: found ") +
                                     base_name(result.base) + " and " + base_name(v.base));
                    if (cr == 1 && result.base != v.base) result = scalar("", Base::Double);
                };
                for (; i + 1 < end + 1 && i < end; i += 2) {
                    s += " WHEN " + sub(e.args[i]).sql;
                    Typed v = sub(e.args[i + 1]);
                    s += " THEN " + v.sql;
                    take(v, *e.args[i + 1]);
                }
                if (e.case_has_else) {
                    Typed v = sub(e.args.back());
                    s += " ELSE " + v.sql;
                    take(v, *e.args.back());
                }
                s += " END)";
                if (!have) result = scalar("", Base::Null);
                Typed t = result;
                t.sql = s;
                t.point_xy.reset();
                t.circle_xyr.reset();
                return t;
            }
            case K::Cast: return cast(e, sub(e.args[0]));
            case K::Aggregate: return aggregate(e, scope, allow_alias);
            case K::Function: return function(e, scope, allow_alias);
        }
        error_at(AdqlError::Kind::Unsupported, e, "unsupported expression");
    }

    static bool is_predicate_fn(const Expr& e) {
        return e.kind == K::Function && (e.text == "CONTAINS" || e.text == "INTERSECTS");
    }

    Typed cast(const Expr& e, const Typed& a) {
        const std::string& ty = e.cast_type;
        if (ty == "SMALLINT" || ty == "INTEGER" || ty == "BIGINT") {
            // Approximate -> exact: rounding is implementation-defined (4.7.1);
            // we round half away from zero like PostgreSQL.
            Typed t = scalar("adql_cast_integer(" + a.sql + ")", Base::Integer);
            t.info.datatype = ty == "SMALLINT" ? "short" : ty == "INTEGER" ? "int" : "long";
            return t;
        }
        if (ty == "REAL" || ty == "DOUBLE PRECISION") {
            Typed t = scalar("CAST(" + a.sql + " AS REAL)", Base::Double);
            t.info.datatype = ty == "REAL" ? "float" : "double";
            t.info.unit = a.info.unit;
            return t;
        }
        if (ty == "CHAR" || ty == "VARCHAR") {
            std::string s = a.base == Base::Geometry ? a.sql : "CAST(" + a.sql + " AS TEXT)";
            if (e.cast_length) s = "substr(" + s + ", 1, " + std::to_string(*e.cast_length) + ")";
            Typed t = scalar(s, Base::String);
            if (e.cast_length) t.info.arraysize = std::to_string(*e.cast_length) + (ty == "VARCHAR" ? "*" : "");
            return t;
        }
        if (ty == "TIMESTAMP") {
            if (a.base != Base::String && a.base != Base::Timestamp && a.base != Base::Null)
                error_at(AdqlError::Kind::Type, e, "CAST AS TIMESTAMP: only a character string can be cast to a timestamp");
            return scalar("adql_timestamp(" + a.sql + ")", Base::Timestamp);
        }
        // POINT / CIRCLE / POLYGON from a DALI string (4.7.1 Geometry)
        std::string kind = lower(ty);
        return geometry("adql_geometry(" + a.sql + ", '" + kind + "')", kind);
    }

    Typed aggregate(const Expr& e, const Scope& scope, bool allow_alias) {
        if (e.args.empty()) {
            Typed t = scalar("count(*)", Base::Integer);
            t.info.ucd = "meta.number";
            t.aggregate = true;
            return t;
        }
        Typed a = expr(*e.args[0], scope, allow_alias);
        std::string d = e.distinct ? "DISTINCT " : "";
        std::string f = lower(e.text);
        Typed t;
        if (f == "count") {
            t = scalar("count(" + d + a.sql + ")", Base::Integer);
            t.info.ucd = "meta.number";
        } else if (f == "avg") {
            need_numeric(a, *e.args[0], "the argument of AVG");
            t = scalar("avg(" + d + a.sql + ")", Base::Double);
            t.info.unit = a.info.unit;
            t.info.ucd = a.info.ucd.empty() ? "" : "stat.mean;" + a.info.ucd;
        } else if (f == "sum") {
            need_numeric(a, *e.args[0], "the argument of SUM");
            t = scalar("sum(" + d + a.sql + ")", a.base == Base::Integer ? Base::Integer : Base::Double);
            t.info.unit = a.info.unit;
        } else {  // min, max
            t = a;
            t.sql = f + "(" + d + a.sql + ")";
            t.info.ucd = a.info.ucd.empty() ? "" : (f == "min" ? "stat.min;" : "stat.max;") + a.info.ucd;
            t.info.name.clear();
            t.point_xy.reset();
        }
        t.aggregate = true;
        return t;
    }

    Typed function(const Expr& e, const Scope& scope, bool allow_alias) {
        const std::string& n = e.text;
        std::vector<Typed> a;
        for (auto& x : e.args) a.push_back(expr(*x, scope, allow_alias));
        auto args_sql = [&](std::size_t from = 0) {
            std::string s;
            for (std::size_t i = from; i < a.size(); ++i) s += (i > from ? ", " : "") + a[i].sql;
            return s;
        };
        auto numeric_args = [&]() {
            for (std::size_t i = 0; i < a.size(); ++i)
                need_numeric(a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
        };
        auto dbl = [&](const std::string& fn) {
            numeric_args();
            return scalar(fn + "(" + args_sql() + ")", Base::Double);
        };
        auto agg = [&](Typed t) {
            for (auto& x : a) t.aggregate |= x.aggregate;
            return t;
        };
        if (e.is_udf) return agg(udf(e, a, args_sql()));
        if (n == "ABS") {
            numeric_args();
            Typed t = scalar("abs(" + a[0].sql + ")", a[0].base == Base::Integer ? Base::Integer : Base::Double);
            t.info.unit = a[0].info.unit;
            return agg(t);
        }
        if (n == "PI") return scalar(kPi, Base::Double);
        if (n == "RAND") return scalar(a.empty() ? "adql_rand()" : "adql_rand(" + a[0].sql + ")", Base::Double);
        if (n == "MOD") {
            numeric_args();
            return agg(scalar("adql_mod(" + args_sql() + ")",
                              a[0].base == Base::Integer && a[1].base == Base::Integer ? Base::Integer : Base::Double));
        }
        if (n == "ROUND" || n == "TRUNCATE") {
            numeric_args();
            Typed t = scalar("adql_" + lower(n) + "(" + a[0].sql + ", " + (a.size() > 1 ? a[1].sql : "0") + ")", Base::Double);
            t.info.unit = a[0].info.unit;
            return agg(t);
        }
        if (n == "LOWER" || n == "UPPER") {
            if (a[0].base == Base::Geometry) error_at(AdqlError::Kind::Type, e, n + " of a geometry");
            Typed t = scalar(lower(n) + "(" + a[0].sql + ")", Base::String);
            return agg(t);
        }
        if (n == "COALESCE") {
            Typed t = a[0];
            for (auto& x : a)
                if (t.base == Base::Null) t = x;
            t.sql = a.size() == 1 ? "(" + a[0].sql + ")" : "coalesce(" + args_sql() + ")";
            t.point_xy.reset();
            t.circle_xyr.reset();
            return agg(t);
        }
        if (n == "IN_UNIT") {
            need_numeric(a[0], *e.args[0], "the first argument of IN_UNIT");
            const std::string& from = a[0].info.unit;
            if (from.empty())
                error_at(AdqlError::Kind::Type, e,
                         "IN_UNIT: the value has no unit (only a column with a unit, or MIN/MAX/AVG/SUM of one, can be "
                         "converted)");
            double f;
            try {
                f = unit_conversion_factor(from, e.args[1]->text);
            } catch (const AdqlError& err) {
                error_at(AdqlError::Kind::Type, e, err.what());
            }
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", f);
            Typed t = scalar("(" + a[0].sql + " * " + buf + ")", Base::Double);
            t.info.unit = e.args[1]->text;
            t.info.ucd = a[0].info.ucd;
            return agg(t);
        }
        static const std::map<std::string, std::string> simple = {
            {"CEILING", "adql_ceiling"}, {"FLOOR", "adql_floor"}, {"DEGREES", "adql_degrees"},
            {"RADIANS", "adql_radians"}, {"EXP", "adql_exp"},     {"LOG", "adql_log"},
            {"LOG10", "adql_log10"},     {"POWER", "adql_power"}, {"SQRT", "adql_sqrt"},
            {"ACOS", "adql_acos"},       {"ASIN", "adql_asin"},   {"ATAN", "adql_atan"},
            {"ATAN2", "adql_atan2"},     {"COS", "adql_cos"},     {"COT", "adql_cot"},
            {"SIN", "adql_sin"},         {"TAN", "adql_tan"}};
        if (auto it = simple.find(n); it != simple.end()) {
            Typed t = dbl(it->second);
            if (n == "DEGREES") t.info.unit = "deg";
            if (n == "RADIANS") t.info.unit = "rad";
            if (n == "CEILING" || n == "FLOOR") t.info.unit = a[0].info.unit;
            return agg(t);
        }
        return agg(geometry_function(e, a));
    }

    Typed geometry_function(const Expr& e, std::vector<Typed>& a) {
        const std::string& n = e.text;
        check_coordsys(e);
        auto num = [&](std::size_t i, const std::string& what) { need_numeric(a[i], *e.args[i], what + " of " + n); };
        auto geo = [&](std::size_t i) {
            need_geometry(a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
        };
        auto point_arg = [&](std::size_t i) {
            geo(i);
            if (a[i].base == Base::Geometry && !a[i].geom.empty() && a[i].geom != "point")
                error_at(AdqlError::Kind::Type, *e.args[i],
                         "argument " + std::to_string(i + 1) + " of " + n + " must be a point, found a " + a[i].geom);
        };
        if (n == "POINT") {
            num(0, "the longitude");
            num(1, "the latitude");
            Typed t = geometry("adql_point(" + a[0].sql + ", " + a[1].sql + ")", "point");
            t.point_xy = std::make_pair(a[0].sql, a[1].sql);
            return t;
        }
        if (n == "CIRCLE") {
            if (a.size() == 3) {
                num(0, "the centre longitude");
                num(1, "the centre latitude");
                num(2, "the radius");
                Typed t = geometry("adql_circle(" + a[0].sql + ", " + a[1].sql + ", " + a[2].sql + ")", "circle");
                t.circle_xyr = std::array<std::string, 3>{a[0].sql, a[1].sql, a[2].sql};
                return t;
            }
            point_arg(0);
            num(1, "the radius");
            if (a[0].point_xy) {
                Typed t = geometry("adql_circle(" + a[0].point_xy->first + ", " + a[0].point_xy->second + ", " + a[1].sql + ")", "circle");
                t.circle_xyr = std::array<std::string, 3>{a[0].point_xy->first, a[0].point_xy->second, a[1].sql};
                return t;
            }
            return geometry("adql_circle_p(" + a[0].sql + ", " + a[1].sql + ")", "circle");
        }
        if (n == "BOX") {
            if (a.size() == 4) {
                for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
                return geometry("adql_box(" + a[0].sql + ", " + a[1].sql + ", " + a[2].sql + ", " + a[3].sql + ")", "polygon");
            }
            point_arg(0);
            num(1, "the width");
            num(2, "the height");
            return geometry("adql_box_p(" + a[0].sql + ", " + a[1].sql + ", " + a[2].sql + ")", "polygon");
        }
        if (n == "POLYGON") {
            bool points = std::all_of(a.begin(), a.end(), [](const Typed& t) { return t.base == Base::Geometry; });
            std::string s;
            if (points && a.size() >= 3) {
                for (std::size_t i = 0; i < a.size(); ++i) point_arg(i);
                for (auto& x : a) s += (s.empty() ? "" : ", ") + x.sql;
                return geometry("adql_polygon_p(" + s + ")", "polygon");
            }
            for (std::size_t i = 0; i < a.size(); ++i) num(i, "vertex coordinate " + std::to_string(i + 1));
            for (auto& x : a) s += (s.empty() ? "" : ", ") + x.sql;
            return geometry("adql_polygon(" + s + ")", "polygon");
        }
        if (n == "REGION") return region(e);
        if (n == "CENTROID") {
            geo(0);
            return geometry("adql_centroid(" + a[0].sql + ")", "point");
        }
        if (n == "AREA") {
            geo(0);
            Typed t = scalar("adql_area(" + a[0].sql + ")", Base::Double);
            t.info.unit = "deg**2";
            t.info.ucd = "phys.angArea";
            return t;
        }
        if (n == "COORD1" || n == "COORD2") {
            point_arg(0);
            Typed t;
            if (a[0].point_xy) t = scalar(n == "COORD1" ? a[0].point_xy->first : a[0].point_xy->second, Base::Double);
            else t = scalar("adql_" + lower(n) + "(" + a[0].sql + ")", Base::Double);
            if (a[0].point_xy) t.sql = "CAST(" + t.sql + " AS REAL)";
            t.info.unit = "deg";
            t.info.ucd = n == "COORD1" ? "pos.eq.ra" : "pos.eq.dec";
            return t;
        }
        if (n == "COORDSYS") {
            geo(0);
            return scalar("CASE WHEN " + a[0].sql + " IS NULL THEN NULL ELSE 'ICRS' END", Base::String);
        }
        if (n == "DISTANCE") {
            Typed t;
            if (a.size() == 4) {
                for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
                t = scalar("adql_distance(" + a[0].sql + ", " + a[1].sql + ", " + a[2].sql + ", " + a[3].sql + ")", Base::Double);
            } else {
                point_arg(0);
                point_arg(1);
                if (a[0].point_xy && a[1].point_xy)
                    t = scalar("adql_distance(" + a[0].point_xy->first + ", " + a[0].point_xy->second + ", " +
                                   a[1].point_xy->first + ", " + a[1].point_xy->second + ")",
                               Base::Double);
                else
                    t = scalar("adql_distance_p(" + a[0].sql + ", " + a[1].sql + ")", Base::Double);
            }
            t.info.unit = "deg";
            t.info.ucd = "pos.angDistance";
            return t;
        }
        if (n == "CONTAINS" || n == "INTERSECTS") {
            geo(0);
            geo(1);
            Typed t;
            std::size_t pi = n == "CONTAINS" ? 0 : (a[0].point_xy ? 0 : a[1].point_xy ? 1 : 2);
            if (pi < 2 && a[pi].point_xy) {
                const Typed& other = a[1 - pi];
                if (other.circle_xyr)
                    t = scalar("adql_contains_point_circle(" + a[pi].point_xy->first + ", " + a[pi].point_xy->second +
                                   ", " + (*other.circle_xyr)[0] + ", " + (*other.circle_xyr)[1] + ", " +
                                   (*other.circle_xyr)[2] + ")",
                               Base::Integer);
                else
                    t = scalar("adql_contains_point(" + a[pi].point_xy->first + ", " + a[pi].point_xy->second + ", " +
                                   other.sql + ")",
                               Base::Integer);
            } else {
                t = scalar("adql_" + lower(n) + "(" + a[0].sql + ", " + a[1].sql + ")", Base::Integer);
            }
            t.info.datatype = "int";
            return t;
        }
        error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + n);
    }

    /// REGION('<STC-S>') (ADQL 2.1 section 4.2.20): the constant string read
    /// at translation time (adql/stcs.hpp) into the equivalent POINT, CIRCLE,
    /// BOX or POLYGON, so that it evaluates, and pre-filters, like those.
    Typed region(const Expr& e) {
        StcsShape shape;
        try {
            shape = parse_stcs_region(e.args.at(0)->text);
        } catch (const AdqlError& err) {
            error_at(err.kind(), e, err.what());
        }
        std::vector<std::string> v;
        for (double x : shape.values) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", x);
            v.emplace_back(buf);
        }
        auto joined = [&] {
            std::string s;
            for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
            return s;
        };
        if (shape.kind == "point") {
            Typed t = geometry("adql_point(" + joined() + ")", "point");
            t.point_xy = std::make_pair(v[0], v[1]);
            return t;
        }
        if (shape.kind == "circle") {
            Typed t = geometry("adql_circle(" + joined() + ")", "circle");
            t.circle_xyr = std::array<std::string, 3>{v[0], v[1], v[2]};
            return t;
        }
        if (shape.kind == "box") return geometry("adql_box(" + joined() + ")", "polygon");
        return geometry("adql_polygon(" + joined() + ")", "polygon");
    }

    Typed udf(const Expr& e, std::vector<Typed>& a, const std::string& args) {
        const std::string& n = e.text;  // lower case
        auto num = [&](std::size_t i) {
            need_numeric(a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
        };
        auto arity = [&](std::size_t k) {
            if (a.size() != k)
                error_at(AdqlError::Kind::Type, e,
                         n + " takes " + std::to_string(k) + " arguments, found " + std::to_string(a.size()));
        };
        if (n == "ivo_healpix_index") {
            arity(3);
            num(0); num(1); num(2);
            Typed t = scalar("adql_healpix_index(" + args + ")", Base::Integer);
            t.info.ucd = "pos.healpix";
            return t;
        }
        if (n == "ivo_healpix_center") {
            arity(2);
            num(0); num(1);
            return geometry("adql_healpix_center(" + args + ")", "point");
        }
        if (n == "ivo_hasword") {
            arity(2);
            return scalar("adql_hasword(" + args + ")", Base::Integer);
        }
        if (n == "ivo_nocasematch") {
            arity(2);
            return scalar("adql_nocasematch(" + args + ")", Base::Integer);
        }
        if (n == "ivo_interval_overlaps") {
            arity(4);
            for (std::size_t i = 0; i < 4; ++i) num(i);
            return scalar("adql_interval_overlaps(" + args + ")", Base::Integer);
        }
        if (n == "ivo_string_agg") {
            arity(2);
            Typed t = scalar("group_concat(" + args + ")", Base::String);
            t.aggregate = true;
            return t;
        }
        if (n == "range_s2d") {
            arity(4);
            for (std::size_t i = 0; i < 4; ++i) num(i);
            return geometry("adql_range(" + args + ")", "range");
        }
        for (auto& d : opt_.udfs)
            if (d.name == n) {
                std::string rt = d.return_type;
                Base b = rt.find("INT") != std::string::npos ? Base::Integer
                         : (rt.find("CHAR") != std::string::npos || rt == "TEXT") ? Base::String
                         : (rt == "POINT" || rt == "CIRCLE" || rt == "POLYGON" || rt == "REGION") ? Base::Geometry
                                                                                                 : Base::Double;
                if (b == Base::Geometry) return geometry(n + "(" + args + ")", lower(rt));
                return scalar(n + "(" + args + ")", b);
            }
        error_at(AdqlError::Kind::UnknownName, e, "unknown function " + n);
    }
};

/// The user-defined functions every voserver SQLite store provides
/// (issue 3 item 4; declared in /tap/capabilities).
std::vector<UdfDecl> builtin_udfs() {
    std::vector<UdfDecl> v;
    for (const char* f : {"ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT",
                          "ivo_healpix_center(hpxOrder INTEGER, hpxIndex BIGINT) -> POINT",
                          "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
                          "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
                          "ivo_interval_overlaps(l1 DOUBLE, h1 DOUBLE, l2 DOUBLE, h2 DOUBLE) -> INTEGER",
                          "ivo_string_agg(expr TEXT, delim TEXT) -> TEXT",
                          "range_s2d(ra_min DOUBLE, ra_max DOUBLE, dec_min DOUBLE, dec_max DOUBLE) -> REGION"})
        v.push_back(parse_udf_decl(f));
    return v;
}

}  // namespace

const std::vector<UdfDecl>& sqlite_udfs() {
    static const std::vector<UdfDecl> v = builtin_udfs();
    return v;
}

Translation translate_sqlite(std::string_view adql, const Catalog& catalog, const TranslateOptions& options) {
    ParseOptions po;
    po.udfs = sqlite_udfs();
    for (auto& u : options.udfs) po.udfs.push_back(u);
    po.limits = options.limits;
    ast::Statement st = parse(adql, po);
    Translator t(catalog, options);
    return t.run(st);
}

Translation translate_sqlite(const ast::Statement& query, const Catalog& catalog, const TranslateOptions& options) {
    if (!query.body) throw AdqlError(AdqlError::Kind::Syntax, "empty query");
    check_depth(query, options.limits.max_depth);
    Translator t(catalog, options);
    return t.run(query);
}

}  // namespace vo::adql
