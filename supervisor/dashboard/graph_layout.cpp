#include "dashboard/graph_layout.h"

#include <graphviz/gvc.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace cordon {
namespace {

// One context for the process: libgvc keeps its plugin list there, and freeing it leaks what
// it loaded (seen under LeakSanitizer), so it lives as long as the process.
GVC_t* graphvizContext() {
  static GVC_t* context = gvContext();
  return context;
}

std::mutex& graphvizMutex() {
  static std::mutex mutex;
  return mutex;
}

constexpr double kPointsPerInch = 72.0;
constexpr double kCharWidthPoints = 7.5;  // the page's 12 px monospace label, roughly

}  // namespace

nlohmann::json layoutGraph(const std::vector<LayoutNode>& nodes) {
  if (nodes.size() > kMaxLaidOutSteps) return {{"too_large", nodes.size()}};
  std::lock_guard lock(graphvizMutex());
  GVC_t* context = graphvizContext();
  // Names reach Graphviz only as node keys through its API, never as DOT text, and the label is
  // empty: nothing of a step's name is parsed or rendered by Graphviz.
  Agraph_t* graph = agopen(const_cast<char*>("run"), Agdirected, nullptr);
  agattr(graph, AGRAPH, const_cast<char*>("rankdir"), const_cast<char*>("LR"));
  agattr(graph, AGRAPH, const_cast<char*>("nodesep"), const_cast<char*>("0.3"));
  agattr(graph, AGRAPH, const_cast<char*>("ranksep"), const_cast<char*>("0.5"));
  agattr(graph, AGNODE, const_cast<char*>("shape"), const_cast<char*>("box"));
  agattr(graph, AGNODE, const_cast<char*>("label"), const_cast<char*>(""));
  agattr(graph, AGNODE, const_cast<char*>("fixedsize"), const_cast<char*>("true"));
  agattr(graph, AGNODE, const_cast<char*>("height"), const_cast<char*>("0.6"));
  Agsym_t* width = agattr(graph, AGNODE, const_cast<char*>("width"), const_cast<char*>("1.5"));
  std::map<std::string, Agnode_t*> byName;
  for (const LayoutNode& node : nodes) {
    Agnode_t* made = agnode(graph, const_cast<char*>(node.step.c_str()), 1);
    const double inches =
        std::clamp(static_cast<double>(node.labelChars) * kCharWidthPoints + 24.0, 90.0, 320.0) /
        kPointsPerInch;
    agxset(made, width, const_cast<char*>(std::to_string(inches).c_str()));
    byName[node.step] = made;
  }
  for (const LayoutNode& node : nodes) {
    for (const std::string& need : node.needs) {
      auto from = byName.find(need);
      if (from != byName.end()) agedge(graph, from->second, byName[node.step], nullptr, 1);
    }
  }
  nlohmann::json out = {{"nodes", nlohmann::json::array()}, {"edges", nlohmann::json::array()}};
  if (gvLayout(context, graph, "dot") != 0) {
    agclose(graph);
    return {{"too_large", nodes.size()}, {"error", "graphviz could not lay the graph out"}};
  }
  const boxf box = GD_bb(graph);
  const double height = box.UR.y;
  out["width"] = box.UR.x;
  out["height"] = height;
  // dot's y grows upwards; the page's downwards.
  for (Agnode_t* node = agfstnode(graph); node != nullptr; node = agnxtnode(graph, node)) {
    const double w = ND_width(node) * kPointsPerInch;
    const double h = ND_height(node) * kPointsPerInch;
    out["nodes"].push_back({{"step", agnameof(node)},
                            {"x", ND_coord(node).x - w / 2},
                            {"y", height - ND_coord(node).y - h / 2},
                            {"w", w},
                            {"h", h}});
    for (Agedge_t* edge = agfstout(graph, node); edge != nullptr; edge = agnxtout(graph, edge)) {
      nlohmann::json points = nlohmann::json::array();
      nlohmann::json arrow = nullptr;
      const splines* curve = ED_spl(edge);
      if (curve != nullptr && curve->size > 0) {
        const bezier& first = curve->list[0];
        for (int i = 0; i < first.size; ++i)
          points.push_back({first.list[i].x, height - first.list[i].y});
        if (first.eflag) arrow = {first.ep.x, height - first.ep.y};
      }
      out["edges"].push_back({{"from", agnameof(agtail(edge))},
                              {"to", agnameof(aghead(edge))},
                              {"points", points},
                              {"arrow", arrow}});
    }
  }
  gvFreeLayout(context, graph);
  agclose(graph);
  return out;
}

}  // namespace cordon
