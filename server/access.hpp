// Authorization at every door that serves a product's bytes (issue 12 item
// 3): the file download, previews, SODA sync and async cutouts, and the
// results of jobs that contain them. Until its release date
// (obs_release_date, ObsCore 1.1 section 4.26, against the archive's clock
// obscore/clock.hpp) a product's bytes go only to its project's PI, the
// PI's delegates and archive staff; after it, to everyone.
//
// Refusals are DALI error documents (DALI 1.1 section 4.4) with the
// SODA 1.0 section 5.2 error names: 401 "AuthenticationError" with the
// server's WWW-Authenticate challenges for an anonymous caller (RFC 9110
// section 15.5.2), 403 "AuthorizationError" for an authenticated one. Every
// access to protected bytes and every refusal is written to the audit log.
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "obscore/access.hpp"
#include "obscore/backend.hpp"
#include "obscore/record.hpp"
#include "server/auth.hpp"
#include "server/http.hpp"

namespace vo::server {

/// A 401 DALI error carrying one WWW-Authenticate field per challenge.
Reply unauthorized_reply(const std::string& message, const std::vector<std::string>& challenges);

/// A 403 DALI error.
Reply forbidden_reply(const std::string& message);

/// What a caller may do with a product's bytes.
struct ProductRights {
    bool released = true;    ///< public at `now` (everyone may read it)
    bool authorized = true;  ///< this caller may read it now
};

/// The rights of `caller` to the bytes of `product` at `now` (seconds since
/// the epoch): released products to everyone; before release, to archive
/// staff and to the PI and delegates of its proposal_id (Caller::projects).
ProductRights product_rights(const Caller& caller, const obscore::ProductFile& product, std::time_t now);

/// The rows of ivoa.obscore `caller` may see, for collections whose
/// metadata are protected (`protected_collections`: their names).
obscore::RowVisibility row_visibility(const Caller& caller, const std::vector<std::string>& protected_collections);

/// The authorization a byte-serving door makes once it has found the
/// product (ProductGuard::admit bound to the caller and the action): true
/// = serve it; false = a 401/403 was sent on the channel.
using AdmitProduct =
    std::function<bool(const std::string& did, const obscore::ProductFile& product, ResponseChannel& channel)>;

/// The caller's rights to a product's bytes (product_rights bound to the
/// caller and the clock), for link_auth / link_authorized.
using RightsOf = std::function<ProductRights(const obscore::ProductFile& product)>;

/// A product look-up that sees only the rows of ivoa.obscore a caller may
/// see (issue 12 item 3: a protected row is unknown, exactly as if it did not
/// exist): every look-up of `inner` with `visibility`. Used by the DataLink,
/// download, preview and SODA doors, so an invisible product's size, bounds
/// or bytes never reach the caller.
class VisibleProducts final : public obscore::ProductLookup {
public:
    VisibleProducts(const obscore::ProductLookup& inner, obscore::RowVisibility visibility)
        : inner_(inner), visibility_(std::move(visibility)) {}
    using obscore::ProductLookup::find_dataproduct_type;
    using obscore::ProductLookup::find_did_by_obs_id;
    using obscore::ProductLookup::find_product;
    std::optional<obscore::ProductFile> find_product(const std::string& did,
                                                     const obscore::RowVisibility&) const override {
        return inner_.find_product(did, visibility_);
    }
    std::optional<std::string> find_dataproduct_type(const std::string& did,
                                                     const obscore::RowVisibility&) const override {
        return inner_.find_dataproduct_type(did, visibility_);
    }
    std::optional<std::string> find_did_by_obs_id(const std::string& obs_id,
                                                  const obscore::RowVisibility&) const override {
        return inner_.find_did_by_obs_id(obs_id, visibility_);
    }

private:
    const obscore::ProductLookup& inner_;
    obscore::RowVisibility visibility_;
};

/// The guard of the byte-serving doors: decides, answers refusals, audits.
/// Thread-safe.
class ProductGuard {
public:
    ProductGuard(const Authenticator* authenticator, AuditLog* audit) : authenticator_(authenticator), audit_(audit) {}

    /// True when `caller` (from `client`) may have the bytes of `product`
    /// (`did`) for `action` ("download", "preview", "cutout", ...); an
    /// access to protected bytes is audited. False after replying 401 or
    /// 403 on `channel` (audited too).
    bool admit(const Caller& caller, const std::string& client, const std::string& action, const std::string& did,
               const obscore::ProductFile& product, ResponseChannel& channel) const;

    /// The same decision without a channel: "" when admitted, else the
    /// refusal's message (for async jobs, which record it as their error).
    /// `status` is set to 401 or 403 on refusal.
    std::string check(const Caller& caller, const std::string& client, const std::string& action,
                      const std::string& did, const obscore::ProductFile& product, unsigned& status) const;

    /// The server's WWW-Authenticate challenges.
    std::vector<std::string> challenges() const;

private:
    const Authenticator* authenticator_;
    AuditLog* audit_;
};

}  // namespace vo::server
