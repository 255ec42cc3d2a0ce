// DALI-examples of the TAP service (server/examples.hpp).
#include "server/examples.hpp"

#include "votable/writer.hpp"

namespace vo::server {

const std::vector<TapExample>& tap_examples() {
    static const std::vector<TapExample> examples = {
        {"cone",
         "Cone search",
         "Every product whose pointing (s_ra, s_dec) lies within 3 arcmin of the Hubble Ultra Deep Field; the "
         "spatial index answers it without a scan.",
         "SELECT obs_id, dataproduct_type, s_ra, s_dec, s_fov\n"
         "FROM ivoa.obscore\n"
         "WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 53.1752, -27.8079, 0.05)) = 1",
         {"ivoa.obscore"}},
        {"footprint",
         "Footprints that touch a region",
         "Products whose footprint (s_region) intersects a 6 arcmin circle at the Galactic centre, computed on the "
         "sphere.",
         "SELECT obs_id, obs_collection, s_region\n"
         "FROM ivoa.obscore\n"
         "WHERE INTERSECTS(s_region, CIRCLE('ICRS', 266.40, -28.94, 0.1)) = 1",
         {"ivoa.obscore"}},
        {"nearest",
         "The nearest products to a position",
         "The five products closest to a position, with their distance in degrees.",
         "SELECT TOP 5 obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 150.0, 2.0)) AS dist\n"
         "FROM ivoa.obscore\n"
         "WHERE s_ra IS NOT NULL\n"
         "ORDER BY dist",
         {"ivoa.obscore"}},
        {"co10",
         "Cubes covering an observed CO(1-0) line",
         "ObsCore gives spectral coverage as vacuum wavelengths in metres: CO(1-0) redshifted to about 114.4 GHz "
         "is 2.62 mm.",
         "SELECT obs_id, em_min, em_max, em_res_power\n"
         "FROM ivoa.obscore\n"
         "WHERE dataproduct_type = 'cube' AND 2.62e-3 BETWEEN em_min AND em_max",
         {"ivoa.obscore"}},
        {"hi21cm",
         "Neutral hydrogen: the 21 cm line",
         "Products whose spectral range holds the 21.1 cm HI line, with the range in centimetres (IN_UNIT).",
         "SELECT obs_id, IN_UNIT(em_min, 'cm') AS em_min_cm, IN_UNIT(em_max, 'cm') AS em_max_cm\n"
         "FROM ivoa.obscore\n"
         "WHERE 0.2110 BETWEEN em_min AND em_max",
         {"ivoa.obscore"}},
        {"optical",
         "Optical spectra and cubes, in nanometres",
         "IN_UNIT converts ObsCore's metres to any unit of the same dimension (ADQL 2.1 section 4.7.6).",
         "SELECT obs_id, dataproduct_type, IN_UNIT(em_min, 'nm') AS em_min_nm, IN_UNIT(em_max, 'nm') AS em_max_nm\n"
         "FROM ivoa.obscore\n"
         "WHERE IN_UNIT(em_max, 'nm') < 1000\n"
         "ORDER BY em_min",
         {"ivoa.obscore"}},
        {"recent",
         "Observations after a date",
         "t_min and t_max are Modified Julian Dates: MJD 55000 is 2009-06-18.",
         "SELECT obs_id, instrument_name, t_min, t_exptime\n"
         "FROM ivoa.obscore\n"
         "WHERE t_min > 55000\n"
         "ORDER BY t_min DESC",
         {"ivoa.obscore"}},
        {"census",
         "What the archive holds",
         "Products per collection and product type.",
         "SELECT obs_collection, dataproduct_type, COUNT(*) AS n\n"
         "FROM ivoa.obscore\n"
         "GROUP BY obs_collection, dataproduct_type\n"
         "ORDER BY n DESC",
         {"ivoa.obscore"}},
        {"healpix",
         "Sky density on HEALPix cells",
         "Products per order-4 HEALPix cell (NESTED scheme), with ivo_healpix_index.",
         "SELECT ivo_healpix_index(4, s_ra, s_dec) AS hpx, COUNT(*) AS n\n"
         "FROM ivoa.obscore\n"
         "WHERE s_ra IS NOT NULL\n"
         "GROUP BY hpx\n"
         "ORDER BY n DESC",
         {"ivoa.obscore"}},
        {"instruments",
         "Products of each instrument",
         "ivo_string_agg lists the products of each instrument in one row.",
         "SELECT instrument_name, COUNT(*) AS n, ivo_string_agg(obs_id, ', ') AS products\n"
         "FROM ivoa.obscore\n"
         "WHERE instrument_name IS NOT NULL\n"
         "GROUP BY instrument_name",
         {"ivoa.obscore"}},
        {"targets",
         "Targets by name, ignoring case",
         "ILIKE (ADQL 2.1 section 2.2.4) matches without regard to case.",
         "SELECT obs_id, target_name, s_ra, s_dec\n"
         "FROM ivoa.obscore\n"
         "WHERE target_name ILIKE 'ngc%'",
         {"ivoa.obscore"}},
        {"spectra-and-cubes",
         "Spectra and cubes in one list (UNION)",
         "A set operation: the identifiers of every spectrum and every cube, with their kind.",
         "SELECT obs_id, 'spectrum' AS kind FROM ivoa.obscore WHERE dataproduct_type = 'spectrum'\n"
         "UNION\n"
         "SELECT obs_id, 'cube' AS kind FROM ivoa.obscore WHERE dataproduct_type = 'cube'",
         {"ivoa.obscore"}},
        {"with",
         "A common table expression (WITH)",
         "Radio products (wavelengths above 1 cm) named once and used twice.",
         "WITH radio AS (\n"
         "  SELECT obs_id, em_min, em_max FROM ivoa.obscore WHERE em_min > 0.01\n"
         ")\n"
         "SELECT r.obs_id, IN_UNIT(r.em_min, 'cm') AS em_min_cm, (SELECT COUNT(*) FROM radio) AS n_radio\n"
         "FROM radio AS r",
         {"ivoa.obscore"}},
        {"columns",
         "The ObsCore columns, their units and UCDs",
         "TAP_SCHEMA describes every published column.",
         "SELECT column_name, datatype, unit, ucd\n"
         "FROM TAP_SCHEMA.columns\n"
         "WHERE table_name = 'ivoa.obscore'\n"
         "ORDER BY column_index",
         {"TAP_SCHEMA.columns"}},
    };
    return examples;
}

std::string examples_document(const std::string& tap_url, const std::string& title) {
    using votable::xml_escape;
    std::string x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<title>TAP examples: " +
        xml_escape(title) +
        "</title>\n</head>\n"
        "<body vocab=\"http://www.ivoa.net/rdf/examples#\">\n"
        "<h1>ADQL examples for " +
        xml_escape(title) +
        "</h1>\n"
        "<p>Each query runs as it is at <code>" +
        xml_escape(tap_url) + "/sync</code> or <code>" + xml_escape(tap_url) +
        "/async</code> (TAP 1.1, ADQL 2.1; DALI-examples markup).</p>\n";
    for (const auto& e : tap_examples()) {
        x += "<div typeof=\"example\" id=\"" + e.id + "\" resource=\"#" + e.id + "\">\n";
        x += "  <h2 property=\"name\">" + xml_escape(e.name) + "</h2>\n";
        x += "  <p>" + xml_escape(e.description) + "</p>\n";
        x += "  <pre property=\"query\">" + xml_escape(e.query) + "</pre>\n";
        x += "  <p>Tables:";
        for (const auto& t : e.tables) x += " <span property=\"table\">" + xml_escape(t) + "</span>";
        x += "</p>\n</div>\n";
    }
    return x + "</body>\n</html>\n";
}

}  // namespace vo::server
