// A parsed, validated network: the graph plus what parseOnnx reports about it.
#pragma once

#include <memory>
#include <mutex>

#include "graph.h"

namespace tnrt {
namespace sim {

class SimNetwork : public Network {
 public:
  // `builderLock` is the lock of the SimBuilder that parsed it (see SimBuilder::lock_).
  SimNetwork(std::shared_ptr<std::mutex> builderLock, std::shared_ptr<const Graph> graph, NetworkInfo info,
             bool stronglyTyped)
      : builderLock_(std::move(builderLock)), graph_(std::move(graph)), info_(std::move(info)), stronglyTyped_(stronglyTyped) {}
  // Torn down under its builder's lock, as the strictest backend would (see SimBuilder::lock_).
  ~SimNetwork() override {
    std::lock_guard<std::mutex> lock(*builderLock_);
    graph_.reset();
  }
  NetworkInfo info() const override { return info_; }
  const Graph& graph() const { return *graph_; }
  const NetworkInfo& cachedInfo() const { return info_; }
  bool stronglyTyped() const { return stronglyTyped_; }

 private:
  std::shared_ptr<std::mutex> builderLock_;
  std::shared_ptr<const Graph> graph_;
  NetworkInfo info_;
  bool stronglyTyped_;
};

}  // namespace sim
}  // namespace tnrt
