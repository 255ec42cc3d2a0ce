// UWS 1.1 job model and XML representations (uws/job.hpp).
#include "uws/job.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>

namespace vo::uws {

namespace {

constexpr std::array<const char*, 10> kPhaseNames = {"PENDING", "QUEUED",  "EXECUTING", "COMPLETED", "ERROR",
                                                     "ABORTED", "UNKNOWN", "HELD",      "SUSPENDED", "ARCHIVED"};

constexpr const char* kNamespaces =
    " xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string time_element(const char* name, const std::optional<Time>& t) {
    if (!t) return std::string("  <uws:") + name + " xsi:nil=\"true\"/>\n";
    return std::string("  <uws:") + name + ">" + iso8601(*t) + "</uws:" + name + ">\n";
}

/// Reads `n` digits at s[i..] into v; false when they are not all digits.
bool digits(std::string_view s, std::size_t i, std::size_t n, int& v) {
    if (i + n > s.size()) return false;
    v = 0;
    for (std::size_t k = i; k < i + n; ++k) {
        if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
        v = v * 10 + (s[k] - '0');
    }
    return true;
}

}  // namespace

const char* to_string(Phase p) { return kPhaseNames[static_cast<std::size_t>(p)]; }

std::optional<Phase> parse_phase(std::string_view s) {
    for (std::size_t i = 0; i < kPhaseNames.size(); ++i)
        if (s == kPhaseNames[i]) return static_cast<Phase>(i);
    return std::nullopt;
}

bool is_active(Phase p) { return p == Phase::PENDING || p == Phase::QUEUED || p == Phase::EXECUTING; }

Time now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso8601(Time t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<Time> parse_iso8601(std::string_view s) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d))
        return std::nullopt;
    std::size_t i = 10;
    if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
        if (!digits(s, i + 1, 2, h) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, mi))
            return std::nullopt;
        i += 6;
        if (i < s.size() && s[i] == ':') {
            if (!digits(s, i + 1, 2, se)) return std::nullopt;
            i += 3;
            if (i < s.size() && s[i] == '.') {
                ++i;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
        }
    }
    const std::string_view rest = s.substr(i);
    if (!(rest.empty() || rest == "Z" || rest == "+00:00" || rest == "+0000")) return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    const std::time_t t = timegm(&tm);
    std::tm back{};
    gmtime_r(&t, &back);
    if (back.tm_mday != d) return std::nullopt;  // e.g. 31 April
    return static_cast<Time>(t);
}

std::optional<std::string> Job::parameter(std::string_view name) const {
    for (const auto& [k, v] : parameters)
        if (iequal(k, name)) return v;
    return std::nullopt;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                // XML 1.0 allows no control characters but tab, LF and CR
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
                    out += ' ';
                else
                    out += c;
        }
    }
    return out;
}

std::string parameters_document(const Job& job) {
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:parameters" + std::string(kNamespaces) + ">\n";
    for (const auto& [k, v] : job.parameters)
        x += "  <uws:parameter id=\"" + xml_escape(k) + "\">" + xml_escape(v) + "</uws:parameter>\n";
    return x + "</uws:parameters>\n";
}

namespace {
std::string results_body(const Job& job, const std::string& job_url, const char* indent) {
    std::string x;
    for (const auto& r : job.results)
        x += std::string(indent) + "<uws:result id=\"" + xml_escape(r.id) + "\" xlink:type=\"simple\" xlink:href=\"" +
             xml_escape(job_url + "/results/" + r.id) + "\" size=\"" + std::to_string(r.size) + "\" mime-type=\"" +
             xml_escape(r.mime_type) + "\"/>\n";
    return x;
}
}  // namespace

std::string results_document(const Job& job, const std::string& job_url) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:results" + std::string(kNamespaces) + ">\n" +
           results_body(job, job_url, "  ") + "</uws:results>\n";
}

std::string job_document(const Job& job, const std::string& job_url) {
    std::string x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:job" + std::string(kNamespaces) + " version=\"1.1\">\n";
    x += "  <uws:jobId>" + xml_escape(job.id) + "</uws:jobId>\n";
    if (!job.run_id.empty()) x += "  <uws:runId>" + xml_escape(job.run_id) + "</uws:runId>\n";
    x += job.owner.empty() ? "  <uws:ownerId xsi:nil=\"true\"/>\n"
                           : "  <uws:ownerId>" + xml_escape(job.owner) + "</uws:ownerId>\n";
    x += std::string("  <uws:phase>") + to_string(job.phase) + "</uws:phase>\n";
    x += time_element("quote", job.quote);
    x += "  <uws:creationTime>" + iso8601(job.creation_time) + "</uws:creationTime>\n";
    x += time_element("startTime", job.start_time);
    x += time_element("endTime", job.end_time);
    x += "  <uws:executionDuration>" + std::to_string(job.execution_duration) + "</uws:executionDuration>\n";
    x += time_element("destruction", job.destruction);
    x += "  <uws:parameters>\n";
    for (const auto& [k, v] : job.parameters)
        x += "    <uws:parameter id=\"" + xml_escape(k) + "\">" + xml_escape(v) + "</uws:parameter>\n";
    x += "  </uws:parameters>\n";
    x += "  <uws:results>\n" + results_body(job, job_url, "    ") + "  </uws:results>\n";
    if (job.phase == Phase::ERROR)
        x += std::string("  <uws:errorSummary type=\"") + (job.error_fatal ? "fatal" : "transient") +
             "\" hasDetail=\"true\">\n    <uws:message>" + xml_escape(job.error_message) +
             "</uws:message>\n  </uws:errorSummary>\n";
    return x + "</uws:job>\n";
}

std::string jobs_document(const std::vector<Job>& jobs, const std::string& jobs_url) {
    std::string x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:jobs" + std::string(kNamespaces) + " version=\"1.1\">\n";
    for (const auto& j : jobs) {
        x += "  <uws:jobref id=\"" + xml_escape(j.id) + "\" xlink:type=\"simple\" xlink:href=\"" +
             xml_escape(jobs_url + "/" + j.id) + "\">\n";
        x += std::string("    <uws:phase>") + to_string(j.phase) + "</uws:phase>\n";
        if (!j.run_id.empty()) x += "    <uws:runId>" + xml_escape(j.run_id) + "</uws:runId>\n";
        x += j.owner.empty() ? "    <uws:ownerId xsi:nil=\"true\"/>\n"
                             : "    <uws:ownerId>" + xml_escape(j.owner) + "</uws:ownerId>\n";
        x += "    <uws:creationTime>" + iso8601(j.creation_time) + "</uws:creationTime>\n";
        x += "  </uws:jobref>\n";
    }
    return x + "</uws:jobs>\n";
}

}  // namespace vo::uws
