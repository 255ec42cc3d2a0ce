// Previews (obscore/preview.hpp): the documented stretch, the kinds per
// product type, an image preview written from a FITS file and read back.
#include <catch2/catch.hpp>
#include <fitsio.h>
#include <png.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "obscore/preview.hpp"

using namespace vo::obscore;

TEST_CASE("the stretch: 0.5 and 99.5 percentiles (lower), asinh, NaN transparent", "[preview]") {
    std::vector<double> v;
    for (int i = 0; i < 201; ++i) v.push_back(i);  // ranks: lo = v[1] = 1, hi = v[199] = 199
    v.push_back(std::numeric_limits<double>::quiet_NaN());
    std::vector<bool> opaque;
    const auto g = stretch_grey(v, opaque);
    CHECK(g[0] == 0);
    CHECK(g[1] == 0);
    CHECK(g[199] == 255);
    CHECK(g[200] == 255);
    CHECK(int(g[100]) == int(std::lround(255 * std::asinh(10 * 99.0 / 198.0) / std::asinh(10.0))));
    CHECK_FALSE(opaque[201]);
    CHECK(opaque[0]);
    std::vector<bool> flat_opaque;
    const auto flat = stretch_grey({5, 5, 5}, flat_opaque);  // hi = lo + 1
    CHECK(flat[0] == 0);
}

TEST_CASE("previews per product type", "[preview]") {
    CHECK(preview_kinds("cube").size() == 3);
    CHECK(preview_kinds("cube")[2].semantics == "#preview-plot");
    REQUIRE(preview_kinds("image").size() == 1);
    CHECK(preview_kinds("image")[0].name == "image");
    CHECK(preview_kinds("spectrum").empty());
}

TEST_CASE("an image preview is the stretched image, north up; unreadable files throw", "[preview]") {
    const auto dir = std::filesystem::temp_directory_path() / ("voserver-preview-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "img.fits").string();
    std::filesystem::remove(path);
    fitsfile* f = nullptr;
    int status = 0;
    long naxes[2] = {4, 3};
    fits_create_file(&f, path.c_str(), &status);
    fits_create_img(f, DOUBLE_IMG, 2, naxes, &status);
    double pixels[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, std::numeric_limits<double>::quiet_NaN()};
    fits_write_img(f, TDOUBLE, 1, 12, pixels, &status);
    fits_close_file(f, &status);
    REQUIRE(status == 0);

    const std::string prefix = (dir / "p-").string();
    write_previews(path, 0, "image", prefix);
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    REQUIRE(png_image_begin_read_from_file(&image, (prefix + "image.png").c_str()));
    image.format = PNG_FORMAT_GA;
    std::vector<png_byte> ga(PNG_IMAGE_SIZE(image));
    REQUIRE(png_image_finish_read(&image, nullptr, ga.data(), 0, nullptr));
    CHECK(image.width == 4);
    CHECK(image.height == 3);
    std::vector<bool> opaque;
    const auto expected = stretch_grey(std::vector<double>(pixels, pixels + 12), opaque);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) {
            const std::size_t fits_index = static_cast<std::size_t>((2 - y) * 4 + x);  // PNG row 0 = last FITS row
            const std::size_t png_index = static_cast<std::size_t>((y * 4 + x) * 2);
            CHECK(ga[png_index + 1] == (opaque[fits_index] ? 255 : 0));
            if (opaque[fits_index]) CHECK(ga[png_index] == expected[fits_index]);
        }
    CHECK_THROWS_AS(write_previews((dir / "missing.fits").string(), 0, "image", prefix), PreviewError);
    CHECK_THROWS_AS(write_previews(path, 3, "image", prefix), PreviewError);
}
