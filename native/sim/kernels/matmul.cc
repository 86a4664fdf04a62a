// Matrix products: MatMul (numpy semantics, broadcast batch dims, 1-D operands) and Gemm.
// Float types run on the blocked sgemm of gemm_core.h (float16 through float32 copies);
// integer types use one i-k-j loop with wrapping arithmetic, whose innermost loop runs over
// contiguous rows of B and Y.
#include <type_traits>

#include "gemm_core.h"
#include "kernel_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

// Y[M,N] = A[M,K] * B[K,N], all row-major and dense.
template <typename C>
void gemmCore(const C* A, const C* B, C* Y, int64_t M, int64_t K, int64_t N, ThreadPool* pool) {
  if constexpr (std::is_same_v<C, float>) {
    GemmArgs g;
    g.M = M, g.N = N, g.K = K;
    g.A = A, g.lda = K;
    g.B = B, g.ldb = N;
    g.C = Y, g.ldc = N;
    g.pool = pool;
    sgemm(g);
    return;
  }
  for (int64_t i = 0; i < M; ++i) {
    C* y = Y + i * N;
    for (int64_t j = 0; j < N; ++j) y[j] = C{0};
    const C* a = A + i * K;
    for (int64_t k = 0; k < K; ++k) {
      const C av = a[k];
      const C* b = B + k * N;
      for (int64_t j = 0; j < N; ++j) y[j] = wrapAdd(y[j], wrapMul(av, b[j]));
    }
  }
}

// Copies a logical rows x cols matrix into dense compute-type storage; `transposed` means
// the source is stored cols x rows.
template <typename T>
void loadMatrix(const void* src, int64_t rows, int64_t cols, bool transposed, typename Elem<T>::Compute* dst) {
  using E = Elem<T>;
  const auto* s = static_cast<const typename E::Storage*>(src);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[r * cols + c] = E::load(s, static_cast<size_t>(transposed ? c * rows + r : r * cols + c));
}

// The compute-type view of an operand: the caller's bytes when no conversion or transpose is
// needed, else a copy in `buffer`.
template <typename T>
const typename Elem<T>::Compute* operand(const void* src, int64_t rows, int64_t cols, bool transposed,
                                         std::vector<uint8_t>& buffer) {
  using Cmp = typename Elem<T>::Compute;
  if (!transposed && std::is_same_v<T, Cmp>) return static_cast<const Cmp*>(src);
  Cmp* dst = KernelScratch::as<Cmp>(buffer, static_cast<size_t>(rows * cols));
  loadMatrix<T>(src, rows, cols, transposed, dst);
  return dst;
}

void inferMatMul(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});
  Dims a = *in[0].shape, b = *in[1].shape;
  if (a.empty() || b.empty()) throwShape(node, "MatMul operands must have rank >= 1");
  const bool aVec = a.size() == 1, bVec = b.size() == 1;
  if (aVec) a.insert(a.begin(), 1);
  if (bVec) b.push_back(1);
  int64_t ka = a[a.size() - 1], kb = b[b.size() - 2];
  if (ka >= 0 && kb >= 0 && ka != kb)
    throwShape(node, "inner dimensions differ: " + dimsToString(*in[0].shape) + " x " + dimsToString(*in[1].shape));
  Dims batch = broadcastShapes(node, Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
  requireMaxRank(node, batch);
  if (!aVec) batch.push_back(a[a.size() - 2]);
  if (!bVec) batch.push_back(b[b.size() - 1]);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(batch);
}

