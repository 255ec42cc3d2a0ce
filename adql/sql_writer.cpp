// SQL-92 from a bound tree: the parts every dialect shares (adql/sql_writer.hpp).
#include "adql/sql_writer.hpp"

#include <algorithm>

namespace vo::adql {

using bound::Expr;
using BK = bound::Expr::Kind;

namespace {
std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}
}  // namespace

std::string SqlWriter::quote_ident(std::string_view s) {
    std::string r = "\"";
    for (char c : s) {
        if (c == '"') r += '"';
        r += c;
    }
    return r + "\"";
}

std::string SqlWriter::quote_string(std::string_view s) {
    std::string r = "'";
    for (char c : s) {
        if (c == '\'') r += '\'';
        r += c;
    }
    return r + "'";
}

std::string SqlWriter::statement(const bound::Statement& st) {
    std::string with;
    for (auto& c : st.with)
        with += (with.empty() ? "WITH " : ", ") + quote_ident(c.sql_name) + " AS (" + query(*c.query, false) + ")";
    std::string body = query(*st.body, true);
    return with.empty() ? body : with + " " + body;
}

// ---------------------------------------------------------------- queries

std::string SqlWriter::query(const bound::Query& q, bool outermost) {
    using QK = bound::Query::Kind;
    if (q.kind == QK::Select) return select(q, outermost);
    std::string sql;
    // every derived table named: PostgreSQL requires it, SQLite accepts it
    if (q.kind == QK::Nested)
        sql = "SELECT * FROM (" + query(*q.left, false) + ") AS \"n\"";
    else
        sql = set_operation(q, query(*q.left, false), query(*q.right, false));
    if (!q.order_by.empty()) {
        std::string ob;
        for (auto& t : q.order_by)
            ob += (ob.empty() ? "" : ", ") + (t.position ? std::to_string(t.position) : quote_ident(t.output_name)) +
                  order_direction(t.desc);
        sql = "SELECT * FROM (" + sql + ") AS \"o\" ORDER BY " + ob;
    }
    return sql + limit_clause(outermost ? row_limit_ : std::nullopt, q.offset);
}

std::string SqlWriter::set_operation(const bound::Query& q, const std::string& left, const std::string& right) {
    const char* op = q.kind == bound::Query::Kind::Union    ? "UNION"
                     : q.kind == bound::Query::Kind::Except ? "EXCEPT"
                                                            : "INTERSECT";
    return "SELECT * FROM (" + left + ") AS \"l\" " + op + (q.all ? " ALL " : " ") + "SELECT * FROM (" + right +
           ") AS \"r\"";
}

std::string SqlWriter::limit_clause(std::optional<std::int64_t> limit, std::optional<std::int64_t> offset) {
    std::string s;
    if (limit) s += " LIMIT " + std::to_string(*limit);
    if (offset) s += " OFFSET " + std::to_string(*offset);
    return s;
}

std::string SqlWriter::select(const bound::Query& q, bool outermost) {
    const bound::Select& s = *q.select;
    std::string list;
    for (auto& item : s.items) list += (list.empty() ? "" : ", ") + expr(*item.expr) + " AS " + quote_ident(item.name);
    std::string from;
    for (auto& f : s.from) from += (from.empty() ? "" : ", ") + from_item(*f);
    std::string sql = std::string("SELECT ") + (s.distinct ? "DISTINCT " : "") + list + " FROM " + from;
    if (s.where) {
        std::string cond = expr(*s.where);
        std::string pre = condition_extra(*s.where);
        sql += " WHERE " + (pre.empty() ? cond : "(" + cond + ")" + pre);
    }
    if (!s.group_by.empty()) {
        std::string g;
        for (auto& e : s.group_by) g += (g.empty() ? "" : ", ") + expr(*e);
        sql += " GROUP BY " + g;
    }
    if (s.having) sql += " HAVING " + expr(*s.having);
    if (!q.order_by.empty()) {
        std::string ob;
        for (auto& t : q.order_by)
            ob += (ob.empty() ? "" : ", ") + (t.position ? std::to_string(t.position) : expr(*t.expr)) +
                  order_direction(t.desc);
        sql += " ORDER BY " + ob;
    }
    std::optional<std::int64_t> limit = s.top;
    if (outermost && row_limit_) limit = limit ? std::min(*limit, *row_limit_) : *row_limit_;
    return sql + limit_clause(limit, q.offset);
}

std::string SqlWriter::range(const bound::Range& r) {
    switch (r.kind) {
        case bound::Range::Kind::Table: return table_source(*r.table) + " AS " + quote_ident(r.alias);
        case bound::Range::Kind::Cte: return quote_ident(r.cte_name) + " AS " + quote_ident(r.alias);
        case bound::Range::Kind::Derived: return "(" + query(*r.subquery, false) + ") AS " + quote_ident(r.alias);
    }
    return {};
}

std::string SqlWriter::table_name(const std::string& physical) { return quote_ident(physical); }

std::string SqlWriter::table_source(const TableInfo& table) {
    const auto filter = row_filters_.find(table.physical);
    if (filter == row_filters_.end()) return table_name(table.physical);
    // issue 12 item 3: the table as the rows the caller may see, wherever it
    // is named; the outer query's index pre-filters and conditions apply to
    // it as to the table (both databases merge such a subquery into the query)
    return "(SELECT " + filtered_columns() + " FROM " + table_name(table.physical) + " WHERE " + filter->second + ")";
}

