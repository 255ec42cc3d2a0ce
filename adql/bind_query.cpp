// The bind stage, queries: WITH, SELECT blocks, set operations, FROM items
// and joins, name resolution (ADQL 2.1 sections 2.1.5-2.1.7, 2.2, 4.5, 4.6)
// and the grouping check (SQL-92 section 7.9).
#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "adql/bind.hpp"
#include "adql/binder.hpp"

namespace vo::adql {
namespace detail {

using ast::Ident;
using bound::Expr;
using BK = bound::Expr::Kind;
using K = ast::Expr::Kind;

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

bool name_matches(const Ident& id, std::string_view name) {
    if (id.delimited) return id.name == name;
    return lower(id.name) == lower(name);
}

namespace {
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

/// A structural key of a bound expression: equal keys compute the same value
/// (used to match select-list and HAVING expressions against GROUP BY).
void key(const Expr& e, std::string& out) {
    if (e.kind == BK::Paren) return key(*e.args[0], out);
    out += 'k';
    out += std::to_string(static_cast<int>(e.kind));
    switch (e.kind) {
        case BK::Column:
            out += "c" + std::to_string(e.range->alias.size()) + ":" + e.range->alias + "." +
                   std::to_string(e.column_name.size()) + ":" + e.column_name;
            return;
        case BK::Literal:
            out += "l" + std::to_string(static_cast<int>(e.type)) + ":" + std::to_string(e.text.size()) + ":" + e.text;
            return;
        default: break;
    }
    out += "o" + e.op + "/" + e.name + "/" + e.cast_type + (e.negated ? "n" : "") + (e.distinct ? "d" : "") +
           (e.case_has_operand ? "p" : "") + (e.case_has_else ? "e" : "");
    if (e.cast_length) out += "l" + std::to_string(*e.cast_length);
    if (e.query) out += "q" + std::to_string(reinterpret_cast<std::uintptr_t>(e.query.get()));
    out += '(';
    for (auto& a : e.args) {
        key(*a, out);
        out += ',';
    }
    out += ')';
}
std::string key(const Expr& e) {
    std::string s;
    key(e, s);
    return s;
}

Node column_node(const bound::RangePtr& range, const bound::RangeColumn& c, int line, int col) {
    auto n = std::make_shared<Expr>();
    n->kind = BK::Column;
    n->range = range;
    n->column_name = c.column;
    n->info = c.info;
    n->type = type_of(c.info);
    if (n->type == Type::Geometry) n->geom = c.info.xtype;
    n->text = c.name;
    n->line = line;
    n->column = col;
    return n;
}

std::string default_name(const ast::Expr& e) {
    switch (e.kind) {
        case K::Column: return e.path.back().name;
        case K::Function:
        case K::Aggregate: return lower(e.text);
        case K::Cast: return "cast";
        case K::Paren: return default_name(*e.args[0]);
        default: return "expr";
    }
}

bool range_matches(const ScopeRange& r, const std::vector<Ident>& q) {
    if (r.alias) return q.size() == 1 && name_matches(q[0], r.alias->name);
    if (q.empty() || !name_matches(q.back(), r.table)) return false;
    if (q.size() >= 2 && !name_matches(q[q.size() - 2], r.schema)) return false;
    return true;
}

std::vector<bound::RangeColumn> output_columns(const bound::Query& q) {
    std::vector<bound::RangeColumn> out;
    for (auto& oc : q.columns) out.push_back({oc.name, oc.name, oc.expr->info});
    return out;
}
}  // namespace

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

void Binder::error(AdqlError::Kind k, const std::string& msg, int line, int col) {
    std::string where = line > 0 ? " (line " + std::to_string(line) + ", column " + std::to_string(col) + ")" : "";
    throw AdqlError(k, msg + where, line, col);
}
void Binder::error_at(AdqlError::Kind k, const ast::Expr& e, const std::string& msg) {
    error(k, msg, e.line, e.column);
}

// ---------------------------------------------------------------- statement

bound::Statement Binder::statement(const ast::Statement& st) {
    bound::Statement out;
    for (auto& w : st.with) {
        for (auto& c : ctes_)
            if (name_matches(w.name, c.name.name) || name_matches(c.name, w.name.name))
                throw AdqlError(AdqlError::Kind::UnknownName, "WITH: the name " + w.name.name + " is defined twice");
        CteEntry c;
        c.query = query(*w.query, nullptr, false);
        c.name = w.name;
        c.sql_name = "w" + std::to_string(ctes_.size() + 1);
        out.with.push_back({w.name.name, c.sql_name, c.query});
        ctes_.push_back(std::move(c));
    }
    out.body = query(*st.body, nullptr, true);
    for (auto& oc : out.body->columns) {
        ColumnInfo ci = oc.expr->info;
        ci.name = oc.name;
        ci.physical = oc.name;
        out.columns.push_back(std::move(ci));
    }
    out.top = top_;
    return out;
}

// ---------------------------------------------------------------- queries

bound::QueryPtr Binder::query(const ast::QueryExpr& q, const Scope* outer, bool outermost) {
    using QK = ast::QueryExpr::Kind;
    if (q.kind == QK::Select) return select(q, outer, outermost);
    auto out = std::make_shared<bound::Query>();
    out->line = q.line;
    out->column = q.column;
    out->all = q.all;
    out->offset = q.offset;
    if (q.kind == QK::Nested) {
        out->kind = bound::Query::Kind::Nested;
        out->left = query(*q.left, outer, false);
    } else {
        out->kind = q.kind == QK::Union    ? bound::Query::Kind::Union
                    : q.kind == QK::Except ? bound::Query::Kind::Except
                                           : bound::Query::Kind::Intersect;
        out->left = query(*q.left, outer, false);
        out->right = query(*q.right, outer, false);
        if (out->left->columns.size() != out->right->columns.size())
            error(AdqlError::Kind::Type,
                  "the operands of " +
                      std::string(q.kind == QK::Union    ? "UNION"
                                  : q.kind == QK::Except ? "EXCEPT"
                                                         : "INTERSECT") +
                      " have different numbers of columns (" + std::to_string(out->left->columns.size()) + " and " +
                      std::to_string(out->right->columns.size()) + ")",
                  q.line, q.column);
    }
    out->columns = out->left->columns;
    // ORDER BY on a compound: only output columns (by name or position).
    for (auto& it : q.order_by) {
        const ast::Expr& e = *it.expr;
        bound::OrderTerm term;
        term.desc = it.desc;
        if (e.kind == K::Number && e.is_integer) {
            long long p = std::atoll(e.text.c_str());
            if (p < 1 || static_cast<std::size_t>(p) > out->columns.size())
                error_at(AdqlError::Kind::UnknownName, e,
                         "ORDER BY " + e.text + ": there are only " + std::to_string(out->columns.size()) + " columns");
            term.position = static_cast<int>(p);
        } else if (e.kind == K::Column && e.path.size() == 1) {
            for (auto& c : out->columns)
                if (name_matches(e.path[0], c.name)) term.output_name = c.name;
            if (term.output_name.empty()) {
                std::vector<std::string> names;
                for (auto& c : out->columns) names.push_back(c.name);
                error_at(AdqlError::Kind::UnknownName, e,
                         "ORDER BY: unknown column " + path_text(e.path) + suggest(e.path[0].name, names));
            }
        } else {
            error_at(AdqlError::Kind::Unsupported, e, "ORDER BY after a set operation may only name output columns");
        }
        out->order_by.push_back(std::move(term));
    }
    return out;
}

bound::QueryPtr Binder::select(const ast::QueryExpr& q, const Scope* outer, bool outermost) {
    const ast::SelectCore& s = *q.select;
    auto sel = std::make_shared<bound::Select>();
    sel->distinct = s.distinct;
    sel->top = s.top;
    Scope scope;
    scope.outer = outer;
    for (auto& tr : s.from) {
        std::vector<NamedExpr> star;
        sel->from.push_back(from_item(*tr, scope, star));
        scope.star.insert(scope.star.end(), star.begin(), star.end());
    }
    // select list
    std::set<std::string> used;
    std::vector<ExprPtr> star_items;  // columns that came from * (for the grouping check's message)
    auto add = [&](const std::string& name, ExprPtr e) {
        std::string base = name.empty() ? "col" : name, n = base;
        for (int k = 2; used.count(lower(n)); ++k) n = base + "_" + std::to_string(k);
        used.insert(lower(n));
        sel->items.push_back({n, std::move(e)});
    };
    bool has_aggregate = false;
    std::vector<NamedExpr> aliases;
    for (auto& item : s.items) {
        if (item.star) {
            const std::vector<NamedExpr>* src = &scope.star;
            std::vector<NamedExpr> qualified;
            if (!item.star_qualifier.empty()) {
                const ScopeRange& r = find_range(scope, item.star_qualifier, item.line, item.column);
                for (auto& c : r.range->columns)
                    qualified.push_back({c.name, column_node(r.range, c, item.line, item.column)});
                src = &qualified;
            }
            for (auto& c : *src) {
                add(c.name, c.expr);
                star_items.push_back(c.expr);
            }
            continue;
        }
        ExprPtr t = expr(*item.expr, scope);
        if (t->type == Type::Bool) error_at(AdqlError::Kind::Type, *item.expr, "a condition cannot be selected");
        has_aggregate |= t->aggregate;
        add(item.alias ? item.alias->name : default_name(*item.expr), t);
        if (item.alias) aliases.push_back({item.alias->name, t});
    }
    for (auto& c : sel->items) aliases.push_back({c.name, c.expr});
    scope.aliases = aliases;

    if (s.where) sel->where = expr(*s.where, scope);
    for (auto& e : s.group_by) sel->group_by.push_back(expr(*e, scope, true));
    if (s.having) sel->having = expr(*s.having, scope, true);
    if (has_aggregate || !s.group_by.empty() || s.having) check_grouping(s, *sel, star_items);

    auto out = std::make_shared<bound::Query>();
    out->kind = bound::Query::Kind::Select;
    out->line = q.line;
    out->column = q.column;
    out->offset = q.offset;
    for (auto& it : q.order_by) {
        bound::OrderTerm term;
        term.desc = it.desc;
        if (it.expr->kind == K::Number && it.expr->is_integer) {
            long long p = std::atoll(it.expr->text.c_str());
            if (p < 1 || static_cast<std::size_t>(p) > sel->items.size())
                error_at(
                    AdqlError::Kind::UnknownName, *it.expr,
                    "ORDER BY " + it.expr->text + ": there are only " + std::to_string(sel->items.size()) + " columns");
            term.position = static_cast<int>(p);
        } else {
            term.expr = expr(*it.expr, scope, true);
        }
        out->order_by.push_back(std::move(term));
    }
    if (outermost && s.top) top_ = s.top;
    out->columns = sel->items;
    out->select = std::move(sel);
    return out;
}

// ---------------------------------------------------------------- grouping

/// SQL-92 section 7.9 / ADQL 2.1 section 2.2: in a grouped query (GROUP BY, an
/// aggregate in the select list, or HAVING) every column reference of the
/// select list and of HAVING outside an aggregate function must be one of the
/// GROUP BY expressions (or inside one that is). Throws AdqlError(Type)
/// naming the column and the clause.
void Binder::check_grouping(const ast::SelectCore& s, const bound::Select& sel,
                            const std::vector<ExprPtr>& star_items) {
    std::set<std::string> grouped;
    for (auto& g : sel.group_by) grouped.insert(key(*g));
    std::function<void(const Expr&, const char*)> walk = [&](const Expr& e, const char* clause) {
        if (e.kind == BK::Aggregate || e.kind == BK::Subquery || e.kind == BK::Exists) return;
        if (e.kind == BK::Function && e.udf && e.name == "ivo_string_agg") return;  // an aggregate UDF
        if (grouped.count(key(e))) return;
        if (e.kind == BK::InQuery) {
            walk(*e.args[0], clause);
            return;
        }
        if (e.kind == BK::Column)
            error(AdqlError::Kind::Type,
                  e.text + " " + clause + " must appear in GROUP BY or be used inside an aggregate function", e.line,
                  e.column);
        for (const auto& a : e.args) walk(*a, clause);
    };
    for (const auto& item : sel.items) {
        if (std::find(star_items.begin(), star_items.end(), item.expr) != star_items.end()) {
            if (!grouped.count(key(*item.expr)))
                error(AdqlError::Kind::Type,
                      "* selects " + item.expr->text +
                          ", which must appear in GROUP BY or be used inside an aggregate function",
                      item.expr->line, item.expr->column);
            continue;
        }
        walk(*item.expr, "in the select list");
    }
    if (sel.having) walk(*sel.having, "in HAVING");
    (void)s;
}

// ---------------------------------------------------------------- FROM

bound::FromPtr Binder::from_item(const ast::TableRef& t, Scope& scope, std::vector<NamedExpr>& star) {
    auto item = std::make_shared<bound::FromItem>();
    switch (t.kind) {
        case ast::TableRef::Kind::Table: {
            auto range = std::make_shared<bound::Range>();
            range->alias = "t" + std::to_string(++next_alias_);
            ScopeRange sr;
            sr.alias = t.alias;
            const CteEntry* cte = nullptr;
            if (t.name.size() == 1)
                for (auto& c : ctes_)
                    if (name_matches(t.name[0], c.name.name)) cte = &c;
            if (cte) {
                range->kind = bound::Range::Kind::Cte;
                range->cte_name = cte->sql_name;
                range->columns = output_columns(*cte->query);
                sr.table = cte->name.name;
            } else {
                const TableInfo& ti = find_table(t);
                range->kind = bound::Range::Kind::Table;
                range->table = &ti;
                if (ti.spatial_index) range->spatial_index = &*ti.spatial_index;
                for (auto& c : ti.columns) range->columns.push_back({c.name, c.physical, c});
                sr.schema = ti.schema;
                sr.table = ti.name;
            }
            sr.label = t.alias ? t.alias->name : path_text(t.name);
            sr.range = range;
            for (auto& c : range->columns) star.push_back({c.name, column_node(range, c, t.line, t.column)});
            scope.ranges.push_back(std::move(sr));
            item->kind = bound::FromItem::Kind::Range;
            item->range = std::move(range);
            return item;
        }
        case ast::TableRef::Kind::Derived: {
            auto range = std::make_shared<bound::Range>();
            range->kind = bound::Range::Kind::Derived;
            range->subquery = query(*t.subquery, scope.outer, false);
            range->alias = "t" + std::to_string(++next_alias_);
            range->columns = output_columns(*range->subquery);
            ScopeRange sr;
            sr.alias = t.alias;
            sr.label = t.alias->name;
            sr.range = range;
            for (auto& c : range->columns) star.push_back({c.name, column_node(range, c, t.line, t.column)});
            scope.ranges.push_back(std::move(sr));
            item->kind = bound::FromItem::Kind::Range;
            item->range = std::move(range);
            return item;
        }
        case ast::TableRef::Kind::Join: break;
    }
    item->kind = bound::FromItem::Kind::Join;
    item->join_type = static_cast<bound::FromItem::JoinType>(t.join_type);
    std::vector<NamedExpr> ls, rs;
    item->left = from_item(*t.left, scope, ls);
    item->right = from_item(*t.right, scope, rs);
    std::vector<std::string> common;
    if (t.natural) {
        for (auto& a : ls)
            for (auto& b : rs)
                if (lower(a.name) == lower(b.name)) common.push_back(a.name);
    } else if (t.has_using) {
        for (auto& u : t.using_columns) {
            auto in = [&](const std::vector<NamedExpr>& v) {
                return std::any_of(v.begin(), v.end(), [&](const NamedExpr& c) { return name_matches(u, c.name); });
            };
            if (!in(ls) || !in(rs))
                error(AdqlError::Kind::UnknownName, "USING: column " + u.name + " is not in both joined tables", t.line,
                      t.column);
            for (auto& a : ls)
                if (name_matches(u, a.name)) common.push_back(a.name);
        }
    }
    ExprPtr on;
    std::vector<NamedExpr> merged_star;
    std::set<std::string> merged_names;
    for (auto& name : common) {
        ExprPtr a, b;
        for (auto& c : ls)
            if (lower(c.name) == lower(name)) a = c.expr;
        for (auto& c : rs)
            if (lower(c.name) == lower(name)) b = c.expr;
        auto eq = std::make_shared<Expr>();
        eq->kind = BK::Compare;
        eq->op = "=";
        set_scalar_meta(*eq, Type::Bool);
        eq->args = {a, b};
        if (!on) {
            on = eq;
        } else {
            auto both = std::make_shared<Expr>();
            both->kind = BK::And;
            set_scalar_meta(*both, Type::Bool);
            both->args = {on, eq};
            on = both;
        }
        ExprPtr m;
        using JT = ast::TableRef::JoinType;
        if (t.join_type == JT::Inner || t.join_type == JT::Left) {
            m = a;
        } else if (t.join_type == JT::Right) {
            m = b;
        } else {
            auto c = std::make_shared<Expr>(*a);
            c->kind = BK::Function;
            c->name = "COALESCE";
            c->udf = false;
            c->range.reset();
            c->column_name.clear();
            c->args = {a, b};
            m = c;
        }
        scope.merged.push_back({a->text, m});
        merged_star.push_back({a->text, m});
        merged_names.insert(lower(name));
    }
    if (t.on) {
        on = expr(*t.on, scope);
        item->explicit_on = true;
    }
    item->on = on;
    star = merged_star;
    for (auto& c : ls)
        if (!merged_names.count(lower(c.name))) star.push_back(c);
    for (auto& c : rs)
        if (!merged_names.count(lower(c.name))) star.push_back(c);
    return item;
}

const TableInfo& Binder::find_table(const ast::TableRef& t) {
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

const ScopeRange& Binder::find_range(const Scope& scope, const std::vector<Ident>& q, int line, int col) {
    for (const Scope* s = &scope; s; s = s->outer)
        for (auto& r : s->ranges)
            if (range_matches(r, q)) return r;
    std::vector<std::string> names;
    for (auto& r : scope.ranges) names.push_back(r.label);
    error(AdqlError::Kind::UnknownName,
          "unknown table or correlation name " + path_text(q) + suggest(q.back().name, names), line, col);
}

ExprPtr Binder::column(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    const Ident& cname = e.path.back();
    if (e.path.size() == 1) {
        for (const Scope* s = &scope; s; s = s->outer) {
            for (auto& m : s->merged)
                if (name_matches(cname, m.name)) return m.expr;
            const ScopeRange* hit_range = nullptr;
            const bound::RangeColumn* hit = nullptr;
            for (auto& r : s->ranges)
                for (auto& c : r.range->columns)
                    if (name_matches(cname, c.name)) {
                        if (hit && (hit_range->range != r.range || hit->column != c.column))
                            error_at(AdqlError::Kind::UnknownName, e,
                                     "ambiguous column name " + cname.name + ": qualify it with its table");
                        hit = &c;
                        hit_range = &r;
                    }
            if (hit) {
                Node n = column_node(hit_range->range, *hit, e.line, e.column);
                n->text = path_text(e.path);
                return n;
            }
            if (allow_alias && s == &scope)
                for (auto& a : s->aliases)
                    if (name_matches(cname, a.name)) return a.expr;
        }
    } else {
        std::vector<Ident> q(e.path.begin(), e.path.end() - 1);
        const ScopeRange& r = find_range(scope, q, e.line, e.column);
        for (auto& c : r.range->columns)
            if (name_matches(cname, c.name)) {
                Node n = column_node(r.range, c, e.line, e.column);
                n->text = path_text(e.path);
                return n;
            }
        std::vector<std::string> names;
        for (auto& c : r.range->columns) names.push_back(c.name);
        error_at(AdqlError::Kind::UnknownName, e,
                 "unknown column " + path_text(e.path) + " in " + r.label + suggest(cname.name, names));
    }
    std::vector<std::string> names;
    for (auto& r : scope.ranges)
        for (auto& c : r.range->columns) names.push_back(c.name);
    error_at(AdqlError::Kind::UnknownName, e, "unknown column " + path_text(e.path) + suggest(cname.name, names));
}

}  // namespace detail

const std::vector<UdfDecl>& builtin_udfs() {
    static const std::vector<UdfDecl> v = [] {
        std::vector<UdfDecl> out;
        for (const char* f : {"ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT",
                              "ivo_healpix_center(hpxOrder INTEGER, hpxIndex BIGINT) -> POINT",
                              "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
                              "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
                              "ivo_interval_overlaps(l1 DOUBLE, h1 DOUBLE, l2 DOUBLE, h2 DOUBLE) -> INTEGER",
                              "ivo_string_agg(expr TEXT, delim TEXT) -> TEXT",
                              "range_s2d(ra_min DOUBLE, ra_max DOUBLE, dec_min DOUBLE, dec_max DOUBLE) -> REGION"})
            out.push_back(parse_udf_decl(f));
        return out;
    }();
    return v;
}

bound::Statement bind(const ast::Statement& query, const Catalog& catalog, const std::vector<UdfDecl>& udfs) {
    if (!query.body) throw AdqlError(AdqlError::Kind::Syntax, "empty query");
    detail::Binder b(catalog, udfs);
    return b.statement(query);
}

}  // namespace vo::adql
