#include "server/auth_api.hpp"
#include "server/dali_error.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "server/access.hpp"
#include "server/params.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

Reply json_reply(const boost::json::value& v) {
    Reply r;
    r.content_type = "application/json";
    r.body = boost::json::serialize(v) + "\n";
    return r;
}

Reply error(unsigned status, const std::string& message) { return dali_error_reply(status, message); }

Reply no_content() {
    Reply r;
    r.status = 204;
    return r;
}

/// The path below /auth split at '/', each segment percent-decoded.
std::vector<std::string> segments(const std::string& path) {
    std::vector<std::string> out;
    std::size_t at = 5;  // after "/auth"
    while (at < path.size()) {
        if (path[at] == '/') {
            ++at;
            continue;
        }
        const auto end = std::min(path.find('/', at), path.size());
        out.push_back(percent_decode_path(std::string_view(path).substr(at, end - at)));
        at = end;
    }
    return out;
}

}  // namespace

void auth_api(const Request& req, const Caller& caller, Authenticator& authenticator, ResponseChannel& channel) {
    const auto parts = segments(req.path);
    const std::string& m = req.method;
    if (parts.size() == 1 && parts[0] == "whoami") {
        if (m != "GET") return channel.reply(error(405, "UsageError: /auth/whoami takes GET"));
        boost::json::object o;
        o["user"] = caller.authenticated() ? boost::json::value(caller.user) : boost::json::value(nullptr);
        o["staff"] = caller.staff;
        o["method"] = caller.method;
        boost::json::array projects;
        for (const auto& p : caller.projects) projects.emplace_back(p);
        o["projects"] = std::move(projects);
        return channel.reply(json_reply(o));
    }
    if (parts.size() < 3 || parts.size() > 4 || parts[0] != "projects" || parts[2] != "delegates")
        return channel.reply(
            error(404, "NotFound: no resource " + req.path +
                           " (the account API: /auth/whoami, /auth/projects/{id}/delegates[/{user}])"));
    if (!caller.authenticated())
        return channel.reply(unauthorized_reply("AuthenticationError: managing delegates needs the PI's credentials",
                                                authenticator.challenges()));
    const std::string& project = parts[1];
    UserStore& users = authenticator.users();
    const auto dir = users.directory(0);
    const auto p = dir->projects.find(project);
    if (p == dir->projects.end()) return channel.reply(error(404, "NotFound: no project " + project));
    if (!caller.staff && p->second.pi != caller.user)
        return channel.reply(forbidden_reply(
            "AuthorizationError: only the PI of project " + project + " (or archive staff) manages its delegates" +
            (p->second.delegates.count(caller.user) ? "; a delegate cannot delegate further" : "")));
    try {
        if (parts.size() == 3) {
            if (m == "GET") {
                boost::json::object o;
                o["project"] = project;
                o["pi"] = p->second.pi;
                boost::json::array d;
                for (const auto& u : p->second.delegates) d.emplace_back(u);
                o["delegates"] = std::move(d);
                return channel.reply(json_reply(o));
            }
            if (m == "POST") {
                const DaliParams params = parse_request_params(m, req.target, req.content_type, req.body);
                const auto user = params.single("USER");
                if (!user || user->empty())
                    return channel.reply(error(400, "UsageError: USER: the user to delegate to is missing"));
                users.delegate(project, *user, caller.user);
                spdlog::info("project {}: {} delegated access to {}", project, caller.user, *user);
                return channel.reply(no_content());
            }
            Reply r = error(405, "UsageError: method " + m + " not allowed here (GET, POST)");
            r.headers.emplace_back("Allow", "GET, POST");
            return channel.reply(std::move(r));
        }
        const std::string& user = parts[3];
        if (m == "PUT") {
            users.delegate(project, user, caller.user);
            spdlog::info("project {}: {} delegated access to {}", project, caller.user, user);
            return channel.reply(no_content());
        }
        if (m == "DELETE") {
            if (!users.undelegate(project, user, caller.user))
                return channel.reply(error(404, "NotFound: " + user + " is no delegate of project " + project));
            spdlog::info("project {}: {} withdrew the access of {}", project, caller.user, user);
            return channel.reply(no_content());
        }
        Reply r = error(405, "UsageError: method " + m + " not allowed here (PUT, DELETE)");
        r.headers.emplace_back("Allow", "PUT, DELETE");
        return channel.reply(std::move(r));
    } catch (const ParamError& e) {
        return channel.reply(error(400, std::string("UsageError: ") + e.what()));
    } catch (const UsersError& e) {
        return channel.reply(error(400, std::string("UsageError: ") + e.what()));
    }
}

}  // namespace vo::server
