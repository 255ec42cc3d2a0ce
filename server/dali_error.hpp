// The DALI error response every endpoint sends for a failure a client can see.
#pragma once

#include <string>

#include "server/http.hpp"

namespace vo::server {

/// A whole response carrying the DALI 1.1 section 4.4 error document (a
/// VOTable 1.4 with INFO QUERY_STATUS=ERROR whose text is `message`) with
/// HTTP `status` and Content-Type application/x-votable+xml.
Reply dali_error_reply(unsigned status, const std::string& message);

}  // namespace vo::server
