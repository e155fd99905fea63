// oneDNN kernels for TensorFlow.js's wasm back end. Every function works in place on the wasm
// heap: JavaScript passes the heap's ArrayBuffer and byte offsets of NHWC activations and HWIO
// filters (tfjs's layouts), so nothing is copied across the boundary. Primitives (and their
// scratch memory) are created once per shape and cached.
#include <napi.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

engine& cpu() {
  static engine e(engine::kind::cpu, 0);
  return e;
}

stream& cpuStream() {
  static stream s(cpu());
  return s;
}

float* at(Napi::ArrayBuffer heap, int64_t offset) {
  return reinterpret_cast<float*>(static_cast<uint8_t*>(heap.Data()) + offset);
}

memory::dims dims(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  memory::dims out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

int64_t num(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

std::string key(const std::vector<memory::dims>& parts, const std::string& extra) {
  std::ostringstream s;
  for (const auto& p : parts) {
    for (auto d : p) s << d << ',';
    s << ';';
  }
  s << extra;
  return s.str();
}

// NHWC tensor [n, h, w, c] as oneDNN's logical {n, c, h, w} in nhwc layout.
memory::desc nhwc(const memory::dims& s) { return memory::desc({s[0], s[3], s[1], s[2]}, dt::f32, tag::nhwc); }

// Convolution geometry shared by the three convolution kernels. A depthwise convolution (tfjs's
// filter [kh, kw, C, m], output C·m channels) is oneDNN's grouped convolution with C groups of one
// input channel each; its weights {C, m, 1, kh, kw} in `hwigo` are exactly tfjs's layout.
struct ConvGeometry {
  memory::dims x, w, y, strides, dilations, padL, padR;
  bool depthwise = false;
  std::string str() const { return key({x, w, y, strides, dilations, padL, padR}, depthwise ? "d" : ""); }
  // Logical weight dims: {o, i, kh, kw}, or {groups, o/group, i/group, kh, kw} for depthwise.
  memory::dims weightDims() const {
    return depthwise ? memory::dims{w[2], w[3], 1, w[0], w[1]} : memory::dims{w[3], w[2], w[0], w[1]};
  }
  // tfjs's filter layout on the heap.
  memory::desc userWeights() const { return memory::desc(weightDims(), dt::f32, depthwise ? tag::hwigo : tag::hwio); }
  memory::desc anyWeights() const { return memory::desc(weightDims(), dt::f32, tag::any); }
  int64_t outChannels() const { return y[3]; }
};

ConvGeometry readGeometry(const Napi::Object& o) {
  ConvGeometry g;
  g.x = dims(o.Get("x"));
  g.w = dims(o.Get("w"));
  g.y = dims(o.Get("y"));
  g.strides = dims(o.Get("strides"));
  memory::dims d = dims(o.Get("dilations"));
  g.dilations = {d[0] - 1, d[1] - 1};  // oneDNN counts dilation from 0
  g.padL = dims(o.Get("padL"));
  g.padR = dims(o.Get("padR"));
  Napi::Value dw = o.Get("depthwise");
  g.depthwise = dw.IsBoolean() && dw.As<Napi::Boolean>().Value();
  return g;
}

convolution_forward::desc forwardDesc(const ConvGeometry& g, bool bias, prop_kind kind) {
  memory::desc wAny = g.anyWeights();
  if (bias) {
    return convolution_forward::desc(kind, algorithm::convolution_direct, nhwc(g.x), wAny,
                                     memory::desc({g.outChannels()}, dt::f32, tag::x), nhwc(g.y), g.strides, g.dilations, g.padL,
                                     g.padR);
  }
  return convolution_forward::desc(kind, algorithm::convolution_direct, nhwc(g.x), wAny, nhwc(g.y), g.strides, g.dilations, g.padL, g.padR);
}

// The implementation oneDNN chose for each primitive created so far (e.g. "jit:avx512_core", "jit_dw:avx2", "gemm:jit"), by kind and geometry.
std::vector<std::pair<std::string, std::string>> chosenImpls;

template <typename PD>
void noteImpl(const std::string& kind, const std::string& k, const PD& pd) {
  chosenImpls.emplace_back(kind + " " + k, pd.impl_info_str());
}

// Runs `reorder` from a user layout into a primitive's preferred one when they differ.
struct Reordered {
  memory mem;
  bool copied = false;
};

// A reorder primitive is compiled (jit) when it is created: creating one per call cost up to 7 ms
// under load for a 1,728-float filter whose reorder runs in 0.1 ms. They are cached by key.
std::unordered_map<std::string, reorder> reorders;

void runReorder(const memory& from, const memory& to, const std::string& k) {
  auto it = reorders.find(k);
  if (it == reorders.end()) it = reorders.emplace(k, reorder(from, to)).first;
  it->second.execute(cpuStream(), const_cast<memory&>(from), const_cast<memory&>(to));
}

Reordered maybeReorder(const memory& user, const memory::desc& wanted, std::unordered_map<std::string, memory>& scratch, const std::string& k) {
  if (user.get_desc() == wanted) return {user, false};
  auto it = scratch.find(k);
  if (it == scratch.end()) it = scratch.emplace(k, memory(wanted, cpu())).first;
  runReorder(user, it->second, k);
  return {it->second, true};
}

std::unordered_map<std::string, memory> scratchMemories;

// ---------------------------------------------------------------------------------------------
struct FwdEntry {
  convolution_forward::primitive_desc pd;
  convolution_forward prim;
};
std::unordered_map<std::string, std::shared_ptr<FwdEntry>> fwdCache;

// conv2dForward(heap, {x, w, y, strides, dilations, padL, padR, depthwise?, xOff, wOff, biasOff (-1 none), yOff,
//                      activation: "linear" | "relu" | "relu6"})
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  ConvGeometry g = readGeometry(o);
  int64_t biasOff = num(o.Get("biasOff"));
  std::string activation = o.Get("activation").As<Napi::String>().Utf8Value();
  if (activation != "linear" && activation != "relu" && activation != "relu6")
    throw Napi::Error::New(info.Env(), "conv2dForward: activation " + activation + " is not linear, relu or relu6");
  std::string k = g.str() + (biasOff >= 0 ? "b" : "") + activation;
  auto it = fwdCache.find(k);
  if (it == fwdCache.end()) {
    primitive_attr attr;
    if (activation != "linear") {
      post_ops po;
      // relu6 is min(max(x, 0), 6): oneDNN's clip to [0, 6].
      if (activation == "relu")
        po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      else
        po.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f);
      attr.set_post_ops(po);
    }
    auto pd = convolution_forward::primitive_desc(forwardDesc(g, biasOff >= 0, prop_kind::forward_inference), attr, cpu());
    noteImpl("forward", k, pd);
    it = fwdCache.emplace(k, std::make_shared<FwdEntry>(FwdEntry{pd, convolution_forward(pd)})).first;
  }
  auto& e = *it->second;
  memory x(nhwc(g.x), cpu(), at(heap, num(o.Get("xOff"))));
  memory wUser(g.userWeights(), cpu(), at(heap, num(o.Get("wOff"))));
  memory y(nhwc(g.y), cpu(), at(heap, num(o.Get("yOff"))));
  Reordered w = maybeReorder(wUser, e.pd.weights_desc(), scratchMemories, "fw" + k);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w.mem}, {DNNL_ARG_DST, y}};
  if (biasOff >= 0)
    args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.outChannels()}, dt::f32, tag::x), cpu(), at(heap, biasOff)));
  e.prim.execute(cpuStream(), args);
  cpuStream().wait();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
