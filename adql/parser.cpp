// ADQL 2.1 lexer and recursive-descent parser (ADQL 2.1 section 2 and
// appendix A). See parser.hpp.
#include "adql/parser.hpp"
#include "adql/functions.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <charconv>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>

namespace vo::adql {
namespace {

// ---------------------------------------------------------------- words

const std::unordered_set<std::string>& reserved_words() {
    static const std::unordered_set<std::string> words = {
        // ADQL 2.1 section 2.1.4
        "ABS", "ACOS", "AREA", "ASIN", "ATAN", "ATAN2", "BIGINT", "BOX", "CEILING", "CENTROID", "CIRCLE", "CONTAINS",
        "COORD1", "COORD2", "COORDSYS", "COS", "COT", "DEGREES", "DISTANCE", "EXP", "FLOOR", "ILIKE", "INTERSECTS",
        "IN_UNIT", "LOG", "LOG10", "MOD", "OFFSET", "PI", "POINT", "POLYGON", "POWER", "RADIANS", "REGION", "RAND",
        "ROUND", "SIN", "SQRT", "TOP", "TAN", "TRUNCATE",
        // SQL-92, ADQL 2.1 section 2.1.3
        "ABSOLUTE", "ACTION", "ADD", "ALL", "ALLOCATE", "ALTER", "AND", "ANY", "ARE", "AS", "ASC", "ASSERTION", "AT",
        "AUTHORIZATION", "AVG", "BEGIN", "BETWEEN", "BIT", "BIT_LENGTH", "BOTH", "BY", "CASCADE", "CASCADED", "CASE",
        "CAST", "CATALOG", "CHAR", "CHARACTER", "CHAR_LENGTH", "CHARACTER_LENGTH", "CHECK", "CLOSE", "COALESCE",
        "COLLATE", "COLLATION", "COLUMN", "COMMIT", "CONNECT", "CONNECTION", "CONSTRAINT", "CONSTRAINTS", "CONTINUE",
        "CONVERT", "CORRESPONDING", "COUNT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME",
        "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATE", "DAY", "DEALLOCATE", "DECIMAL", "DECLARE", "DEFAULT",
        "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DESCRIBE", "DESCRIPTOR", "DIAGNOSTICS", "DISCONNECT", "DISTINCT",
        "DOMAIN", "DOUBLE", "DROP", "ELSE", "END", "END-EXEC", "ESCAPE", "EXCEPT", "EXCEPTION", "EXEC", "EXECUTE",
        "EXISTS", "EXTERNAL", "EXTRACT", "FALSE", "FETCH", "FIRST", "FLOAT", "FOR", "FOREIGN", "FOUND", "FROM", "FULL",
        "GET", "GLOBAL", "GO", "GOTO", "GRANT", "GROUP", "HAVING", "HOUR", "IDENTITY", "IMMEDIATE", "IN", "INDICATOR",
        "INITIALLY", "INNER", "INPUT", "INSENSITIVE", "INSERT", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO", "IS",
        "ISOLATION", "JOIN", "KEY", "LANGUAGE", "LAST", "LEADING", "LEFT", "LEVEL", "LIKE", "LOCAL", "LOWER", "MATCH",
        "MAX", "MIN", "MINUTE", "MODULE", "MONTH", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NEXT", "NO", "NOT", "NULL",
        "NULLIF", "NUMERIC", "OCTET_LENGTH", "OF", "ON", "ONLY", "OPEN", "OPTION", "OR", "ORDER", "OUTER", "OUTPUT",
        "OVERLAPS", "PAD", "PARTIAL", "POSITION", "PRECISION", "PREPARE", "PRESERVE", "PRIMARY", "PRIOR", "PRIVILEGES",
        "PROCEDURE", "PUBLIC", "READ", "REAL", "REFERENCES", "RELATIVE", "RESTRICT", "REVOKE", "RIGHT", "ROLLBACK",
        "ROWS", "SCHEMA", "SCROLL", "SECOND", "SECTION", "SELECT", "SESSION", "SESSION_USER", "SET", "SIZE", "SMALLINT",
        "SOME", "SPACE", "SQL", "SQLCODE", "SQLERROR", "SQLSTATE", "SUBSTRING", "SUM", "SYSTEM_USER", "TABLE",
        "TEMPORARY", "THEN", "TIME", "TIMESTAMP", "TIMEZONE_HOUR", "TIMEZONE_MINUTE", "TO", "TRAILING", "TRANSACTION",
        "TRANSLATE", "TRANSLATION", "TRIM", "TRUE", "UNION", "UNIQUE", "UNKNOWN", "UPDATE", "UPPER", "USAGE", "USER",
        "USING", "VALUE", "VALUES", "VARCHAR", "VARYING", "VIEW", "WHEN", "WHENEVER", "WHERE", "WITH", "WORK", "WRITE",
        "YEAR", "ZONE"};
    return words;
}

std::string upper(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

// Built-in functions and their arities: the catalogue (adql/functions.hpp).
// Geometry functions have forms of their own, checked in geometry_function.
struct Arity {
    int min, max;
};
std::optional<Arity> find_numeric_function(const std::string& name) {
    const FunctionEntry* f = find_function(name);
    if (!f || f->geometry || f->aggregate || f->feature == "features-adql-type" || f->feature == "features-adql-unit" ||
        f->feature == "features-adql-conditional")
        return std::nullopt;
    return Arity{f->min_args, f->max_args};
}

bool is_geometry_function(const std::string& n) {
    const FunctionEntry* f = find_function(n);
    return f && f->geometry;
}

// ---------------------------------------------------------------- lexer

struct Token {
    enum class Kind { End, Ident, Delim, String, Number, Symbol };
    Kind kind = Kind::End;
    std::string text;  // identifier/symbol/number as written; string/delimited unescaped
    std::string raw;   // as written, for messages
    int line = 1, column = 1;
    bool is_integer = false;
};

[[noreturn]] void too_complex(int line, int column, const std::string& what) {
    throw AdqlError(AdqlError::Kind::TooComplex,
                    "query too complex: " + what + "; simplify the query or split it into several", line, column);
}

void check_depth_impl(const ast::Statement& st, int max_depth) {
    using Node = std::variant<const ast::Expr*, const ast::QueryExpr*, const ast::SelectCore*, const ast::TableRef*>;
    std::vector<std::pair<Node, int>> stack;
    auto push = [&](auto* p, int d) {
        if (p) stack.emplace_back(Node(p), d);
    };
    for (const auto& w : st.with) push(w.query.get(), 1);
    push(st.body.get(), 1);
    while (!stack.empty()) {
        auto [n, d] = stack.back();
        stack.pop_back();
        if (d > max_depth) {
            int line = 0, column = 0;
            std::visit(
                [&](auto* p) {
                    if constexpr (!std::is_same_v<decltype(p), const ast::SelectCore*>)
                        line = p->line, column = p->column;
                },
                n);
            too_complex(line, column, "nested deeper than " + std::to_string(max_depth) + " levels");
        }
        if (auto* e = std::get_if<const ast::Expr*>(&n)) {
            for (const auto& a : (*e)->args) push(a.get(), d + 1);
            push((*e)->query.get(), d + 1);
        } else if (auto* q = std::get_if<const ast::QueryExpr*>(&n)) {
            push((*q)->select.get(), d + 1);
            push((*q)->left.get(), d + 1);
            push((*q)->right.get(), d + 1);
            for (const auto& o : (*q)->order_by) push(o.expr.get(), d + 1);
        } else if (auto* s = std::get_if<const ast::SelectCore*>(&n)) {
            for (const auto& it : (*s)->items) push(it.expr.get(), d + 1);
            for (const auto& f : (*s)->from) push(f.get(), d + 1);
            push((*s)->where.get(), d + 1);
            for (const auto& g : (*s)->group_by) push(g.get(), d + 1);
            push((*s)->having.get(), d + 1);
        } else if (auto* t = std::get_if<const ast::TableRef*>(&n)) {
            push((*t)->subquery.get(), d + 1);
            push((*t)->left.get(), d + 1);
            push((*t)->right.get(), d + 1);
            push((*t)->on.get(), d + 1);
        }
    }
}

[[noreturn]] void syntax_error(int line, int column, const std::string& msg) {
    throw AdqlError(
        AdqlError::Kind::Syntax,
        "ADQL syntax error at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + msg, line,
        column);
}

std::vector<Token> lex(std::string_view s) {
    std::vector<Token> out;
    std::size_t i = 0;
    int line = 1;
    std::size_t line_start = 0;
    int last_end_line = 0;
    auto col = [&](std::size_t at) { return static_cast<int>(at - line_start) + 1; };
    auto newline_at = [&](std::size_t at) {
        ++line;
        line_start = at + 1;
    };
    while (i < s.size()) {
        char c = s[i];
        if (c == '\n') {
            newline_at(i);
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
            continue;
        }
        if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {  // comment, section 2.1.10
            while (i < s.size() && s[i] != '\n') ++i;
            continue;
        }
        Token t;
        t.line = line;
        t.column = col(i);
        std::size_t start = i;
        if (std::isalpha(static_cast<unsigned char>(c))) {
            while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
            t.kind = Token::Kind::Ident;
            t.text = std::string(s.substr(start, i - start));
        } else if (c == '"') {
            ++i;
            std::string body;
            bool closed = false;
            while (i < s.size()) {
                if (s[i] == '"') {
                    if (i + 1 < s.size() && s[i + 1] == '"') {
                        body += '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                if (s[i] == '\n') newline_at(i);
                body += s[i++];
            }
            if (!closed) syntax_error(t.line, t.column, "unterminated delimited identifier (missing closing '\"')");
            if (body.empty()) syntax_error(t.line, t.column, "empty delimited identifier \"\"");
            t.kind = Token::Kind::Delim;
            t.text = body;
        } else if (c == '\'') {
            ++i;
            std::string body;
            bool closed = false;
            while (i < s.size()) {
                if (s[i] == '\'') {
                    if (i + 1 < s.size() && s[i + 1] == '\'') {
                        body += '\'';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                if (s[i] == '\n') newline_at(i);
                body += s[i++];
            }
            if (!closed) syntax_error(t.line, t.column, "unterminated string literal (missing closing quote)");
            t.kind = Token::Kind::String;
            t.text = body;
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
                    (out.empty() || (out.back().kind != Token::Kind::Delim &&
                                     (out.back().kind != Token::Kind::Ident || is_reserved_word(out.back().text)))))) {
            // ".5" is a number (exact_numeric_literal ::= <period> <unsigned_decimal>)
            // except after a name, where the period qualifies it; a reserved word
            // (SELECT .5, WHERE x > .5 AND .5 < y) is not a name.
            bool integer = true;
            while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            if (i < s.size() && s[i] == '.') {
                integer = false;
                ++i;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
            if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
                std::size_t j = i + 1;
                if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
                if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
                    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
                    i = j;
                    integer = false;
                }
            }
            t.kind = Token::Kind::Number;
            t.text = std::string(s.substr(start, i - start));
            t.is_integer = integer;
        } else {
            static const char* two[] = {"<>", "!=", "<=", ">=", "||"};
            t.kind = Token::Kind::Symbol;
            bool matched = false;
            for (const char* op : two) {
                if (s.substr(i, 2) == op) {
                    t.text = op;
                    i += 2;
                    matched = true;
                    break;
                }
            }
            if (!matched) {
                if (std::string_view("(),.*+-/=<>;").find(c) == std::string_view::npos) {
                    std::string shown = (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                                            ? "byte 0x" +
                                                  [&] {
                                                      char b[8];
                                                      std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(c));
                                                      return std::string(b);
                                                  }()
                                            : std::string("'") + c + "'";
                    syntax_error(t.line, t.column, "unexpected character " + shown);
                }
                t.text = std::string(1, c);
                ++i;
            }
        }
        t.raw = std::string(s.substr(start, i - start));
        // SQL-92 <character_string_literal>: literals separated by a separator
        // containing a newline are one literal ('abc'\n'def' = 'abcdef').
        if (t.kind == Token::Kind::String && !out.empty() && out.back().kind == Token::Kind::String &&
            t.line > last_end_line) {
            out.back().text += t.text;
            out.back().raw += t.raw;
            last_end_line = line;
            continue;
        }
        last_end_line = line;
        out.push_back(std::move(t));
    }
    Token end;
    end.kind = Token::Kind::End;
    end.line = line;
    end.column = col(s.size());
    out.push_back(end);
    return out;
}

// ---------------------------------------------------------------- parser

using ast::Expr;
using ast::ExprPtr;
using ast::Ident;
using ast::QueryExpr;
using ast::QueryPtr;
using K = Expr::Kind;

// Syntactic category of an expression: the grammar tells search conditions,
// geometry values and other values apart.
enum class Cat { Bool, Geom, Value };

Cat category(const Expr& e) {
    switch (e.kind) {
        case K::Compare:
        case K::Between:
        case K::In:
        case K::Like:
        case K::IsNull:
        case K::Exists:
        case K::And:
        case K::Or:
        case K::Not: return Cat::Bool;
        case K::Paren: return category(*e.args[0]);
        case K::Function:
            if (e.text == "POINT" || e.text == "CIRCLE" || e.text == "BOX" || e.text == "POLYGON" ||
                e.text == "REGION" || e.text == "CENTROID")
                return Cat::Geom;
            return Cat::Value;
        case K::Cast:
            if (e.cast_type == "POINT" || e.cast_type == "CIRCLE" || e.cast_type == "POLYGON") return Cat::Geom;
            return Cat::Value;
        default: return Cat::Value;
    }
}

class Parser {
public:
    Parser(std::string_view text, const ParseOptions& opt) : toks_(lex(checked_size(text, opt))), opt_(opt) {}

    ast::Statement statement() {
        ast::Statement st;
        if (is_kw("WITH")) {
            next();
            do {
                ast::WithQuery w;
                w.name = identifier("a common table expression name");
                expect_kw("AS");
                expect("(");
                w.query = select_expression();
                expect(")");
                st.with.push_back(std::move(w));
            } while (accept(","));
        }
        st.body = select_expression();
        accept(";");
        if (cur().kind != Token::Kind::End) fail("the end of the query");
        check_depth_impl(st, opt_.limits.max_depth);
        return st;
    }

private:
    std::vector<Token> toks_;
    std::size_t pos_ = 0;
    const ParseOptions& opt_;
    int depth_ = 0;

    std::size_t nodes_ = 0;

    /// Bounds the parser's own recursion (parentheses, subqueries, NOT) by
    /// the depth limit.
    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& pp) : p(pp) {
            if (++p.depth_ > p.opt_.limits.max_depth)
                too_complex(p.cur().line, p.cur().column,
                            "nested deeper than " + std::to_string(p.opt_.limits.max_depth) + " levels");
        }
        ~DepthGuard() { --p.depth_; }
    };

    static std::string_view checked_size(std::string_view text, const ParseOptions& opt) {
        if (text.size() > opt.limits.max_query_bytes)
            too_complex(0, 0,
                        "the text is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                            std::to_string(opt.limits.max_query_bytes) + " bytes");
        return text;
    }

    /// A new tree node of type T, counted against the node limit.
    template <class T>
    std::shared_ptr<T> node() {
        if (++nodes_ > opt_.limits.max_nodes)
            too_complex(cur().line, cur().column,
                        "more than " + std::to_string(opt_.limits.max_nodes) + " syntax tree nodes");
        return std::make_shared<T>();
    }

    const Token& cur() const { return toks_[pos_]; }
    const Token& peek(std::size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
    void next() {
        if (pos_ + 1 < toks_.size()) ++pos_;
    }

    static std::string describe(const Token& t) {
        switch (t.kind) {
            case Token::Kind::End: return "the end of the query";
            case Token::Kind::String: return "string '" + t.raw.substr(1, 40) + (t.raw.size() > 41 ? "...'" : "");
            default: return "'" + t.raw + "'";
        }
    }
    [[noreturn]] void fail(const std::string& expected) const {
        syntax_error(cur().line, cur().column, "expected " + expected + ", found " + describe(cur()));
    }
    [[noreturn]] void fail_at(const Expr& e, const std::string& msg) const { syntax_error(e.line, e.column, msg); }

    bool is_sym(const char* s) const { return cur().kind == Token::Kind::Symbol && cur().text == s; }
    static bool tok_is_kw(const Token& t, const char* kw) {
        if (t.kind != Token::Kind::Ident || t.text.size() != std::char_traits<char>::length(kw)) return false;
        for (std::size_t i = 0; i < t.text.size(); ++i)
            if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
        return true;
    }
    bool is_kw(const char* kw) const { return tok_is_kw(cur(), kw); }
    bool accept(const char* sym) {
        if (is_sym(sym)) {
            next();
            return true;
        }
        return false;
    }
    bool accept_kw(const char* kw) {
        if (is_kw(kw)) {
            next();
            return true;
        }
        return false;
    }
    void expect(const char* sym) {
        if (!accept(sym)) fail(std::string("'") + sym + "'");
    }
    void expect_kw(const char* kw) {
        if (!accept_kw(kw)) fail(kw);
    }
    bool is_identifier_token(const Token& t) const {
        return t.kind == Token::Kind::Delim || (t.kind == Token::Kind::Ident && !is_reserved_word(t.text));
    }
    Ident identifier(const char* what) {
        const Token& t = cur();
        if (t.kind == Token::Kind::Delim) {
            Ident id{t.text, true};
            next();
            return id;
        }
        if (t.kind == Token::Kind::Ident) {
            if (is_reserved_word(t.text))
                syntax_error(t.line, t.column,
                             std::string("expected ") + what + ", found the reserved word '" + t.raw +
                                 "' (write it in double quotes to use it as a name)");
            Ident id{t.text, false};
            next();
            return id;
        }
        fail(what);
    }
    std::int64_t unsigned_integer(const char* what) {
        if (cur().kind != Token::Kind::Number || !cur().is_integer) fail(what);
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(cur().text.data(), cur().text.data() + cur().text.size(), v);
        if (ec != std::errc()) syntax_error(cur().line, cur().column, std::string(what) + " is too large");
        next();
        return v;
    }

    ExprPtr make(K kind, const Token& at) {
        auto e = node<Expr>();
        e->kind = kind;
        e->line = at.line;
        e->column = at.column;
        return e;
    }

    // ---- category checks
    void need_value(const ExprPtr& e, const char* where) const {
        if (category(*e) == Cat::Bool)
            fail_at(*e, std::string("expected a value expression ") + where + ", found a search condition");
    }
    void need_scalar(const ExprPtr& e, const char* where) const {  // numeric or string, not geometry
        need_value(e, where);
        if (category(*e) == Cat::Geom) fail_at(*e, std::string("a geometry value cannot be used ") + where);
    }
    void need_bool(const ExprPtr& e, const char* where) const {
        if (category(*e) != Cat::Bool)
            fail_at(*e, std::string("expected a search condition (comparison, BETWEEN, IN, LIKE, IS NULL, EXISTS) ") +
                            where);
    }

    // ---- queries
    QueryPtr select_expression() {
        DepthGuard g(*this);
        QueryPtr q = set_expression();
        if (is_kw("ORDER") || is_kw("OFFSET")) {
            if (!q->order_by.empty() || q->offset || q->kind != QueryExpr::Kind::Select) {
                auto w = node<QueryExpr>();
                w->kind = QueryExpr::Kind::Nested;
                w->left = q;
                w->line = q->line;
                w->column = q->column;
                q = w;
            }
            if (accept_kw("ORDER")) {
                expect_kw("BY");
                do {
                    ast::OrderItem it;
                    it.expr = value_expression("in ORDER BY");
                    if (accept_kw("DESC"))
                        it.desc = true;
                    else
                        accept_kw("ASC");
                    q->order_by.push_back(std::move(it));
                } while (accept(","));
            }
            if (accept_kw("OFFSET")) q->offset = unsigned_integer("an unsigned integer after OFFSET");
        }
        return q;
    }

    QueryPtr set_expression() {
        QueryPtr left = set_term();
        while (is_kw("UNION") || is_kw("EXCEPT")) {
            auto q = node<QueryExpr>();
            q->kind = is_kw("UNION") ? QueryExpr::Kind::Union : QueryExpr::Kind::Except;
            q->line = cur().line;
            q->column = cur().column;
            next();
            q->all = accept_kw("ALL");
            if (!q->all) accept_kw("DISTINCT");
            q->left = left;
            q->right = set_term();
            left = q;
        }
        return left;
    }
    QueryPtr set_term() {
        QueryPtr left = set_primary();
        while (is_kw("INTERSECT")) {
            auto q = node<QueryExpr>();
            q->kind = QueryExpr::Kind::Intersect;
            q->line = cur().line;
            q->column = cur().column;
            next();
            q->all = accept_kw("ALL");
            if (!q->all) accept_kw("DISTINCT");
            q->left = left;
            q->right = set_primary();
            left = q;
        }
        return left;
    }
    QueryPtr set_primary() {
        if (is_sym("(")) {
            next();
            QueryPtr q = select_expression();
            expect(")");
            if (q->kind != QueryExpr::Kind::Select || !q->order_by.empty() || q->offset) {
                // keep the parentheses: its ORDER BY/OFFSET/set operation is its own
                auto w = node<QueryExpr>();
                w->kind = QueryExpr::Kind::Nested;
                w->left = q;
                w->line = q->line;
                w->column = q->column;
                return w;
            }
            return q;
        }
        if (!is_kw("SELECT")) fail("SELECT");
        return select_query();
    }

    QueryPtr select_query() {
        auto q = node<QueryExpr>();
        q->kind = QueryExpr::Kind::Select;
        q->line = cur().line;
        q->column = cur().column;
        auto s = node<ast::SelectCore>();
        q->select = s;
        expect_kw("SELECT");
        if (accept_kw("DISTINCT"))
            s->distinct = true;
        else
            accept_kw("ALL");
        if (accept_kw("TOP")) s->top = unsigned_integer("an unsigned integer after TOP");
        if (is_kw("FROM")) fail("a select list");
        do {
            s->items.push_back(select_item());
        } while (accept(","));
        if (!is_kw("FROM")) fail("',' or FROM");
        next();
        do {
            s->from.push_back(table_reference());
        } while (accept(","));
        if (accept_kw("WHERE")) s->where = condition("in WHERE");
        if (accept_kw("GROUP")) {
            expect_kw("BY");
            do {
                s->group_by.push_back(value_expression("in GROUP BY"));
            } while (accept(","));
        }
        if (accept_kw("HAVING")) s->having = condition("in HAVING");
        return q;
    }

    ast::SelectItem select_item() {
        ast::SelectItem it;
        it.line = cur().line;
        it.column = cur().column;
        if (accept("*")) {
            it.star = true;
            return it;
        }
        // qualifier.*
        std::size_t n = 0;
        while (is_identifier_token(peek(n)) && peek(n + 1).kind == Token::Kind::Symbol && peek(n + 1).text == ".")
            n += 2;
        if (n > 0 && peek(n).kind == Token::Kind::Symbol && peek(n).text == "*") {
            if (n / 2 > 3) syntax_error(it.line, it.column, "too many name parts before '.*'");
            for (std::size_t k = 0; k < n / 2; ++k) {
                it.star_qualifier.push_back(identifier("a table name"));
                next();  // '.'
            }
            next();  // '*'
            it.star = true;
            return it;
        }
        it.expr = value_expression("in the select list");
        if (accept_kw("AS"))
            it.alias = identifier("a column alias after AS");
        else if (is_identifier_token(cur()))
            it.alias = identifier("a column alias");
        return it;
    }

    ast::TableRefPtr table_reference() {
        DepthGuard g(*this);
        ast::TableRefPtr left = table_primary();
        for (;;) {
            const Token& start = cur();
            bool natural = false;
            auto type = ast::TableRef::JoinType::Inner;
            std::size_t save = pos_;
            if (accept_kw("NATURAL")) natural = true;
            if (accept_kw("INNER")) {
            } else if (is_kw("LEFT") || is_kw("RIGHT") || is_kw("FULL")) {
                type = is_kw("LEFT")    ? ast::TableRef::JoinType::Left
                       : is_kw("RIGHT") ? ast::TableRef::JoinType::Right
                                        : ast::TableRef::JoinType::Full;
                next();
                accept_kw("OUTER");
            }
            if (!is_kw("JOIN")) {
                if (pos_ != save) fail("JOIN");
                return left;
            }
            next();
            auto j = node<ast::TableRef>();
            j->kind = ast::TableRef::Kind::Join;
            j->line = start.line;
            j->column = start.column;
            j->natural = natural;
            j->join_type = type;
            j->left = left;
            j->right = table_primary();
            if (accept_kw("ON")) {
                if (natural) syntax_error(start.line, start.column, "a NATURAL JOIN cannot have an ON condition");
                j->on = condition("after ON");
            } else if (accept_kw("USING")) {
                if (natural) syntax_error(start.line, start.column, "a NATURAL JOIN cannot have USING");
                expect("(");
                do {
                    j->using_columns.push_back(identifier("a column name in USING"));
                } while (accept(","));
                expect(")");
                j->has_using = true;
            }
            // ADQL 2.1 appendix A: <qualified_join> makes <join_specification>
            // optional, so a JOIN without ON/USING is accepted (a cross join).
            left = j;
        }
    }

    ast::TableRefPtr table_primary() {
        auto t = node<ast::TableRef>();
        t->line = cur().line;
        t->column = cur().column;
        if (is_sym("(")) {
            std::size_t k = 1;
            while (peek(k).kind == Token::Kind::Symbol && peek(k).text == "(") ++k;
            if (tok_is_kw(peek(k), "SELECT")) {
                next();
                t->kind = ast::TableRef::Kind::Derived;
                t->subquery = select_expression();
                expect(")");
                accept_kw("AS");
                if (!is_identifier_token(cur()))
                    fail("a correlation name for the subquery in FROM (e.g. '(SELECT ...) AS sub')");
                t->alias = identifier("a correlation name");
                return t;
            }
            next();
            auto inner = table_reference();
            expect(")");
            if (inner->kind != ast::TableRef::Kind::Join)
                syntax_error(t->line, t->column, "parentheses in FROM must enclose a subquery or a join");
            return inner;
        }
        t->kind = ast::TableRef::Kind::Table;
        t->name.push_back(identifier("a table name"));
        while (is_sym(".")) {
            next();
            t->name.push_back(identifier("a table name after '.'"));
        }
        if (t->name.size() > 3)
            syntax_error(t->line, t->column, "a table name has at most three parts (catalog.schema.table)");
        if (accept_kw("AS"))
            t->alias = identifier("a correlation name after AS");
        else if (is_identifier_token(cur()))
            t->alias = identifier("a correlation name");
        return t;
    }

    // ---- expressions
    ExprPtr condition(const char* where) {
        ExprPtr e = or_expr();
        need_bool(e, where);
        return e;
    }
    ExprPtr value_expression(const char* where) {
        ExprPtr e = or_expr();
        need_value(e, where);
        return e;
    }

    // AND and OR are associative, so a chain of one of them is built as a
    // balanced tree (depth log2 n): generated queries with thousands of OR'ed
    // IDs stay far below the depth limit and below SQL engines' own limits.
    ExprPtr or_expr() {
        DepthGuard g(*this);
        return bool_chain(K::Or, "OR", &Parser::and_expr);
    }
    ExprPtr and_expr() { return bool_chain(K::And, "AND", &Parser::not_expr); }

    ExprPtr bool_chain(K kind, const char* kw, ExprPtr (Parser::*operand)()) {
        ExprPtr first = (this->*operand)();
        if (!is_kw(kw)) return first;
        std::vector<ExprPtr> terms{first};
        std::vector<ExprPtr> ops;  // ops[i] joins terms[i] and terms[i + 1]
        while (is_kw(kw)) {
            ops.push_back(make(kind, cur()));
            next();
            terms.push_back((this->*operand)());
            need_bool(terms[terms.size() - 2], (std::string("before ") + kw).c_str());
            need_bool(terms.back(), (std::string("after ") + kw).c_str());
        }
        return balance(terms, ops, 0, terms.size());
    }
    /// terms[lo, hi) joined by ops[lo, hi - 1), split in the middle.
    static ExprPtr balance(std::vector<ExprPtr>& terms, std::vector<ExprPtr>& ops, std::size_t lo, std::size_t hi) {
        if (hi - lo == 1) return std::move(terms[lo]);
        const std::size_t mid = lo + (hi - lo) / 2;  // ops[mid - 1] joins the halves
        ExprPtr e = std::move(ops[mid - 1]);
        ExprPtr l = balance(terms, ops, lo, mid);
        ExprPtr r = balance(terms, ops, mid, hi);
        e->args = {std::move(l), std::move(r)};
        return e;
    }
    ExprPtr not_expr() {
        if (is_kw("NOT")) {
            auto e = make(K::Not, cur());
            next();
            DepthGuard g(*this);
            ExprPtr a = not_expr();
            need_bool(a, "after NOT");
            e->args = {a};
            return e;
        }
        return predicate();
    }

    ExprPtr predicate() {
        if (is_kw("EXISTS")) {
            auto e = make(K::Exists, cur());
            next();
            if (!is_sym("(")) fail("'(' and a subquery after EXISTS");
            e->query = subquery();
            return e;
        }
        ExprPtr v = concat_expr();
        const Token& t = cur();
        if (t.kind == Token::Kind::Symbol && (t.text == "=" || t.text == "<>" || t.text == "!=" || t.text == "<" ||
                                              t.text == ">" || t.text == "<=" || t.text == ">=")) {
            auto e = make(K::Compare, t);
            e->op = t.text == "!=" ? "<>" : t.text;
            next();
            ExprPtr r = concat_expr();
            need_value(v, "before a comparison operator");
            need_value(r, "after a comparison operator");
            e->args = {v, r};
            return e;
        }
        bool negated = false;
        std::size_t save = pos_;
        if (is_kw("NOT")) {
            negated = true;
            next();
        }
        if (is_kw("BETWEEN")) {
            auto e = make(K::Between, cur());
            next();
            ExprPtr lo = concat_expr();
            expect_kw("AND");
            ExprPtr hi = concat_expr();
            need_scalar(v, "before BETWEEN");
            need_scalar(lo, "in BETWEEN");
            need_scalar(hi, "in BETWEEN");
            e->args = {v, lo, hi};
            e->negated = negated;
            return e;
        }
        if (is_kw("IN")) {
            auto e = make(K::In, cur());
            next();
            need_value(v, "before IN");
            e->negated = negated;
            e->args = {v};
            if (!is_sym("(")) fail("'(' after IN");
            if (tok_is_kw(peek(), "SELECT") ||
                (peek().kind == Token::Kind::Symbol && peek().text == "(" && starts_query(1))) {
                e->query = subquery();
            } else {
                next();
                do {
                    e->args.push_back(value_expression("in the IN list"));
                } while (accept(","));
                expect(")");
            }
            return e;
        }
        if (is_kw("LIKE") || is_kw("ILIKE")) {
            auto e = make(K::Like, cur());
            e->op = upper(cur().text);
            next();
            ExprPtr p = concat_expr();
            need_scalar(v, "before LIKE");
            need_scalar(p, "as a LIKE pattern");
            e->args = {v, p};
            e->negated = negated;
            return e;
        }
        if (negated) {
            pos_ = save;
            fail("BETWEEN, IN, LIKE or ILIKE after NOT");
        }
        if (is_kw("IS")) {
            auto e = make(K::IsNull, cur());
            next();
            e->negated = accept_kw("NOT");
            expect_kw("NULL");
            need_value(v, "before IS NULL");
            e->args = {v};
            return e;
        }
        return v;
    }

    bool starts_query(std::size_t k) const {
        while (peek(k).kind == Token::Kind::Symbol && peek(k).text == "(") ++k;
        return tok_is_kw(peek(k), "SELECT");
    }

    QueryPtr subquery() {
        expect("(");
        QueryPtr q = select_expression();
        expect(")");
        return q;
    }

    /// A left-associative chain `operand (op operand)*` of scalar operands
    /// (ADQL 2.1 BNF <numeric_value_expression>, <term>, <string_value_expression>).
    template <class Operand>
    ExprPtr binary_chain(Operand operand, std::initializer_list<const char*> ops, const char* context) {
        ExprPtr l = (this->*operand)();
        auto at_op = [&] {
            for (const char* op : ops)
                if (is_sym(op)) return true;
            return false;
        };
        while (at_op()) {
            auto e = make(K::Binary, cur());
            e->op = cur().text;
            next();
            ExprPtr r = (this->*operand)();
            need_scalar(l, context);
            need_scalar(r, context);
            e->args = {l, r};
            l = e;
        }
        return l;
    }
    ExprPtr concat_expr() { return binary_chain(&Parser::additive, {"||"}, "in a string concatenation"); }
    ExprPtr additive() { return binary_chain(&Parser::term, {"+", "-"}, "in arithmetic"); }
    ExprPtr term() { return binary_chain(&Parser::factor, {"*", "/"}, "in arithmetic"); }
    ExprPtr factor() {
        if (is_sym("-") || is_sym("+")) {
            auto e = make(K::Unary, cur());
            e->op = cur().text;
            next();
            ExprPtr a = primary();
            need_scalar(a, "after a sign");
            e->args = {a};
            return e;
        }
        return primary();
    }

    ExprPtr primary() {
        DepthGuard g(*this);
        const Token& t = cur();
        switch (t.kind) {
            case Token::Kind::Number: {
                auto e = make(K::Number, t);
                e->text = t.text;
                e->is_integer = t.is_integer;
                next();
                return e;
            }
            case Token::Kind::String: {
                auto e = make(K::String, t);
                e->text = t.text;
                next();
                return e;
            }
            case Token::Kind::Symbol:
                if (t.text == "(") {
                    if (starts_query(1)) {
                        auto e = make(K::Subquery, t);
                        e->query = subquery();
                        return e;
                    }
                    auto e = make(K::Paren, t);
                    next();
                    e->args = {or_expr()};
                    expect(")");
                    return e;
                }
                fail("a value expression");
            case Token::Kind::Delim: return column_reference();
            case Token::Kind::Ident: break;
            case Token::Kind::End: fail("a value expression");
        }
        std::string name = upper(t.text);
        bool call = peek().kind == Token::Kind::Symbol && peek().text == "(";
        if (name == "NULL") {
            auto e = make(K::Null, t);
            next();
            return e;
        }
        if (name == "CASE") return case_expression();
        if (!call) {
            if (is_reserved_word(name)) {
                if (find_function(name))
                    syntax_error(t.line, t.column,
                                 "expected a value expression, found the reserved word '" + t.raw + "' (the function " +
                                     name + " needs '('; write it in double quotes to use it as a name)");
                syntax_error(t.line, t.column,
                             "expected a value expression, found the reserved word '" + t.raw +
                                 "' (write it in double quotes to use it as a name)");
            }
            return column_reference();
        }
        return function_call();
    }

    ExprPtr column_reference() {
        auto e = make(K::Column, cur());
        e->path.push_back(identifier("a column name"));
        while (is_sym(".")) {
            next();
            e->path.push_back(identifier("a column name after '.'"));
        }
        if (e->path.size() > 4) fail_at(*e, "a column reference has at most four parts (catalog.schema.table.column)");
        return e;
    }

    ExprPtr case_expression() {
        auto e = make(K::Case, cur());
        next();
        if (!is_kw("WHEN")) {
            e->case_has_operand = true;
            e->args.push_back(value_expression("after CASE"));
        }
        if (!is_kw("WHEN")) fail("WHEN");
        while (accept_kw("WHEN")) {
            if (e->case_has_operand)
                e->args.push_back(value_expression("after WHEN"));
            else
                e->args.push_back(condition("after WHEN"));
            expect_kw("THEN");
            e->args.push_back(value_expression("after THEN"));
        }
        if (accept_kw("ELSE")) {
            e->case_has_else = true;
            e->args.push_back(value_expression("after ELSE"));
        }
        expect_kw("END");
        return e;
    }

    std::vector<ExprPtr> argument_list(const std::string& fname) {
        std::vector<ExprPtr> args;
        expect("(");
        if (accept(")")) return args;
        do {
            args.push_back(value_expression(("in the arguments of " + fname).c_str()));
        } while (accept(","));
        expect(")");
        return args;
    }

    static bool is_coord_value(const Expr& e) {
        if (e.kind == K::Column) return true;
        if (e.kind == K::Function && (e.text == "POINT" || e.text == "CENTROID" || e.is_udf)) return true;
        if (e.kind == K::Paren) return is_coord_value(*e.args[0]);
        return false;
    }
    static bool is_geometry_expression(const Expr& e) {  // <geometry_value_expression>
        switch (e.kind) {
            case K::Binary:
            case K::Unary: return false;
            case K::Function: return e.is_udf || category(e) == Cat::Geom;
            default: return category(e) != Cat::Bool;
        }
    }

    ExprPtr function_call() {
        const Token& t = cur();
        std::string name = upper(t.text);
        auto e = make(K::Function, t);
        e->text = name;
        next();  // name; cur is '('
        const std::string shown = t.raw;
        auto arity_error = [&](const std::string& what) {
            syntax_error(t.line, t.column, "wrong number of arguments for " + shown + ": " + what);
        };

        if (name == "COUNT" || name == "AVG" || name == "MAX" || name == "MIN" || name == "SUM") {
            e->kind = K::Aggregate;
            next();
            if (name == "COUNT" && accept("*")) {
                expect(")");
                return e;
            }
            if (accept_kw("DISTINCT"))
                e->distinct = true;
            else
                accept_kw("ALL");
            e->args.push_back(value_expression(("in " + shown).c_str()));
            expect(")");
            return e;
        }
        if (name == "CAST") {
            e->kind = K::Cast;
            next();
            e->args.push_back(value_expression("in CAST"));
            expect_kw("AS");
            const Token& ty = cur();
            std::string tn = ty.kind == Token::Kind::Ident ? upper(ty.text) : "";
            static const std::set<std::string> types = {"SMALLINT", "INTEGER",   "BIGINT", "REAL",   "DOUBLE", "CHAR",
                                                        "VARCHAR",  "TIMESTAMP", "POINT",  "CIRCLE", "POLYGON"};
            if (!types.count(tn))
                fail(
                    "a CAST target type (SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR(n), VARCHAR(n), "
                    "TIMESTAMP, POINT, CIRCLE, POLYGON)");
            next();
            if (tn == "DOUBLE") {
                expect_kw("PRECISION");
                tn = "DOUBLE PRECISION";
            }
            if ((tn == "CHAR" || tn == "VARCHAR") && accept("(")) {
                e->cast_length = unsigned_integer("a length");
                expect(")");
            }
            e->cast_type = tn;
            expect(")");
            if (e->cast_type == "POINT" || e->cast_type == "CIRCLE" || e->cast_type == "POLYGON") {
                // ok: any value (geometry or string) may be cast to a geometry
            } else if (category(*e->args[0]) == Cat::Geom) {
                fail_at(*e->args[0], "a geometry cannot be cast to " + e->cast_type);
            }
            return e;
        }
        if (name == "COALESCE") {
            e->args = argument_list(shown);
            if (e->args.empty()) arity_error("COALESCE needs at least one argument");
            return e;
        }
        if (name == "IN_UNIT") {
            next();
            e->args.push_back(value_expression("in IN_UNIT"));
            need_scalar(e->args[0], "in IN_UNIT");
            expect(",");
            if (cur().kind != Token::Kind::String) fail("a unit string literal");
            auto u = make(K::String, cur());
            u->text = cur().text;
            next();
            e->args.push_back(u);
            expect(")");
            return e;
        }
        if (name == "RAND") {
            next();
            if (!is_sym(")")) {
                auto seed = make(K::Number, cur());
                std::int64_t v = unsigned_integer("an unsigned integer seed or ')'");
                seed->text = std::to_string(v);
                seed->is_integer = true;
                e->args.push_back(seed);
            }
            expect(")");
            return e;
        }
        if (name == "ROUND" || name == "TRUNCATE") {
            next();
            e->args.push_back(value_expression(("in " + shown).c_str()));
            need_scalar(e->args[0], ("in " + shown).c_str());
            if (accept(",")) {
                auto d = make(K::Number, cur());
                bool neg = false;
                if (accept("-"))
                    neg = true;
                else
                    accept("+");
                std::int64_t v = unsigned_integer("a signed integer number of decimal places");
                d->text = std::to_string(neg ? -v : v);
                d->is_integer = true;
                e->args.push_back(d);
            }
            expect(")");
            return e;
        }
        if (const std::optional<Arity> a = find_numeric_function(name)) {
            e->args = argument_list(shown);
            int n = static_cast<int>(e->args.size());
            if (n < a->min || n > a->max)
                arity_error("expected " + std::to_string(a->min) +
                            (a->max != a->min ? " or " + std::to_string(a->max) : std::string()) + ", found " +
                            std::to_string(n));
            for (auto& x : e->args) need_scalar(x, ("as an argument of " + shown).c_str());
            return e;
        }
        if (is_geometry_function(name)) return geometry_function(e, shown);
        if (is_reserved_word(name))
            syntax_error(t.line, t.column, "'" + shown + "' is a reserved word, not a function");

        // user-defined function (ADQL 2.1 section 4.3)
        e->is_udf = true;
        e->text = t.text;
        for (auto& c : e->text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        e->args = argument_list(shown);
        const UdfDecl* decl = nullptr;
        for (auto& d : opt_.udfs)
            if (d.name == e->text) decl = &d;
        if (!decl) {
            bool lenient = opt_.lenient_ivo_udfs && e->text.rfind("ivo_", 0) == 0;
            if (!lenient) {
                std::string known;
                for (auto& d : opt_.udfs) known += (known.empty() ? "" : ", ") + d.name;
                syntax_error(t.line, t.column,
                             "unknown function '" + shown + "'" +
                                 (known.empty() ? std::string(" (no user-defined functions are declared)")
                                                : " (declared user-defined functions: " + known + ")"));
            }
        } else if (decl->arg_types.size() != e->args.size()) {
            arity_error("the declaration " + decl->form + " takes " + std::to_string(decl->arg_types.size()) +
                        ", found " + std::to_string(e->args.size()));
        }
        return e;
    }

    ExprPtr geometry_function(ExprPtr e, const std::string& shown) {
        const std::string& name = e->text;
        auto args = argument_list(shown);
        auto bad = [&](const std::string& msg) { syntax_error(e->line, e->column, shown + ": " + msg); };
        auto take_coordsys = [&]() {
            if (!args.empty() && (args[0]->kind == K::String || args[0]->kind == K::Null)) {
                if (args[0]->kind == K::String)
                    e->coordsys = args[0]->text;
                else
                    e->coordsys_null = true;
                args.erase(args.begin());
            }
        };
        auto numeric = [&](const ExprPtr& x) { need_scalar(x, ("as a coordinate of " + shown).c_str()); };
        auto coord_value = [&](const ExprPtr& x) {
            if (!is_coord_value(*x))
                fail_at(*x, "expected a point (POINT, CENTROID, a column or a function) as an argument of " + shown);
        };
        auto geometry = [&](const ExprPtr& x) {
            if (!is_geometry_expression(*x)) fail_at(*x, "expected a geometry value as an argument of " + shown);
        };
        if (name == "POINT") {
            take_coordsys();
            if (args.size() != 2) bad("expected [coordsys,] ra, dec");
            for (auto& a : args) numeric(a);
        } else if (name == "CIRCLE") {
            take_coordsys();
            if (args.size() == 3) {
                numeric(args[0]);
                numeric(args[1]);
                numeric(args[2]);
            } else if (args.size() == 2) {
                coord_value(args[0]);
                numeric(args[1]);
            } else {
                bad("expected [coordsys,] ra, dec, radius or [coordsys,] point, radius");
            }
        } else if (name == "BOX") {
            take_coordsys();
            if (args.size() == 4) {
                for (auto& a : args) numeric(a);
            } else if (args.size() == 3) {
                coord_value(args[0]);
                numeric(args[1]);
                numeric(args[2]);
            } else {
                bad("expected [coordsys,] ra, dec, width, height or [coordsys,] point, width, height");
            }
        } else if (name == "POLYGON") {
            take_coordsys();
            bool all_points = !args.empty() && std::all_of(args.begin(), args.end(),
                                                           [](const ExprPtr& a) { return is_coord_value(*a); });
            if (all_points && args.size() >= 3) {
                // vertices given as points
            } else if (args.size() >= 6 && args.size() % 2 == 0) {
                for (auto& a : args) numeric(a);
            } else {
                bad("expected [coordsys,] and at least three vertices, as coordinate pairs or points (found " +
                    std::to_string(args.size()) + " values)");
            }
        } else if (name == "REGION") {
            if (args.size() != 1 || args[0]->kind != K::String) bad("expected one string literal");
        } else if (name == "CENTROID" || name == "AREA" || name == "COORDSYS") {
            if (args.size() != 1) bad("expected one geometry");
            geometry(args[0]);
        } else if (name == "COORD1" || name == "COORD2") {
            if (args.size() != 1) bad("expected one point");
            coord_value(args[0]);
        } else if (name == "CONTAINS" || name == "INTERSECTS") {
            if (args.size() != 2) bad("expected two geometries");
            geometry(args[0]);
            geometry(args[1]);
        } else if (name == "DISTANCE") {
            if (args.size() == 2) {
                coord_value(args[0]);
                coord_value(args[1]);
            } else if (args.size() == 4) {
                for (auto& a : args) numeric(a);
            } else {
                bad("expected two points or four coordinates (ra1, dec1, ra2, dec2)");
            }
        }
        e->args = std::move(args);
        return e;
    }
};

}  // namespace

void check_depth(const ast::Statement& query, int max_depth) { check_depth_impl(query, max_depth); }

bool is_reserved_word(std::string_view word) { return reserved_words().count(upper(word)) > 0; }

ast::Statement parse(std::string_view adql, const ParseOptions& options) {
    Parser p(adql, options);
    return p.statement();
}

}  // namespace vo::adql
