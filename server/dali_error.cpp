#include "server/dali_error.hpp"

#include "votable/writer.hpp"

namespace vo::server {

Reply dali_error_reply(unsigned status, const std::string& message) {
    Reply r;
    r.status = status;
    r.content_type = "application/x-votable+xml";
    r.body = votable::error_document(message);
    return r;
}

}  // namespace vo::server