struct BwdDataEntry {
  convolution_backward_data::primitive_desc pd;
  convolution_backward_data prim;
};
std::unordered_map<std::string, std::shared_ptr<BwdDataEntry>> bwdDataCache;

// conv2dBackwardData(heap, {x (dx shape), w, y (dy shape), …, dyOff, wOff, dxOff})
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  ConvGeometry g = readGeometry(o);
  std::string k = g.str();
  auto it = bwdDataCache.find(k);
  if (it == bwdDataCache.end()) {
    auto hint = convolution_forward::primitive_desc(forwardDesc(g, false, prop_kind::forward_training), cpu());
    memory::desc dxAny({g.x[0], g.x[3], g.x[1], g.x[2]}, dt::f32, tag::any);
    memory::desc dyAny({g.y[0], g.y[3], g.y[1], g.y[2]}, dt::f32, tag::any);
    auto d = convolution_backward_data::desc(algorithm::convolution_direct, dxAny, g.anyWeights(), dyAny, g.strides, g.dilations, g.padL,
                                             g.padR);
    auto pd = convolution_backward_data::primitive_desc(d, cpu(), hint);
    noteImpl("backward-data", k, pd);
    it = bwdDataCache.emplace(k, std::make_shared<BwdDataEntry>(BwdDataEntry{pd, convolution_backward_data(pd)})).first;
  }
  auto& e = *it->second;
  memory dyUser(nhwc(g.y), cpu(), at(heap, num(o.Get("dyOff"))));
  memory wUser(g.userWeights(), cpu(), at(heap, num(o.Get("wOff"))));
  memory dxUser(nhwc(g.x), cpu(), at(heap, num(o.Get("dxOff"))));
  Reordered dy = maybeReorder(dyUser, e.pd.diff_dst_desc(), scratchMemories, "bd-dy" + k);
  Reordered w = maybeReorder(wUser, e.pd.weights_desc(), scratchMemories, "bd-w" + k);
  bool dxDirect = e.pd.diff_src_desc() == dxUser.get_desc();
  memory dx = dxDirect ? dxUser : (scratchMemories.count("bd-dx" + k) ? scratchMemories.at("bd-dx" + k) : scratchMemories.emplace("bd-dx" + k, memory(e.pd.diff_src_desc(), cpu())).first->second);
  e.prim.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, dy.mem}, {DNNL_ARG_WEIGHTS, w.mem}, {DNNL_ARG_DIFF_SRC, dx}});
  if (!dxDirect) runReorder(dx, dxUser, "bd-dx-out" + k);
  cpuStream().wait();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
