// The one way voserver opens and creates files with CFITSIO, safe from
// several threads. Header-only: vo_fits does not link CFITSIO; its users
// (obscore/, soda/, votable/) do.
#pragma once

#include <fitsio.h>

#include <mutex>
#include <string>

namespace vo::fits {

/// CFITSIO (4.2, reentrant build) creates its global lock and initialises
/// its drivers on the first file open, without synchronisation: two first
/// opens in two threads at once race (seen by ThreadSanitizer in ingest's
/// extraction threads; the server's cutout, preview and FITS-result workers
/// are exposed the same way). Once per process, a throwaway open of a path
/// that cannot exist does that first-open work under a std::once_flag, so
/// whichever thread opens first, the others wait for it. Cheap afterwards.
/// The wrappers below call it; code that cannot include this header
/// (votable/'s FITS writer, by the include arrows) relies on the server
/// calling it before its workers start.
inline void prepare_cfitsio_for_threads() {
    static std::once_flag once;
    std::call_once(once, [] {
        fitsfile* f = nullptr;
        int status = 0;
        fits_open_diskfile(&f, "/nonexistent/voserver-cfitsio-first-open.fits", READONLY, &status);
        if (f) {
            status = 0;
            fits_close_file(f, &status);
        }
    });
}

/// Opens `path` read-only without CFITSIO's extended file name syntax (so
/// '[', ']' and ':' in archive paths are harmless): fits_open_diskfile.
/// Returns CFITSIO's status (0 on success; *f is then open), like the call
/// it wraps. Safe to call from any thread.
inline int open_diskfile(fitsfile** f, const std::string& path, int* status) {
    prepare_cfitsio_for_threads();
    return fits_open_diskfile(f, path.c_str(), READONLY, status);
}

/// Opens `path` read-only through fits_open_file, which decompresses gzip
/// files (and parses the extended file name syntax: use for gzip files
/// only). Returns CFITSIO's status. Safe to call from any thread.
inline int open_compressed_file(fitsfile** f, const std::string& path, int* status) {
    prepare_cfitsio_for_threads();
    return fits_open_file(f, path.c_str(), READONLY, status);
}

/// Creates (or, with a leading '!', overwrites) the FITS file `name`:
/// fits_create_file. Returns CFITSIO's status. Safe to call from any thread.
inline int create_file(fitsfile** f, const std::string& name, int* status) {
    prepare_cfitsio_for_threads();
    return fits_create_file(f, name.c_str(), status);
}

}  // namespace vo::fits
