#include "adql/adql.hpp"
namespace vo::adql {
Translation translate_sqlite(std::string_view, const Catalog&, const TranslateOptions&) {
    throw AdqlError(AdqlError::Kind::Unsupported, "not yet");
}
}
