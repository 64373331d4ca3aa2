// twig's decoder product on WebGPU: out[n] = w[n×k]·x[k] (+ bias[n]).
// One workgroup per output row: 64 invocations stride over k, then a tree
// sum in workgroup memory. Rows past 65535 go to the second dispatch dimension.

struct Dims {
  k: u32,        // input features
  n: u32,        // output features (rows of w)
  has_bias: u32, // 1: add bias[row]
  _pad: u32,
};

@group(0) @binding(0) var<storage, read> w: array<f32>;        // [n, k]
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [k]
@group(0) @binding(2) var<storage, read> bias: array<f32>;     // [n] (or a dummy)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [n]
@group(0) @binding(4) var<uniform> dims: Dims;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x + wg.y * 65535u;
  if (row >= dims.n) {
    return;
  }
  let base = row * dims.k;
  var s = 0.0;
  for (var i = lid.x; i < dims.k; i = i + WG) {
    s = s + w[base + i] * x[i];
  }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid.x < stride) {
      partial[lid.x] = partial[lid.x] + partial[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    var r = partial[0];
    if (dims.has_bias == 1u) {
      r = r + bias[row];
    }
    out[row] = r;
  }
}