struct BwdWeightsEntry {
  convolution_backward_weights::primitive_desc pd;
  convolution_backward_weights prim;
};
std::unordered_map<std::string, std::shared_ptr<BwdWeightsEntry>> bwdWeightsCache;

// conv2dBackwardWeights(heap, {x, w (dw shape), y (dy shape), …, xOff, dyOff, dwOff})
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  ConvGeometry g = readGeometry(o);
  std::string k = g.str();
  auto it = bwdWeightsCache.find(k);
  if (it == bwdWeightsCache.end()) {
    auto hint = convolution_forward::primitive_desc(forwardDesc(g, false, prop_kind::forward_training), cpu());
    memory::desc xAny({g.x[0], g.x[3], g.x[1], g.x[2]}, dt::f32, tag::any);
    memory::desc dyAny({g.y[0], g.y[3], g.y[1], g.y[2]}, dt::f32, tag::any);
    auto d = convolution_backward_weights::desc(algorithm::convolution_direct, xAny, g.anyWeights(), dyAny, g.strides, g.dilations,
                                                g.padL, g.padR);
    auto pd = convolution_backward_weights::primitive_desc(d, cpu(), hint);
    noteImpl("backward-weights", k, pd);
    it = bwdWeightsCache.emplace(k, std::make_shared<BwdWeightsEntry>(BwdWeightsEntry{pd, convolution_backward_weights(pd)})).first;
  }
  auto& e = *it->second;
  memory xUser(nhwc(g.x), cpu(), at(heap, num(o.Get("xOff"))));
  memory dyUser(nhwc(g.y), cpu(), at(heap, num(o.Get("dyOff"))));
  memory dwUser(g.userWeights(), cpu(), at(heap, num(o.Get("dwOff"))));
  Reordered x = maybeReorder(xUser, e.pd.src_desc(), scratchMemories, "bw-x" + k);
  Reordered dy = maybeReorder(dyUser, e.pd.diff_dst_desc(), scratchMemories, "bw-dy" + k);
  bool dwDirect = e.pd.diff_weights_desc() == dwUser.get_desc();
  memory dw = dwDirect ? dwUser : (scratchMemories.count("bw-dw" + k) ? scratchMemories.at("bw-dw" + k) : scratchMemories.emplace("bw-dw" + k, memory(e.pd.diff_weights_desc(), cpu())).first->second);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DIFF_DST, dy.mem}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  if (!dwDirect) runReorder(dw, dwUser, "bw-dw-out" + k);
  cpuStream().wait();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
struct MatMulEntry {
  matmul::primitive_desc pd;
  matmul prim;
};
std::unordered_map<std::string, std::shared_ptr<MatMulEntry>> matmulCache;

