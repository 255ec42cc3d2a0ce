#include "server/access.hpp"
#include "server/dali_error.hpp"

#include <algorithm>

#include "obscore/clock.hpp"
#include "server/params.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {
Reply error_reply(unsigned status, const std::string& message) { return dali_error_reply(status, message); }
}  // namespace

Reply unauthorized_reply(const std::string& message, const std::vector<std::string>& challenges) {
    Reply r = error_reply(401, message);
    for (const auto& c : challenges) r.headers.emplace_back("WWW-Authenticate", c);
    return r;
}

Reply forbidden_reply(const std::string& message) { return error_reply(403, message); }

ProductRights product_rights(const Caller& caller, const obscore::ProductFile& product, std::time_t now) {
    ProductRights r;
    r.released = obscore::is_released(product.obs_release_date, now);
    if (r.released) return r;
    r.authorized =
        caller.staff || (product.proposal_id &&
                         std::binary_search(caller.projects.begin(), caller.projects.end(), *product.proposal_id));
    return r;
}

obscore::RowVisibility row_visibility(const Caller& caller, const std::vector<std::string>& protected_collections) {
    obscore::RowVisibility v;
    v.protected_collections = protected_collections;
    v.projects = caller.projects;
    v.staff = caller.staff;
    return v;
}

std::string ProductGuard::check(const Caller& caller, const std::string& client, const std::string& action,
                                const std::string& did, const obscore::ProductFile& product, unsigned& status) const {
    const ProductRights rights = product_rights(caller, product, obscore::archive_now());
    if (rights.released) return "";
    const std::string until = product.obs_release_date.value_or("");
    if (rights.authorized) {
        if (audit_) audit_->record(client, caller.user, action, did, "granted");
        return "";
    }
    std::string message;
    if (!caller.authenticated()) {
        status = 401;
        message = "AuthenticationError: dataset " + did + " is proprietary until " + until +
                  "; authenticate as the PI of its project, a delegate or archive staff (HTTP Basic" +
                  (authenticator_ && authenticator_->tokens_enabled() ? " or a bearer token)" : ")");
    } else {
        status = 403;
        message = "AuthorizationError: user " + caller.user + " may not read dataset " + did +
                  " before its release on " + until + " (project " + product.proposal_id.value_or("unknown") +
                  "; its PI may delegate access)";
    }
    if (audit_) audit_->record(client, caller.user, action, did, "refused-" + std::to_string(status));
    return message;
}

bool ProductGuard::admit(const Caller& caller, const std::string& client, const std::string& action,
                         const std::string& did, const obscore::ProductFile& product, ResponseChannel& channel) const {
    unsigned status = 0;
    const std::string refusal = check(caller, client, action, did, product, status);
    if (refusal.empty()) return true;
    channel.reply(status == 401 ? unauthorized_reply(refusal, challenges()) : forbidden_reply(refusal));
    return false;
}

std::vector<std::string> ProductGuard::challenges() const {
    return authenticator_ ? authenticator_->challenges() : std::vector<std::string>{};
}

}  // namespace vo::server
