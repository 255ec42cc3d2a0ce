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

ColumnDef col(const char* name, const char* adql_type, const char* unit, const char* utype, const char* ucd,
              const char* description, bool mandatory, bool not_null = false, bool indexed = false) {
    ColumnDef c;
    c.name = name;
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
        col("dataproduct_type", "VARCHAR", "", "ObsDataset.dataProductType", "meta.code.class",
            "Logical data product type (image, cube, spectrum...)", true, false, true),
        col("dataproduct_subtype", "VARCHAR", "", "ObsDataset.dataProductSubtype", "meta.code.class",
            "Data product specific type", false),
        col("calib_level", "INTEGER", "", "ObsDataset.calibLevel", "meta.code;obs.calib",
            "Calibration level {0, 1, 2, 3, 4}", true, true, true),
        col("obs_collection", "VARCHAR", "", "DataID.collection", "meta.id", "Name of the data collection", true, true,
            true),
        col("obs_id", "VARCHAR", "", "DataID.observationID", "meta.id", "Observation ID", true, true, true),
        col("obs_title", "VARCHAR", "", "DataID.title", "meta.title;obs", "Brief description of dataset in free format",
            false),
        col("obs_publisher_did", "VARCHAR", "", "Curation.publisherDID", "meta.ref.ivoid",
            "Dataset identifier given by the publisher", true, true, true),
        col("obs_creator_did", "VARCHAR", "", "DataID.creatorDID", "meta.id",
            "IVOA dataset identifier given by the creator", false),
        col("access_url", "CLOB", "", "Access.reference", "meta.ref.url", "URL used to access (download) dataset",
            true),
        col("access_format", "VARCHAR", "", "Access.format", "meta.code.mime", "File content format", true),
        col("access_estsize", "BIGINT", "kbyte", "Access.size", "phys.size;meta.file",
            "Estimated size of dataset in kilo bytes", true),
        col("target_name", "VARCHAR", "", "Target.name", "meta.id;src", "Astronomical object observed, if any", true,
            false, true),
        col("s_ra", "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1", "pos.eq.ra",
            "Central right ascension, ICRS", true, false, true),
        col("s_dec", "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2", "pos.eq.dec",
            "Central declination, ICRS", true, false, true),
        col("s_fov", "DOUBLE", "deg", "Char.SpatialAxis.Coverage.Bounds.Extent.diameter", "phys.angSize;instr.fov",
            "Diameter (bounds) of the covered region", true),
        col("s_region", "REGION", "", "Char.SpatialAxis.Coverage.Support.Area", "pos.outline;obs.field",
            "Sky region covered by the data product (expressed in ICRS frame)", true, false, true),
        col("s_resolution", "DOUBLE", "arcsec", "Char.SpatialAxis.Resolution.Refval.value", "pos.angResolution",
            "Spatial resolution of data as FWHM", true),
        col("s_xel1", "BIGINT", "", "Char.SpatialAxis.numBins1", "meta.number",
            "Number of elements along the first spatial axis", true),
        col("s_xel2", "BIGINT", "", "Char.SpatialAxis.numBins2", "meta.number",
            "Number of elements along the second spatial axis", true),
        col("s_pixel_scale", "DOUBLE", "arcsec", "Char.SpatialAxis.Sampling.RefVal.SamplingPeriod",
            "phys.angSize;instr.pixel", "Sampling period in world coordinate units along the spatial axis", false),
        col("t_min", "DOUBLE", "d", "Char.TimeAxis.Coverage.Bounds.Limits.StartTime", "time.start;obs.exposure",
            "Start time in MJD", true, false, true),
        col("t_max", "DOUBLE", "d", "Char.TimeAxis.Coverage.Bounds.Limits.StopTime", "time.end;obs.exposure",
            "Stop time in MJD", true, false, true),
        col("t_exptime", "DOUBLE", "s", "Char.TimeAxis.Coverage.Support.Extent", "time.duration;obs.exposure",
            "Total exposure time", true),
        col("t_resolution", "DOUBLE", "s", "Char.TimeAxis.Resolution.Refval.value", "time.resolution",
            "Temporal resolution", true),
        col("t_xel", "BIGINT", "", "Char.TimeAxis.numBins", "meta.number", "Number of elements along the time axis",
            true),
        col("em_min", "DOUBLE", "m", "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit", "em.wl;stat.min",
            "Start in spectral coordinates (vacuum wavelength)", true, false, true),
        col("em_max", "DOUBLE", "m", "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit", "em.wl;stat.max",
            "Stop in spectral coordinates (vacuum wavelength)", true, false, true),
        col("em_res_power", "DOUBLE", "", "Char.SpectralAxis.Resolution.ResolPower.refVal", "spect.resolution",
            "Spectral resolving power", true),
        col("em_xel", "BIGINT", "", "Char.SpectralAxis.numBins", "meta.number",
            "Number of elements along the spectral axis", true),
        col("em_ucd", "VARCHAR", "", "Char.SpectralAxis.ucd", "meta.ucd", "Nature of the spectral axis", false),
        col("o_ucd", "VARCHAR", "", "Char.ObservableAxis.ucd", "meta.ucd",
            "UCD of observable (e.g. phot.flux.density, phot.count, etc.)", true),
        col("o_unit", "VARCHAR", "", "Char.ObservableAxis.unit", "meta.unit", "Units used for the observable values",
            false),
        col("pol_states", "VARCHAR", "", "Char.PolarizationAxis.stateList", "meta.code;phys.polarization",
            "List of polarization states or NULL if not applicable", true),
        col("pol_xel", "BIGINT", "", "Char.PolarizationAxis.numBins", "meta.number", "Number of polarization samples",
            true),
        col("facility_name", "VARCHAR", "", "Provenance.ObsConfig.Facility.name", "meta.id;instr.tel",
            "Name of the facility used for this observation", true, false, true),
        col("instrument_name", "VARCHAR", "", "Provenance.ObsConfig.Instrument.name", "meta.id;instr",
            "Name of the instrument used for this observation", true, false, true),
        col("proposal_id", "VARCHAR", "", "Provenance.Proposal.identifier", "meta.id;obs.proposal",
            "Identifier of proposal to which observation belongs", false),
        col("obs_release_date", "TIMESTAMP", "", "Curation.releaseDate", "time.release",
            "Observation release date (ISO 8601)", false),
    };
}

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