// matMul(heap, {batch, m, k, n, transposeA, transposeB, aOff, bOff, biasOff (-1), relu, cOff})
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  int64_t B = num(o.Get("batch")), M = num(o.Get("m")), K = num(o.Get("k")), N = num(o.Get("n"));
  bool ta = o.Get("transposeA").As<Napi::Boolean>().Value(), tb = o.Get("transposeB").As<Napi::Boolean>().Value();
  int64_t biasOff = num(o.Get("biasOff"));
  bool relu = o.Get("relu").As<Napi::Boolean>().Value();
  memory::desc a({B, M, K}, dt::f32, ta ? tag::acb : tag::abc);
  memory::desc b({B, K, N}, dt::f32, tb ? tag::acb : tag::abc);
  memory::desc c({B, M, N}, dt::f32, tag::abc);
  memory::desc bias({1, 1, N}, dt::f32, tag::abc);
  std::string k = key({{B, M, K, N}}, std::string(ta ? "a" : "") + (tb ? "b" : "") + (biasOff >= 0 ? "+" : "") + (relu ? "r" : ""));
  auto it = matmulCache.find(k);
  if (it == matmulCache.end()) {
    primitive_attr attr;
    if (relu) {
      post_ops po;
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    auto d = biasOff >= 0 ? matmul::desc(a, b, bias, c) : matmul::desc(a, b, c);
    auto pd = matmul::primitive_desc(d, attr, cpu());
    it = matmulCache.emplace(k, std::make_shared<MatMulEntry>(MatMulEntry{pd, matmul(pd)})).first;
  }
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(a, cpu(), at(heap, num(o.Get("aOff"))))},
                                       {DNNL_ARG_WEIGHTS, memory(b, cpu(), at(heap, num(o.Get("bOff"))))},
                                       {DNNL_ARG_DST, memory(c, cpu(), at(heap, num(o.Get("cOff"))))}};
  if (biasOff >= 0) args.emplace(DNNL_ARG_BIAS, memory(bias, cpu(), at(heap, biasOff)));
  it->second->prim.execute(cpuStream(), args);
  cpuStream().wait();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Plain OpenMP loops for the memory-bound steps around convolutions in training, where a oneDNN
// primitive's fixed cost (or its unvectorised plain-layout reduction) loses to a simple loop.

// addBias(heap, {rows, channels, xOff, bOff, yOff}): y[r, c] = x[r, c] + b[c]
Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t rows = num(o.Get("rows")), channels = num(o.Get("channels"));
  const float* x = at(heap, num(o.Get("xOff")));
  const float* b = at(heap, num(o.Get("bOff")));
  float* y = at(heap, num(o.Get("yOff")));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) yr[c] = xr[c] + b[c];
  }
  return info.Env().Undefined();
}

// sumRows(heap, {rows, channels, xOff, yOff}): y[c] = Σ_r x[r, c] (each thread sums a slice of
// rows into its own accumulator, then the accumulators are added in thread order: deterministic
// for a fixed thread count).
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t rows = num(o.Get("rows")), channels = num(o.Get("channels"));
  const float* x = at(heap, num(o.Get("xOff")));
  float* y = at(heap, num(o.Get("yOff")));
  const int threads = omp_get_max_threads();
  std::vector<double> partial(static_cast<size_t>(threads) * channels, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int n = omp_get_num_threads();
    double* acc = partial.data() + static_cast<size_t>(t) * channels;
    const int64_t begin = rows * t / n, end = rows * (t + 1) / n;
    for (int64_t r = begin; r < end; r++) {
      const float* xr = x + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) acc[c] += xr[c];
    }
  }
  for (int64_t c = 0; c < channels; c++) {
    double total = 0;
    for (int t = 0; t < threads; t++) total += partial[static_cast<size_t>(t) * channels + c];
    y[c] = static_cast<float>(total);
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Batch normalisation over the channels of an NHWC map, seen as [rows, C] (rows = N·H·W).
// Per-channel sums run in double over a fixed number of row blocks that do not depend on the
// thread count and are added in block order: the results are the same at any thread count.
constexpr int64_t kSumBlocks = 64;

// sums[j·C + c] = Σ_r f(r, c, j) for j < terms, over every row.
template <int Terms, typename F>
void channelSums(int64_t rows, int64_t C, F f, double* sums) {
  const int64_t blocks = std::max<int64_t>(1, std::min(kSumBlocks, rows));
  std::vector<double> partial(static_cast<size_t>(blocks * Terms * C), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    double* acc = partial.data() + b * Terms * C;
    const int64_t begin = rows * b / blocks, end = rows * (b + 1) / blocks;
    for (int64_t r = begin; r < end; r++) f(r, acc);
  }
  std::fill(sums, sums + Terms * C, 0.0);
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t i = 0; i < Terms * C; i++) sums[i] += partial[static_cast<size_t>(b * Terms * C + i)];
}

