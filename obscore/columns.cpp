#include "obscore/columns.hpp"

#include <algorithm>

namespace vo::obscore {

std::string ColumnDef::sql_type() const {
    if (datatype == "double" || datatype == "float") return "REAL";
    if (datatype == "int" || datatype == "long" || datatype == "short" || datatype == "boolean" ||
        datatype == "unsignedByte")
        return "INTEGER";
    return "TEXT";
}

namespace {

// Conversions of the ObsCoreRecord field types to ExtraValue (NULL: monostate).
ExtraValue as_value(const std::string& v) { return v; }
ExtraValue as_value(std::int64_t v) { return v; }
template <class T>
ExtraValue as_value(const std::optional<T>& v) {
    if (!v) return std::monostate{};
    return *v;
}

/// The accessor of the record field `Member`.
template <auto Member>
ExtraValue field(const ObsCoreRecord& r) {
    return as_value(r.*Member);
}

ExtraValue region_value(const ObsCoreRecord& r) {
    std::string stcs = stcs_region(r);
    if (stcs.empty()) return std::monostate{};
    return stcs;
}

// A column named as its ObsCoreRecord field, with that field as its value:
// the name is written once, so the two cannot disagree.
#define VO_FIELD(name) #name, &field < &ObsCoreRecord::name>

ColumnDef col(const char* name, ExtraValue (*value)(const ObsCoreRecord&), const char* adql_type, const char* unit,
              const char* utype, const char* ucd, const char* description, bool mandatory, bool not_null = false,
              bool indexed = false) {
    ColumnDef c;
    c.name = name;
    c.value = value;
    c.adql_type = adql_type;
    const std::string t = adql_type;
    if (t == "VARCHAR" || t == "CLOB") {
        c.datatype = "char";
        c.arraysize = "*";
    } else if (t == "INTEGER") {
        c.datatype = "int";
    } else if (t == "BIGINT") {
        c.datatype = "long";
    } else if (t == "DOUBLE") {
        c.datatype = "double";
    } else if (t == "TIMESTAMP") {
        c.datatype = "char";
        c.arraysize = "*";
        c.xtype = "timestamp";
    } else if (t == "REGION") {
        // ObsCore 1.1 Appendix C.2 types s_region adql:REGION; served, as the
        // ALMA, ESO and GAVO archives do and taplint's OBS stage expects, as
        // an STC-S string ("Polygon ICRS ra1 dec1 ...") in a char column.
        c.datatype = "char";
        c.arraysize = "*";
        c.xtype = "adql:REGION";
    }
    c.unit = unit;
    c.utype = std::string("obscore:") + utype;
    c.ucd = ucd;
    c.description = description;
    c.mandatory = mandatory;
    c.principal = mandatory;
    c.not_null = not_null;
    c.indexed = indexed;
    return c;
}

std::vector<ColumnDef> make_columns() {
    // ObsCore 1.1 Appendix C.2, Tables 7-9 (names, types, units, utypes, UCDs).
    return {
        col(VO_FIELD(dataproduct_type), "VARCHAR", "", "ObsDataset.dataProductType", "meta.code.class",
            "Logical data product type (image, cube, spectrum...)", true, false, true),
        col(VO_FIELD(dataproduct_subtype), "VARCHAR", "", "ObsDataset.dataProductSubtype", "meta.code.class",
            "Data product specific type", false),
        col(VO_FIELD(calib_level), "INTEGER", "", "ObsDataset.calibLevel", "meta.code;obs.calib",
            "Calibration level {0, 1, 2, 3, 4}", true, true, true),
        col(VO_FIELD(obs_collection), "VARCHAR", "", "DataID.collection", "meta.id", "Name of the data collection",
            true, true, true),
        col(VO_FIELD(obs_id), "VARCHAR", "", "DataID.observationID", "meta.id", "Observation ID", true, true, true),
        col(VO_FIELD(obs_title), "VARCHAR", "", "DataID.title", "meta.title;obs",
            "Brief description of dataset in free format", false),
        col(VO_FIELD(obs_publisher_did), "VARCHAR", "", "Curation.publisherDID", "meta.ref.ivoid",
            "Dataset identifier given by the publisher", true, true, true),
        col(VO_FIELD(obs_creator_did), "VARCHAR", "", "DataID.creatorDID", "meta.id",
            "IVOA dataset identifier given by the creator", false),
        col(VO_FIELD(access_url), "CLOB", "", "Access.reference", "meta.ref.url",
            "URL used to access (download) dataset", true),
        col(VO_FIELD(access_format), "VARCHAR", "", "Access.format", "meta.code.mime", "File content format", true),
        col(VO_FIELD(access_estsize), "BIGINT", "kbyte", "Access.size", "phys.size;meta.file",
            "Estimated size of dataset in kilo bytes", true),
        col(VO_FIELD(target_name), "VARCHAR", "", "Target.name", "meta.id;src", "Astronomical object observed, if any",
            true, false, true),
        col(VO_FIELD(s_ra), "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
            "pos.eq.ra", "Central right ascension, ICRS", true, false, true),
        col(VO_FIELD(s_dec), "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
            "pos.eq.dec", "Central declination, ICRS", true, false, true),
        col(VO_FIELD(s_fov), "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
            "phys.angSize;instr.fov", "Diameter (bounds) of the covered region", true),
        col("s_region", &region_value, "REGION", "", "Char.SpatialAxis.Coverage.Support.Area", "pos.outline;obs.field",
            "Sky region covered by the data product (expressed in ICRS frame)", true, false, true),
        col(VO_FIELD(s_resolution), "DOUBLE", "arcsec", "Char.SpatialAxis.Resolution.Refval.value", "pos.angResolution",
            "Spatial resolution of data as FWHM", true),
        col(VO_FIELD(s_xel1), "BIGINT", "", "Char.SpatialAxis.numBins1", "meta.number",
            "Number of elements along the first spatial axis", true),
        col(VO_FIELD(s_xel2), "BIGINT", "", "Char.SpatialAxis.numBins2", "meta.number",
            "Number of elements along the second spatial axis", true),
        col(VO_FIELD(s_pixel_scale), "DOUBLE", "arcsec", "Char.SpatialAxis.Sampling.RefVal.SamplingPeriod",
            "phys.angSize;instr.pixel", "Sampling period in world coordinate units along the spatial axis", false),
        col(VO_FIELD(t_min), "DOUBLE", "d", "Char.TimeAxis.Coverage.Bounds.Limits.StartTime", "time.start;obs.exposure",
            "Start time in MJD", true, false, true),
        col(VO_FIELD(t_max), "DOUBLE", "d", "Char.TimeAxis.Coverage.Bounds.Limits.StopTime", "time.end;obs.exposure",
            "Stop time in MJD", true, false, true),
        col(VO_FIELD(t_exptime), "DOUBLE", "s", "Char.TimeAxis.Coverage.Support.Extent", "time.duration;obs.exposure",
            "Total exposure time", true),
        col(VO_FIELD(t_resolution), "DOUBLE", "s", "Char.TimeAxis.Resolution.Refval.value", "time.resolution",
            "Temporal resolution", true),
        col(VO_FIELD(t_xel), "BIGINT", "", "Char.TimeAxis.numBins", "meta.number",
            "Number of elements along the time axis", true),
        col(VO_FIELD(em_min), "DOUBLE", "m", "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit", "em.wl;stat.min",
            "Start in spectral coordinates (vacuum wavelength)", true, false, true),
        col(VO_FIELD(em_max), "DOUBLE", "m", "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit", "em.wl;stat.max",
            "Stop in spectral coordinates (vacuum wavelength)", true, false, true),
        col(VO_FIELD(em_res_power), "DOUBLE", "", "Char.SpectralAxis.Resolution.ResolPower.refVal", "spect.resolution",
            "Spectral resolving power", true),
        col(VO_FIELD(em_xel), "BIGINT", "", "Char.SpectralAxis.numBins", "meta.number",
            "Number of elements along the spectral axis", true),
        col(VO_FIELD(em_ucd), "VARCHAR", "", "Char.SpectralAxis.ucd", "meta.ucd", "Nature of the spectral axis", false),
        col(VO_FIELD(o_ucd), "VARCHAR", "", "Char.ObservableAxis.ucd", "meta.ucd",
            "UCD of observable (e.g. phot.flux.density, phot.count, etc.)", true),
        col(VO_FIELD(o_unit), "VARCHAR", "", "Char.ObservableAxis.unit", "meta.unit",
            "Units used for the observable values", false),
        col(VO_FIELD(pol_states), "VARCHAR", "", "Char.PolarizationAxis.stateList", "meta.code;phys.polarization",
            "List of polarization states or NULL if not applicable", true),
        col(VO_FIELD(pol_xel), "BIGINT", "", "Char.PolarizationAxis.numBins", "meta.number",
            "Number of polarization samples", true),
        col(VO_FIELD(facility_name), "VARCHAR", "", "Provenance.ObsConfig.Facility.name", "meta.id;instr.tel",
            "Name of the facility used for this observation", true, false, true),
        col(VO_FIELD(instrument_name), "VARCHAR", "", "Provenance.ObsConfig.Instrument.name", "meta.id;instr",
            "Name of the instrument used for this observation", true, false, true),
        col(VO_FIELD(proposal_id), "VARCHAR", "", "Provenance.Proposal.identifier", "meta.id;obs.proposal",
            "Identifier of proposal to which observation belongs", false),
        col(VO_FIELD(obs_release_date), "TIMESTAMP", "", "Curation.releaseDate", "time.release",
            "Observation release date (ISO 8601)", false),
    };
}

#undef VO_FIELD

}  // namespace

const std::vector<ColumnDef>& obscore_columns() {
    static const std::vector<ColumnDef> columns = make_columns();
    return columns;
}

const ColumnDef* find_obscore_column(const std::string& name) {
    const auto& cols = obscore_columns();
    auto it = std::find_if(cols.begin(), cols.end(), [&](const ColumnDef& c) { return c.name == name; });
    return it == cols.end() ? nullptr : &*it;
}

}  // namespace vo::obscore
