// The account API under /auth (issue 12 item 2): who the caller is, and
// delegation of a project's data by its PI, as the ALMA Science Archive
// Manual describes it (a PI grants registered users access to a whole
// project; a delegate cannot delegate further). JSON answers; failures are
// DALI error documents (401 anonymous, 403 not the PI, 404 unknown project).
//
//   GET    /auth/whoami                            {"user", "staff", "projects"}
//   GET    /auth/projects/{id}/delegates           {"project", "pi", "delegates"}   (PI, staff)
//   PUT    /auth/projects/{id}/delegates/{user}    204: {user} is a delegate        (PI, staff)
//   POST   /auth/projects/{id}/delegates  USER=... the same, from a form
//   DELETE /auth/projects/{id}/delegates/{user}    204; 404 if no such delegate      (PI, staff)
#pragma once

#include "server/auth.hpp"
#include "server/http.hpp"

namespace vo::server {

/// Answers one request whose path is /auth or below it, on the calling
/// thread (the users store is small and local: a few milliseconds at most).
void auth_api(const Request& request, const Caller& caller, Authenticator& authenticator, ResponseChannel& channel);

}  // namespace vo::server