// y[r, c] = (x[r, c] − mean[c])·scale[c] + shift[c]: batch norm's last pass, in training and inference.
void normalise(const float* x, float* y, int64_t rows, int64_t C, const float* mean, const float* scale, const float* shift) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
  }
}

const float* optional(Napi::ArrayBuffer heap, const Napi::Object& o, const char* name) {
  const int64_t off = num(o.Get(name));
  return off >= 0 ? at(heap, off) : nullptr;
}

// batchNormTrain(heap, {rows, channels, epsilon, xOff, gammaOff (-1), betaOff (-1), yOff, meanOff, varianceOff}):
// the batch's mean and (biased) variance per channel, and y = (x − mean)·γ/√(variance + ε) + β;
// two passes over x (statistics, then y).
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t rows = num(o.Get("rows")), C = num(o.Get("channels"));
  const double eps = o.Get("epsilon").As<Napi::Number>().DoubleValue();
  const float* x = at(heap, num(o.Get("xOff")));
  const float* gamma = optional(heap, o, "gammaOff");
  const float* beta = optional(heap, o, "betaOff");
  float* y = at(heap, num(o.Get("yOff")));
  float* meanOut = at(heap, num(o.Get("meanOff")));
  float* varOut = at(heap, num(o.Get("varianceOff")));
  // One pass for Σx and Σx² per channel, in double: the variance Σx²/M − mean² keeps about 10
  // significant digits even where |mean| is 1,000 × the standard deviation.
  std::vector<double> sums(2 * C);
  channelSums<2>(rows, C, [&](int64_t r, double* acc) {
    const float* xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      const double v = xr[c];
      acc[c] += v;
      acc[C + c] += v * v;
    }
  }, sums.data());
  std::vector<float> mean(C), scale(C), shift(C);
  std::vector<double> sq(C);
  for (int64_t c = 0; c < C; c++) {
    const double m = sums[c] / static_cast<double>(rows);
    mean[c] = static_cast<float>(m);
    sq[c] = std::max(0.0, sums[C + c] - m * sums[c]);
  }
  for (int64_t c = 0; c < C; c++) {
    const double variance = sq[c] / static_cast<double>(rows);
    meanOut[c] = mean[c];
    varOut[c] = static_cast<float>(variance);
    scale[c] = static_cast<float>((gamma ? gamma[c] : 1.0) / std::sqrt(static_cast<double>(varOut[c]) + eps));
    shift[c] = beta ? beta[c] : 0.f;
  }
  normalise(x, y, rows, C, mean.data(), scale.data(), shift.data());
  return info.Env().Undefined();
}

