// A small ivoa.obscore catalogue for the ADQL unit tests that need no store:
// obs_id (char*), s_ra (double), calib_level (int), s_region (adql:REGION),
// t_min (double), obs_release_date (timestamp).
#pragma once

#include <vector>

#include "adql/adql.hpp"

namespace vo::adql::test {

/// One column as a store would declare it (physical name = ADQL name).
inline ColumnInfo col(const char* name, const char* datatype, const char* arraysize = "", const char* xtype = "") {
    ColumnInfo c;
    c.name = c.physical = name;
    c.datatype = datatype;
    c.arraysize = arraysize;
    c.xtype = xtype;
    return c;
}

/// The catalogue: one table ivoa.obscore with the columns above.
class Obscore : public Catalog {
public:
    Obscore() {
        TableInfo t;
        t.schema = "ivoa";
        t.name = t.physical = "obscore";
        t.columns = {col("obs_id", "char", "*"), col("s_ra", "double"),
                     col("calib_level", "int"),  col("s_region", "char", "*", "adql:REGION"),
                     col("t_min", "double"),     col("obs_release_date", "char", "*", "timestamp")};
        tables_.push_back(t);
    }
    const std::vector<TableInfo>& tables() const override { return tables_; }

private:
    std::vector<TableInfo> tables_;
};

}  // namespace vo::adql::test
