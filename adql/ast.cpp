// Iterative destruction of the ADQL syntax tree (adql/ast.hpp, issue 7 item 1).
//
// Every node's destructor moves its children into a thread-local work list
// instead of letting them be destroyed recursively; the outermost release()
// call drains the list. A left-deep chain of 200,000 operators (which the
// parser builds before the depth check can refuse it) is thus freed with
// constant stack.
#include "adql/ast.hpp"

#include <utility>
#include <vector>

namespace vo::adql::ast {
namespace {

thread_local std::vector<std::shared_ptr<void>>* pending = nullptr;

template <class T>
void defer(std::shared_ptr<T>& p) {
    if (p) release(std::move(p));
}

}  // namespace

void release(std::shared_ptr<void> node) noexcept {
    if (!node) return;
    if (pending) {  // inside a release loop: queue it
        pending->push_back(std::move(node));
        return;
    }
    std::vector<std::shared_ptr<void>> work;
    pending = &work;
    work.push_back(std::move(node));
    while (!work.empty()) {
        std::shared_ptr<void> n = std::move(work.back());
        work.pop_back();
        n.reset();  // its destructor queues its children in `work`
    }
    pending = nullptr;
}

Expr::~Expr() {
    for (auto& a : args) defer(a);
    defer(query);
}

TableRef::~TableRef() {
    defer(subquery);
    defer(left);
    defer(right);
    defer(on);
}

SelectCore::~SelectCore() {
    for (auto& it : items) defer(it.expr);
    for (auto& f : from) defer(f);
    defer(where);
    for (auto& g : group_by) defer(g);
    defer(having);
}

QueryExpr::~QueryExpr() {
    defer(select);
    defer(left);
    defer(right);
    for (auto& o : order_by) defer(o.expr);
}

}  // namespace vo::adql::ast
