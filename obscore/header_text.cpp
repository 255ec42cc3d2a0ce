#include "obscore/header_text.hpp"
#include "fits/text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vo::obscore {
namespace {

using fits::trim;

bool is_end_card(std::string_view card) {
    return card.size() >= 3 && card.substr(0, 3) == "END" && trim(card.substr(3)).empty();
}

std::string pad_card(std::string_view line) {
    std::string card(line.substr(0, std::min<std::size_t>(line.size(), 80)));
    // Tabs or other control characters would upset WCSLIB's parser.
    for (auto& c : card)
        if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = ' ';
    card.resize(80, ' ');
    return card;
}

/// True for a text-dump line that separates HDUs.
bool is_separator(std::string_view line) {
    const std::string t = trim(line);
    return t.rfind("# HDU", 0) == 0 || (t.rfind("--- HDU", 0) == 0) ||
           (t.rfind("---", 0) == 0 && t.find("HDU") != std::string::npos);
}

/// True for a text-dump line that is commentary, not a card.
bool is_commentary(std::string_view line) {
    const std::string t = trim(line);
    return t.empty() || t.rfind("Filename:", 0) == 0 || t.rfind("AstroData Types:", 0) == 0 || t[0] == '#';
}

void close_block(std::vector<std::string>& blocks, std::string& block) {
    if (block.empty()) return;
    if (!is_end_card(std::string_view(block).substr(block.size() - 80))) block += pad_card("END");
    blocks.push_back(std::move(block));
    block.clear();
}

}  // namespace

std::vector<std::string> split_header_text(std::string_view content) {
    std::vector<std::string> blocks;
    std::string block;
    const std::size_t first_nl = content.find('\n');
    const bool raw = content.size() >= 80 && (first_nl == std::string_view::npos || first_nl > 81);
    if (raw) {
        for (std::size_t pos = 0; pos < content.size(); pos += 80) {
            const std::string card = pad_card(content.substr(pos, 80));
            if (trim(card).empty() && block.empty()) continue;  // padding between blocks
            block += card;
            if (is_end_card(card)) close_block(blocks, block);
        }
        // Trailing blank padding after the last END was skipped; drop blank-only rest.
        if (!block.empty() && trim(block).empty()) block.clear();
        close_block(blocks, block);
        return blocks;
    }
    std::size_t pos = 0;
    while (pos <= content.size()) {
        std::size_t nl = content.find('\n', pos);
        if (nl == std::string_view::npos) nl = content.size();
        std::string_view line = content.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = nl + 1;
        if (is_separator(line)) {
            close_block(blocks, block);
        } else if (!is_commentary(line)) {
            const std::string card = pad_card(line);
            block += card;
            if (is_end_card(card)) close_block(blocks, block);
        }
        if (nl == content.size()) break;
    }
    close_block(blocks, block);
    return blocks;
}

std::vector<std::string> read_header_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read header file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return split_header_text(ss.str());
}

}  // namespace vo::obscore
