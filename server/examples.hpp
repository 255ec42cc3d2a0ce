// The TAP service's DALI-examples document (DALI 1.1 section 2.3; TAP 1.1
// section 2.6): well-formed XHTML with RDFa Lite markup, one element per
// example with its name, its query (property "query") and the tables it uses
// (property "table"). Every example runs on the demo archive (the `samples`
// collection of real FITS products); a test runs each one.
#pragma once

#include <string>
#include <vector>

namespace vo::server {

/// One example: `id` is its fragment identifier, `tables` the fully
/// qualified tables it reads.
struct TapExample {
    std::string id;
    std::string name;
    std::string description;  ///< XHTML-escaped prose
    std::string query;
    std::vector<std::string> tables;
};

/// The examples, in the order the document shows them.
const std::vector<TapExample>& tap_examples();

/// The /tap/examples document for a service whose TAP base URL is `tap_url`
/// (application/xhtml+xml).
std::string examples_document(const std::string& tap_url, const std::string& title);

}  // namespace vo::server
