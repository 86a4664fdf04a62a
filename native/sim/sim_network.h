// A parsed, validated network: the graph plus what parseOnnx reports about it.
#pragma once

#include <memory>

#include "graph.h"

namespace tnrt {
namespace sim {

class SimNetwork : public Network {
 public:
  SimNetwork(std::shared_ptr<const Graph> graph, NetworkInfo info, bool stronglyTyped)
      : graph_(std::move(graph)), info_(std::move(info)), stronglyTyped_(stronglyTyped) {}
  NetworkInfo info() const override { return info_; }
  const Graph& graph() const { return *graph_; }
  const NetworkInfo& cachedInfo() const { return info_; }
  bool stronglyTyped() const { return stronglyTyped_; }

 private:
  std::shared_ptr<const Graph> graph_;
  NetworkInfo info_;
  bool stronglyTyped_;
};

}  // namespace sim
}  // namespace tnrt
