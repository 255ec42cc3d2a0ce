// CFITSIO from several threads: its global lock is made on the first open.
// Header-only: vo_fits does not link CFITSIO; its users (obscore/, soda/,
// votable/, server/) do.
#pragma once

#include <fitsio.h>

#include <mutex>

namespace vo::fits {

/// CFITSIO (4.2, reentrant build) creates its global lock and initialises
/// its drivers on the first file open, without synchronisation: two first
/// opens in two threads at once race (seen by ThreadSanitizer in ingest's
/// extraction threads; the server's cutout, preview and FITS-result workers
/// are exposed the same way). Call before files are opened from several
/// threads: once per process, a throwaway open of a path that cannot exist
/// does that first-open work in one thread. Cheap afterwards.
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

}  // namespace vo::fits