// batchNormTrainGrad(heap, {rows, channels, epsilon, dyOff, xOff, meanOff, varianceOff, gammaOff (-1),
//                           dMeanOff (-1), dVarianceOff (-1), dxOff, dGammaOff, dBetaOff}):
// the gradient of batchNormTrain's three outputs (y, mean, variance) with respect to x, γ and β.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t rows = num(o.Get("rows")), C = num(o.Get("channels"));
  const double eps = o.Get("epsilon").As<Napi::Number>().DoubleValue();
  const float* dy = at(heap, num(o.Get("dyOff")));
  const float* x = at(heap, num(o.Get("xOff")));
  const float* mean = at(heap, num(o.Get("meanOff")));
  const float* variance = at(heap, num(o.Get("varianceOff")));
  const float* gamma = optional(heap, o, "gammaOff");
  const float* dMean = optional(heap, o, "dMeanOff");
  const float* dVariance = optional(heap, o, "dVarianceOff");
  float* dx = at(heap, num(o.Get("dxOff")));
  float* dGamma = at(heap, num(o.Get("dGammaOff")));
  float* dBeta = at(heap, num(o.Get("dBetaOff")));
  // sums[c] = Σ dy, sums[C + c] = Σ dy·(x − mean).
  std::vector<double> sums(2 * C);
  channelSums<2>(rows, C, [&](int64_t r, double* acc) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      acc[c] += dyr[c];
      acc[C + c] += static_cast<double>(dyr[c]) * static_cast<double>(xr[c] - mean[c]);
    }
  }, sums.data());
  // dx = a·dy + b·(x − mean) + k per channel (see docs/design.md, batch norm in training).
  std::vector<float> a(C), b(C), k(C);
  const double M = static_cast<double>(rows);
  for (int64_t c = 0; c < C; c++) {
    const double rstd = 1.0 / std::sqrt(static_cast<double>(variance[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0;
    dBeta[c] = static_cast<float>(sums[c]);
    dGamma[c] = static_cast<float>(sums[C + c] * rstd);
    a[c] = static_cast<float>(g * rstd);
    b[c] = static_cast<float>(-g * rstd * rstd * rstd * sums[C + c] / M + (dVariance ? 2.0 * dVariance[c] / M : 0.0));
    k[c] = static_cast<float>(-g * rstd * sums[c] / M + (dMean ? dMean[c] / M : 0.0));
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
    float* dxr = dx + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) dxr[c] = a[c] * dyr[c] + b[c] * (xr[c] - mean[c]) + k[c];
  }
  return info.Env().Undefined();
}

// batchNormInference(heap, {rows, channels, epsilon, xOff, meanOff, varianceOff, scaleOff (-1), offsetOff (-1), yOff}):
// y = (x − mean)·scale/√(variance + ε) + offset with per-channel statistics (FusedBatchNorm).
Napi::Value BatchNormInference(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t rows = num(o.Get("rows")), C = num(o.Get("channels"));
  const float eps = static_cast<float>(o.Get("epsilon").As<Napi::Number>().DoubleValue());
  const float* x = at(heap, num(o.Get("xOff")));
  const float* mean = at(heap, num(o.Get("meanOff")));
  const float* variance = at(heap, num(o.Get("varianceOff")));
  const float* scaleIn = optional(heap, o, "scaleOff");
  const float* offset = optional(heap, o, "offsetOff");
  float* y = at(heap, num(o.Get("yOff")));
  std::vector<float> scale(C), shift(C);
  for (int64_t c = 0; c < C; c++) {
    scale[c] = (scaleIn ? scaleIn[c] : 1.f) / std::sqrt(variance[c] + eps);
    shift[c] = offset ? offset[c] : 0.f;
  }
  normalise(x, y, rows, C, mean, scale.data(), shift.data());
  return info.Env().Undefined();
}

// clip(heap, {size, lo, hi, xOff, yOff}): y = min(max(x, lo), hi), NaN stays NaN (ClipByValue).
Napi::Value Clip(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float lo = static_cast<float>(o.Get("lo").As<Napi::Number>().DoubleValue());
  const float hi = static_cast<float>(o.Get("hi").As<Napi::Number>().DoubleValue());
  const float* x = at(heap, num(o.Get("xOff")));
  float* y = at(heap, num(o.Get("yOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    y[i] = v < lo ? lo : (v > hi ? hi : v);
  }
  return info.Env().Undefined();
}

// clipGrad(heap, {size, lo, hi, dyOff, xOff, dxOff}): dx = lo ≤ x ≤ hi ? dy : 0 — ClipByValue's gradient
// (where(logicalAnd(x ≥ lo, x ≤ hi), dy, 0)) in one pass, to the bit.
Napi::Value ClipGrad(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float lo = static_cast<float>(o.Get("lo").As<Napi::Number>().DoubleValue());
  const float hi = static_cast<float>(o.Get("hi").As<Napi::Number>().DoubleValue());
  const float* dy = at(heap, num(o.Get("dyOff")));
  const float* x = at(heap, num(o.Get("xOff")));
  float* dx = at(heap, num(o.Get("dxOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    dx[i] = (v >= lo && v <= hi) ? dy[i] : 0.f;
  }
  return info.Env().Undefined();
}

// Pooling geometry (NHWC) shared by the pooling loops.
struct PoolGeometry {
  int64_t N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL;
};

PoolGeometry readPool(const Napi::Object& o) {
  const memory::dims xs = dims(o.Get("x")), ys = dims(o.Get("y")), kernel = dims(o.Get("kernel")), strides = dims(o.Get("strides")), padL = dims(o.Get("padL"));
  return {xs[0], xs[1], xs[2], xs[3], ys[1], ys[2], kernel[0], kernel[1], strides[0], strides[1], padL[0], padL[1]};
}

// Calls visit(offset of the input pixel within its image) for each in-bounds position of output
// pixel (oy, ox)'s window, in scan order.
template <typename Visit>
inline void forWindow(const PoolGeometry& g, int64_t oy, int64_t ox, Visit visit) {
  for (int64_t ky = 0; ky < g.KH; ky++) {
    const int64_t iy = oy * g.SH - g.PT + ky;
    if (iy < 0 || iy >= g.H) continue;
    for (int64_t kx = 0; kx < g.KW; kx++) {
      const int64_t ix = ox * g.SW - g.PL + kx;
      if (ix < 0 || ix >= g.W) continue;
      visit((iy * g.W + ix) * g.C);
    }
  }
}

// relu(heap, {size, xOff, yOff}): y = x > 0 ? x : 0, with NaN kept and −0 giving +0, as on the cpu back end.
Napi::Value Relu(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float* x = at(heap, num(o.Get("xOff")));
  float* y = at(heap, num(o.Get("yOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    y[i] = v > 0.f ? v : (v != v ? v : 0.f);
  }
  return info.Env().Undefined();
}

// reluGrad(heap, {size, dyOff, xOff, dxOff}): dx = dy · step(x), with step(x) = NaN for NaN, 1 for
// x > 0, else 0 — tfjs's Relu gradient (mul(dy, cast(step(x)))) in one pass, to the bit.
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float* dy = at(heap, num(o.Get("dyOff")));
  const float* x = at(heap, num(o.Get("xOff")));
  float* dx = at(heap, num(o.Get("dxOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    const float s = v > 0.f ? 1.f : (v != v ? v : 0.f);
    dx[i] = dy[i] * s;
  }
  return info.Env().Undefined();
}

// relu6(heap, {size, xOff, yOff}): y = min(max(0, x), 6), NaN kept and −0 giving +0, as on the cpu back end.
Napi::Value Relu6(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float* x = at(heap, num(o.Get("xOff")));
  float* y = at(heap, num(o.Get("yOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    y[i] = v > 0.f ? (v > 6.f ? 6.f : v) : (v != v ? v : 0.f);
  }
  return info.Env().Undefined();
}

// relu6Grad(heap, {size, dyOff, xOff, dxOff}): dx = dy · m with m = NaN for NaN, 1 for 0 < x ≤ 6, else 0 —
// tfjs's Relu6 gradient (mul(dy, cast(mul(lessEqual(x, 6), step(x))))) in one pass, to the bit.
Napi::Value Relu6Grad(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const int64_t size = num(o.Get("size"));
  const float* dy = at(heap, num(o.Get("dyOff")));
  const float* x = at(heap, num(o.Get("xOff")));
  float* dx = at(heap, num(o.Get("dxOff")));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < size; i++) {
    const float v = x[i];
    const float m = (v > 0.f && v <= 6.f) ? 1.f : (v != v ? v : 0.f);
    dx[i] = dy[i] * m;
  }
  return info.Env().Undefined();
}

// maxPool(heap, {x, y, kernel, strides, padL, xOff, yOff}): NHWC max pooling over the in-bounds
// part of each window, one image per task, vectorised over channels. NaN inputs are skipped
// (v > m is false), as on the cpu back end.
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const PoolGeometry g = readPool(o);
  const float* x = at(heap, num(o.Get("xOff")));
  float* y = at(heap, num(o.Get("yOff")));
  const int64_t C = g.C;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < g.N; n++) {
    const float* xn = x + n * g.H * g.W * C;
    for (int64_t oy = 0; oy < g.OH; oy++) {
      for (int64_t ox = 0; ox < g.OW; ox++) {
        float* yo = y + ((n * g.OH + oy) * g.OW + ox) * C;
        std::fill(yo, yo + C, -std::numeric_limits<float>::infinity());
        forWindow(g, oy, ox, [&](int64_t i0) {
          const float* xi = xn + i0;
#pragma omp simd
          for (int64_t c = 0; c < C; c++) {
            const float v = xi[c];
            const float m = yo[c];
            yo[c] = v > m ? v : m;
          }
        });
      }
    }
  }
  return info.Env().Undefined();
}

// maxPoolGradFromOutput(heap, {x, y, kernel, strides, padL, xOff, yOff, dyOff, dxOff}): each
// window sends dy to the first position (in scan order) whose input equals the window's output,
// which is the first maximum: the cpu kernel's and TensorFlow's rule, without recomputing. One
// image per task; the channel loop is branch-free so that it vectorises. When the windows tile
// the input exactly (kernel = stride, no padding: the usual 2×2 pooling) every input is written
// once, so dx needs no zero fill and no accumulation.
Napi::Value MaxPoolGradFromOutput(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Object o = info[1].As<Napi::Object>();
  const PoolGeometry g = readPool(o);
  const float* x = at(heap, num(o.Get("xOff")));
  const float* y = at(heap, num(o.Get("yOff")));
  const float* dy = at(heap, num(o.Get("dyOff")));
  float* dx = at(heap, num(o.Get("dxOff")));
  const int64_t C = g.C, image = g.H * g.W * C;
  const bool tiles = g.KH == g.SH && g.KW == g.SW && g.PT == 0 && g.PL == 0 && g.OH * g.SH == g.H && g.OW * g.SW == g.W;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < g.N; n++) {
    std::vector<int32_t> open(static_cast<size_t>(C));
    int32_t* taken = open.data();
    const float* xn = x + n * image;
    float* dxn = dx + n * image;
    if (!tiles) std::fill(dxn, dxn + image, 0.f);
    for (int64_t oy = 0; oy < g.OH; oy++) {
      for (int64_t ox = 0; ox < g.OW; ox++) {
        const int64_t o0 = ((n * g.OH + oy) * g.OW + ox) * C;
        const float* yo = y + o0;
        const float* dyo = dy + o0;
        std::fill(taken, taken + C, 0);
        forWindow(g, oy, ox, [&](int64_t i0) {
          const float* xi = xn + i0;
          float* dxi = dxn + i0;
          // Branch-free (the load of dy is unconditional) so that the loop vectorises.
          if (tiles) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
              const float grad = dyo[c];
              const int32_t hit = (xi[c] == yo[c]) & (taken[c] == 0);
              dxi[c] = hit ? grad : 0.f;
              taken[c] |= hit;
            }
          } else {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
              const float grad = dyo[c];
              const int32_t hit = (xi[c] == yo[c]) & (taken[c] == 0);
              dxi[c] += hit ? grad : 0.f;
              taken[c] |= hit;
            }
          }
        });
      }
    }
  }
  return info.Env().Undefined();
}

// implementations() → [[kind and geometry, oneDNN implementation], …] for every convolution primitive created.
Napi::Value Implementations(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env(), chosenImpls.size());
  for (size_t i = 0; i < chosenImpls.size(); i++) {
    Napi::Array pair = Napi::Array::New(info.Env(), 2);
    pair.Set(uint32_t{0}, chosenImpls[i].first);
    pair.Set(uint32_t{1}, chosenImpls[i].second);
    out.Set(static_cast<uint32_t>(i), pair);
  }
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  omp_set_num_threads(static_cast<int>(num(info[0])));
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", omp_get_max_threads());
  o.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb" : "other");
  return o;
}

// Wraps each entry point so that oneDNN's C++ exceptions reach JavaScript as errors.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const dnnl::error& e) {
    Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what()).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, guarded<Conv2dForward>));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, guarded<Conv2dBackwardData>));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, guarded<Conv2dBackwardWeights>));
  exports.Set("matMul", Napi::Function::New(env, guarded<MatMul>));
  exports.Set("addBias", Napi::Function::New(env, guarded<AddBias>));
  exports.Set("maxPoolGradFromOutput", Napi::Function::New(env, guarded<MaxPoolGradFromOutput>));
  exports.Set("sumRows", Napi::Function::New(env, guarded<SumRows>));
  exports.Set("relu", Napi::Function::New(env, guarded<Relu>));
  exports.Set("reluGrad", Napi::Function::New(env, guarded<ReluGrad>));
  exports.Set("relu6", Napi::Function::New(env, guarded<Relu6>));
  exports.Set("relu6Grad", Napi::Function::New(env, guarded<Relu6Grad>));
  exports.Set("maxPool", Napi::Function::New(env, guarded<MaxPool>));
  exports.Set("batchNormTrain", Napi::Function::New(env, guarded<BatchNormTrain>));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, guarded<BatchNormTrainGrad>));
  exports.Set("batchNormInference", Napi::Function::New(env, guarded<BatchNormInference>));
  exports.Set("clip", Napi::Function::New(env, guarded<Clip>));
  exports.Set("clipGrad", Napi::Function::New(env, guarded<ClipGrad>));
  exports.Set("implementations", Napi::Function::New(env, guarded<Implementations>));
  exports.Set("setThreads", Napi::Function::New(env, guarded<SetThreads>));
  exports.Set("info", Napi::Function::New(env, guarded<Info>));
  return exports;
}

}  // namespace

NODE_API_MODULE(transplant_onednn, Init)