std::string SqlWriter::from_item(const bound::FromItem& f) {
    if (f.kind == bound::FromItem::Kind::Range) return range(*f.range);
    std::string l = from_item(*f.left);
    std::string r = from_item(*f.right);
    std::string on = f.on ? expr(*f.on) : true_condition();
    if (f.on && f.explicit_on)
        if (std::string pre = condition_extra(*f.on); !pre.empty()) on = "(" + on + ")" + pre;
    using JT = bound::FromItem::JoinType;
    const char* jt = f.join_type == JT::Inner   ? "INNER"
                     : f.join_type == JT::Left  ? "LEFT OUTER"
                     : f.join_type == JT::Right ? "RIGHT OUTER"
                                                : "FULL OUTER";
    return "(" + l + " " + jt + " JOIN " + r + " ON " + on + ")";
}

std::string SqlWriter::condition_extra(const bound::Expr&) { return {}; }

std::string SqlWriter::order_direction(bool desc) { return desc ? " DESC NULLS FIRST" : " ASC NULLS LAST"; }

// ---------------------------------------------------------------- expressions

std::string SqlWriter::args(const bound::Expr& e, std::size_t from) {
    std::string s;
    for (std::size_t i = from; i < e.args.size(); ++i) s += (i > from ? ", " : "") + expr(*e.args[i]);
    return s;
}

std::string SqlWriter::literal(const bound::Expr& e) {
    switch (e.type) {
        case bound::Type::Null: return "NULL";
        case bound::Type::String: return quote_string(e.text);
        default: return e.text;
    }
}

std::string SqlWriter::column(const bound::Expr& e) {
    std::string ref = quote_ident(e.range->alias) + "." + quote_ident(e.column_name);
    // a value completed or computed at query time (ColumnInfo::sql_template):
    // "{}" is this column, "{name}" the column `name` of the same table reference
    if (e.range->kind != bound::Range::Kind::Table || e.info.sql_template.empty()) return ref;
    const std::string& t = e.info.sql_template;
    std::string out;
    for (std::size_t at = 0; at < t.size();) {
        const std::size_t open = t.find('{', at);
        const std::size_t close = open == std::string::npos ? open : t.find('}', open);
        if (close == std::string::npos) {
            out += t.substr(at);
            break;
        }
        out += t.substr(at, open - at);
        const std::string name = lower_ascii(std::string_view(t).substr(open + 1, close - open - 1));
        if (name.empty()) {
            out += ref;
        } else {
            const auto& cols = e.range->columns;
            const auto it = std::find_if(cols.begin(), cols.end(),
                                         [&](const bound::RangeColumn& c) { return lower_ascii(c.name) == name; });
            if (it == cols.end())
                throw AdqlError(AdqlError::Kind::Unsupported, "column " + e.info.name + " is computed from column " +
                                                                  name + ", which this table does not have");
            out += quote_ident(e.range->alias) + "." + quote_ident(it->column);
        }
        at = close + 1;
    }
    return "(" + out + ")";
}

std::string SqlWriter::compare(const bound::Expr& e) {
    return "(" + expr(*e.args[0]) + " " + e.op + " " + expr(*e.args[1]) + ")";
}

std::string SqlWriter::aggregate(const bound::Expr& e) {
    if (e.args.empty()) return "count(*)";
    return e.name + "(" + (e.distinct ? "DISTINCT " : "") + expr(*e.args[0]) + ")";
}

std::string SqlWriter::expr(const bound::Expr& e) {
    switch (e.kind) {
        case BK::Literal: return literal(e);
        case BK::Column: return column(e);
        case BK::Paren: return "(" + expr(*e.args[0]) + ")";
        case BK::Unary: return "(" + e.op + expr(*e.args[0]) + ")";
        case BK::Binary: return "(" + expr(*e.args[0]) + " " + e.op + " " + expr(*e.args[1]) + ")";
        case BK::Compare: return compare(e);
        case BK::Between:
            return "(" + expr(*e.args[0]) + (e.negated ? " NOT" : "") + " BETWEEN " + expr(*e.args[1]) + " AND " +
                   expr(*e.args[2]) + ")";
        case BK::InList: return "(" + expr(*e.args[0]) + (e.negated ? " NOT IN (" : " IN (") + args(e, 1) + "))";
        case BK::InQuery:
            return "(" + expr(*e.args[0]) + (e.negated ? " NOT IN (" : " IN (") + query(*e.query, false) + "))";
        case BK::Like: return like(e);
        case BK::IsNull: return "(" + expr(*e.args[0]) + (e.negated ? " IS NOT NULL)" : " IS NULL)");
        case BK::Exists: return "(EXISTS (" + query(*e.query, false) + "))";
        case BK::And: return "(" + expr(*e.args[0]) + " AND " + expr(*e.args[1]) + ")";
        case BK::Or: return "(" + expr(*e.args[0]) + " OR " + expr(*e.args[1]) + ")";
        case BK::Not: return "(NOT " + expr(*e.args[0]) + ")";
        case BK::Subquery: return "(" + query(*e.query, false) + ")";
        case BK::Case: {
            std::string s = "(CASE";
            std::size_t i = 0;
            if (e.case_has_operand) s += " " + expr(*e.args[i++]);
            const std::size_t end = e.args.size() - (e.case_has_else ? 1 : 0);
            for (; i + 1 < end + 1 && i < end; i += 2)
                s += " WHEN " + expr(*e.args[i]) + " THEN " + expr(*e.args[i + 1]);
            if (e.case_has_else) s += " ELSE " + expr(*e.args.back());
            return s + " END)";
        }
        case BK::Cast: return cast(e);
        case BK::Aggregate: return aggregate(e);
        case BK::Function: return function(e);
    }
    return {};
}

}  // namespace vo::adql
