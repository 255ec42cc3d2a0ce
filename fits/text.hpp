// Small ASCII text helpers shared by fits/ and the folders above it
// (obscore/, soda/, server/): header keywords and values are ASCII (FITS 4.0
// section 4.1), so the C locale classification is the right one.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace vo::fits {

/// `s` without leading and trailing white space.
inline std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

/// `s` in ASCII lower case.
inline std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// `s` in ASCII upper case.
inline std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace vo::fits
