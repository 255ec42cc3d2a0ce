// A temporary directory for unit tests, removed with its content at scope exit.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace vo::testing {

/// A fresh directory under the system's temporary folder, named
/// `vo_<tag>_<pid>_<random>` (unique across processes and within one), created
/// by the constructor and removed recursively by the destructor (errors
/// ignored). Not copyable.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag = "test") {
        path = std::filesystem::temp_directory_path() /
               ("vo_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace vo::testing
