/**
 * Visits every graph and every tensor of a model, subgraphs (If/Loop/Scan bodies) included:
 * weights can hide in node attributes and nested graphs, and anything that rewrites or moves
 * tensor data must see all of them.
 */
import type { GraphProto, ModelProto, SparseTensorProto, TensorProto } from 'onnx-buf';

/** Calls `visit` on `graph` and on every graph nested in its nodes' attributes, outermost first. */
export function forEachGraph(graph: GraphProto, visit: (graph: GraphProto) => void): void {
  visit(graph);
  for (const node of graph.node) {
    for (const attribute of node.attribute) {
      if (attribute.g) forEachGraph(attribute.g, visit);
      for (const g of attribute.graphs) forEachGraph(g, visit);
    }
  }
}

function sparseParts(sparse: SparseTensorProto): TensorProto[] {
  return [sparse.values, sparse.indices].filter((t): t is TensorProto => t !== undefined);
}

/**
 * Calls `visit` on every TensorProto in the model: initializers, sparse initializers' values
 * and indices, and tensors in node attributes (Constant's value, ConstantOfShape's value...),
 * in every graph.
 */
export function forEachTensor(model: ModelProto, visit: (tensor: TensorProto) => void): void {
  if (!model.graph) return;
  forEachGraph(model.graph, (graph) => {
    for (const t of graph.initializer) visit(t);
    for (const s of graph.sparseInitializer) sparseParts(s).forEach(visit);
    for (const node of graph.node) {
      for (const attribute of node.attribute) {
        if (attribute.t) visit(attribute.t);
        attribute.tensors.forEach(visit);
        if (attribute.sparseTensor) sparseParts(attribute.sparseTensor).forEach(visit);
        for (const s of attribute.sparseTensors) sparseParts(s).forEach(visit);
      }
    }
  });
}