template <typename T>
void matMulTyped(const ValueRef& va, const ValueRef& vb, const OutputRef& vy, KernelScratch& scratch) {
  using E = Elem<T>;
  using Cmp = typename E::Compute;
  Dims a = *va.shape, b = *vb.shape;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  const int64_t M = a[a.size() - 2], K = a[a.size() - 1], N = b[b.size() - 1];
  const Dims batchA(a.begin(), a.end() - 2), batchB(b.begin(), b.end() - 2);
  // Recompute the broadcast batch shape without a node (the shapes were validated by infer).
  Dims batch(std::max(batchA.size(), batchB.size()), 1);
  for (size_t k = 0; k < batch.size(); ++k) {
    int64_t da = k < batchA.size() ? batchA[batchA.size() - 1 - k] : 1;
    int64_t db = k < batchB.size() ? batchB[batchB.size() - 1 - k] : 1;
    batch[batch.size() - 1 - k] = da == 1 ? db : da;
  }
  const int64_t numBatches = volume(batch);
  if (M * N == 0 || numBatches == 0) return;
  int64_t sa[kMaxRank] = {}, sb[kMaxRank] = {}, idx[kMaxRank] = {};
  broadcastStrides(batchA, batch, sa);
  broadcastStrides(batchB, batch, sb);

  // Convert float16 operands to float32 once for all batches (a 1 x volume "matrix").
  const Cmp* A = operand<T>(va.data, 1, volume(a), false, scratch.a);
  const Cmp* B = operand<T>(vb.data, 1, volume(b), false, scratch.b);
  auto* Ystore = static_cast<typename E::Storage*>(vy.data);
  Cmp* Y = std::is_same_v<T, Cmp> ? reinterpret_cast<Cmp*>(Ystore)
                                  : KernelScratch::as<Cmp>(scratch.c, static_cast<size_t>(M * N));
  if constexpr (std::is_same_v<T, Cmp>) {
    // Many small products (attention's per-head products, each below the size at which one
    // product splits): whole products per thread. Each is computed as it would be alone
    // (sgemm's results do not depend on its split), so results are the same for any split.
    if (numBatches >= 2 && parallelChunks(scratch.pool, numBatches, M * N * K) > 1) {
      parallelRanges(scratch.pool, numBatches, M * N * K, [&](int64_t lo, int64_t hi) {
        for (int64_t n = lo; n < hi; ++n) {
          int64_t oa = 0, ob = 0, rest = n;
          for (size_t d = batch.size(); d-- > 0;) {
            const int64_t i = rest % batch[d];
            rest /= batch[d];
            oa += i * sa[d], ob += i * sb[d];
          }
          gemmCore<Cmp>(A + oa * M * K, B + ob * K * N, Y + n * M * N, M, K, N, nullptr);
        }
      });
      return;
    }
  }
  int64_t offA = 0, offB = 0;
  for (int64_t n = 0; n < numBatches; ++n) {
    Cmp* y = std::is_same_v<T, Cmp> ? Y + n * M * N : Y;
    gemmCore<Cmp>(A + offA * M * K, B + offB * K * N, y, M, K, N, scratch.pool);
    if (!std::is_same_v<T, Cmp>)
      for (int64_t i = 0; i < M * N; ++i) E::store(Ystore, static_cast<size_t>(n * M * N + i), y[i]);
    for (size_t d = batch.size(); d-- > 0;) {
      offA += sa[d];
      offB += sb[d];
      if (++idx[d] < batch[d]) break;
      offA -= sa[d] * batch[d];
      offB -= sb[d] * batch[d];
      idx[d] = 0;
    }
  }
}

void runMatMul(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    matMulTyped<T>(in[0], in[1], out[0], scratch);
  });
}

void inferGemm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 3);
  requireSameType(node, in);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});
  const Dims& a = *in[0].shape;
  const Dims& b = *in[1].shape;
  if (a.size() != 2 || b.size() != 2)
    throwShape(node, "Gemm needs 2-D A and B but got " + dimsToString(a) + " and " + dimsToString(b));
  const bool ta = node.attrInt("transA", 0) != 0, tb = node.attrInt("transB", 0) != 0;
  int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1];
  int64_t Kb = tb ? b[1] : b[0], N = tb ? b[0] : b[1];
  if (K >= 0 && Kb >= 0 && K != Kb)
    throwShape(node, "inner dimensions differ: A' is " + std::to_string(M) + "x" + std::to_string(K) + ", B' is " +
                         std::to_string(Kb) + "x" + std::to_string(N));
  if (in.size() > 2 && in[2].present()) {
    const Dims& c = *in[2].shape;
    if (c.size() > 2) throwShape(node, "C must have rank <= 2 but is " + dimsToString(c));
    Dims mn{M, N};
    for (size_t k = 0; k < c.size(); ++k) {
      int64_t dc = c[c.size() - 1 - k], dy = mn[1 - k];
      if (dc >= 0 && dy >= 0 && dc != 1 && dc != dy)
        throwShape(node, "C of shape " + dimsToString(c) + " cannot broadcast to " + dimsToString(mn));
    }
    // Gemm-6 broadcast C only when asked to (broadcast=1); otherwise C is exactly M x N.
    if (node.opset < 7 && node.attrInt("broadcast", 0) == 0) {
      const bool exact = c.size() == 2 && (c[0] < 0 || M < 0 || c[0] == M) && (c[1] < 0 || N < 0 || c[1] == N);
      if (!exact) throwShape(node, "Gemm-6 without broadcast=1 needs C of shape " + dimsToString(mn) + " but got " + dimsToString(c));
    }
  }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = {M, N};
}

