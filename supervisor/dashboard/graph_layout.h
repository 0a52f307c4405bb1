// A run's graph laid out by Graphviz's dot (libgvc, in process): where each step's box goes and
// the curve of each edge, in points with the origin at the top left. Only positions come back;
// the browser draws them, and every name it shows is set as text, never as markup. Graphviz is
// not thread-safe, so layouts are made one at a time.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cordon {

struct LayoutNode {
  std::string step;
  std::vector<std::string> needs;
  size_t labelChars = 0;  // how wide its label is, in characters (the box is sized for it)
};

// {"width", "height", "nodes": [{"step", "x", "y", "w", "h"}], "edges": [{"from", "to",
// "points": [[x, y], ...], "arrow": [x, y] or null}]} (cubic Bézier control points, as dot
// gives them, and the arrowhead's tip); for more than
// kMaxLaidOutSteps steps, {"too_large": N} and the page lists the steps instead.
nlohmann::json layoutGraph(const std::vector<LayoutNode>& nodes);

inline constexpr size_t kMaxLaidOutSteps = 2000;

}  // namespace cordon