template <typename T>
void gemmTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& vy, KernelScratch& scratch) {
  using E = Elem<T>;
  using Cmp = typename E::Compute;
  const bool ta = node.attrInt("transA", 0) != 0, tb = node.attrInt("transB", 0) != 0;
  const float alpha = node.attrFloat("alpha", 1.0f), beta = node.attrFloat("beta", 1.0f);
  const Dims& a = *in[0].shape;
  const Dims& b = *in[1].shape;
  const int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1], N = tb ? b[0] : b[1];
  if (M * N == 0) return;
  auto* Ystore = static_cast<typename E::Storage*>(vy.data);
  Cmp* Y = std::is_same_v<T, Cmp> ? reinterpret_cast<Cmp*>(Ystore)
                                  : KernelScratch::as<Cmp>(scratch.c, static_cast<size_t>(M * N));
  const bool hasC = in.size() > 2 && in[2].present() && beta != 0.0f;
  const auto* Cs = hasC ? static_cast<const typename E::Storage*>(in[2].data) : nullptr;
  int64_t cRows = 1, cCols = 1;
  if (hasC) {
    const Dims& c = *in[2].shape;
    if (c.size() == 2) cRows = c[0];
    if (!c.empty()) cCols = c[c.size() - 1];
  }
  if constexpr (std::is_same_v<Cmp, float>) {
    // sgemm reads transposed operands in place and folds alpha and beta*C into its epilogue.
    GemmArgs g;
    g.M = M, g.N = N, g.K = K;
    g.A = operand<T>(in[0].data, 1, M * K, false, scratch.a), g.lda = ta ? M : K, g.transA = ta;
    g.B = operand<T>(in[1].data, 1, K * N, false, scratch.b), g.ldb = tb ? K : N, g.transB = tb;
    g.C = Y, g.ldc = N, g.alpha = alpha, g.accumulate = hasC;
    if (hasC)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
          Y[i * N + j] = beta * E::load(Cs, static_cast<size_t>((cRows == 1 ? 0 : i) * cCols + (cCols == 1 ? 0 : j)));
    g.pool = scratch.pool;
    sgemm(g);
    if constexpr (!std::is_same_v<T, Cmp>)
      for (int64_t i = 0; i < M * N; ++i) E::store(Ystore, static_cast<size_t>(i), Y[i]);
    return;
  }
  const Cmp* A = operand<T>(in[0].data, M, K, ta, scratch.a);
  const Cmp* B = operand<T>(in[1].data, K, N, tb, scratch.b);
  gemmCore<Cmp>(A, B, Y, M, K, N, nullptr);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      Cmp y = Y[i * N + j];
      if (alpha != 1.0f) y = static_cast<Cmp>(alpha * y);
      if (hasC) {
        Cmp c = E::load(Cs, static_cast<size_t>((cRows == 1 ? 0 : i) * cCols + (cCols == 1 ? 0 : j)));
        y = wrapAdd(y, beta == 1.0f ? c : static_cast<Cmp>(beta * c));
      }
      E::store(Ystore, static_cast<size_t>(i * N + j), y);
    }
  }
}

void runGemm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
             KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gemmTyped<T>(node, in, out[0], scratch);
  });
}

}  // namespace

void registerMatMulOps(OpRegistry& registry) {
  registry.add({"MatMul", 1, kMaxReviewedOpset, inferMatMul, runMatMul, false, 1, 1, {{1, 2, 2}}});
  // Gemm-6 had a `broadcast` attribute gating C's broadcast (checked in inferGemm); older
  // versions differ in more ways and are not supported.
  // Gemm's C is required before opset 11 and optional from it.
  registry.add({"Gemm", 6, kMaxReviewedOpset, inferGemm, runGemm, false, 1, 1, {{6, 3, 3}, {11, 2, 3}}});
}

}  // namespace sim
}  // namespace tnrt
