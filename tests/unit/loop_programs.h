/* tests/unit/loop_programs.h: programs with loops over a run-time size T (compiled as loops, not
 * unrolled), loss(x: f32[B, T, d], y: i32[B]) with 4 classes. test_gradcheck.c checks their
 * gradients (B = 3, T = 5) and that T = 5 written out (unrolled) gives the same loss;
 * test_codegen.c runs their compiled gradients against the interpreter for several T.
 */
#ifndef NND_TEST_LOOP_PROGRAMS_H
#define NND_TEST_LOOP_PROGRAMS_H

static const char *const loop_programs[] = {
	/* an LSTM cell over T steps whose hidden states are yielded, then a tanh RNN over them
	   backwards (reverse, a sequence read at t, a stacked result read in iteration order) */
	"module Lstm(d: int, hd: int) {\n"
	"  param w_ih: f32[d, 4 * hd] = normal(std: 0.5)\n"
	"  param w_hh: f32[hd, 4 * hd] = normal(std: 0.5)\n"
	"  param b: f32[4 * hd] = normal(std: 0.1)\n"
	"  param w_r: f32[hd, hd] = normal(std: 0.5)\n"
	"  forward(x: f32[B, T, d]) -> f32[B, hd] {\n"
	"    let xw = x @ w_ih + b\n"
	"    let h = zeros([B, hd])\n"
	"    let c = zeros([B, hd])\n"
	"    let hs = for t in 0..T {\n"
	"      let (i, f, g, o) = chunk(xw[:, t] + h @ w_hh, 4, axis: 1)\n"
	"      c = sigmoid(f) * c + sigmoid(i) * tanh(g)\n"
	"      h = sigmoid(o) * tanh(c)\n"
	"      yield h\n"
	"    }\n"
	"    let r = h\n"
	"    let rs = for t in reverse(0..T) {\n"
	"      r = tanh(hs[t] @ w_r + r * 0.5)\n"
	"      yield r * hs[t]\n"
	"    }\n"
	"    return h + mean(cumsum(rs, axis: 0), axis: 0) + r\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Lstm(3, 4)\n"
	"  loss(x: f32[B, T, 3], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }\n"
	"}\n",
	/* a carried number and unrolled loops inside a loop, one rebinding a name of the loop's scope;
	   a range from 1 (t indexes by gathering); a loop of 20 (more than 16) inside a loop reading
	   the outer loop's sequence */
	"module M() {\n"
	"  param w: f32[4, 4] = normal(std: 0.5)\n"
	"  forward(x: f32[B, T, 4]) -> f32[B, 4] {\n"
	"    let acc = 0.0\n"
	"    let h = sum(x, axis: 1)\n"
	"    for t in 0..T {\n"
	"      acc = acc + sum(x[:, t])\n"
	"      let z = h @ w\n"
	"      let (a, b) = for j in 0..2 { yield (z * f32(j), z) }\n"
	"      h = tanh(a[1] + b[0] + x[:, t])\n"
	"    }\n"
	"    let s = h\n"
	"    for t in 0..T { let u = for j in 0..2 { s = s * 0.5 + x[:, t]; yield s } }\n"
	"    let (p, q) = for t in 1..T { yield (h * f32(t), sum(x[:, t], axis: 1)) }\n"
	"    let inner = for t in 0..T {\n"
	"      let hh = h\n"
	"      for k in 0..20 { hh = tanh(hh @ w * 0.5 + x[:, t]) }\n"
	"      yield hh\n"
	"    }\n"
	"    return h * acc * 0.1 + mean(p, axis: 0) + unsqueeze(mean(q, axis: 0), 1) + mean(inner, axis: 0) + 0.1 * s\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = M()\n"
	"  loss(x: f32[B, T, 4], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }\n"
	"}\n",
	/* functions with grad blocks (their true derivatives, so finite differences check the
	   inlining) called inside loops, forward and reverse; one has two tensor inputs */
	"fn act(z) { return tanh(z) } grad(z, dy) { return dy * (1.0 - tanh(z) * tanh(z)) }\n"
	"fn mul2(a, b, s: float) { return s * a * b } grad(a, b, dy) { return (s * dy * b, s * dy * a) }\n"
	"module R() {\n"
	"  param w: f32[4, 4] = normal(std: 0.5)\n"
	"  param u: f32[4, 4] = normal(std: 0.5)\n"
	"  forward(x: f32[B, T, 4]) -> f32[B, 4] {\n"
	"    let h = zeros([B, 4])\n"
	"    let hs = for t in 0..T {\n"
	"      h = act(x[:, t] @ u + h @ w)\n"
	"      yield h\n"
	"    }\n"
	"    let r = h\n"
	"    for t in reverse(0..T) { r = act(mul2(r, hs[t], 2.0) @ w + r) }\n"
	"    return act(r)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = R()\n"
	"  loss(x: f32[B, T, 4], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }\n"
	"}\n",
	/* a run-time if in each loop's body, on the step's input (both branches run across the steps);
	   the reverse loop's if gives a value */
	"module S() {\n"
	"  param w: f32[4, 4] = normal(std: 0.5)\n"
	"  param u: f32[4, 4] = normal(std: 0.5)\n"
	"  forward(x: f32[B, T, 4]) -> f32[B, 4] {\n"
	"    let h = zeros([B, 4])\n"
	"    for t in 0..T {\n"
	"      if mean(x[:, t]) > 0.0 { h = tanh(h @ w + x[:, t]) } else { h = h * 0.5 + x[:, t] @ u }\n"
	"    }\n"
	"    let hs = for t in reverse(0..T) {\n"
	"      yield if sum(x[:, t]) > 0.5 { h * x[:, t] } else { sigmoid(x[:, t] @ w) }\n"
	"    }\n"
	"    return h + mean(hs, axis: 0)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = S()\n"
	"  loss(x: f32[B, T, 4], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }\n"
	"}\n",
};

enum { NLOOP_PROGRAMS = sizeof loop_programs / sizeof *loop_programs };

/* Random numbers in loops over T: dropout of the carried state and of the input at each step, and
   randn, forward and reverse; the loss also stacks a dropout mask of ones and rand([256]) per
   iteration (mean(m) and mean(u): loop_outs f32[T, 4096], which the tests add as outputs). Each
   iteration draws other numbers, and its backward body the same ones: test_gradcheck.c checks the
   gradients and that masks differ from one iteration to the next, test_codegen.c that compiled
   masks, numbers and gradients equal the interpreter's. Needs the hyper-parameters step and seed. */
static const char loop_random_program[] =
	"module D() {\n"
	"  param w: f32[4, 4] = normal(std: 0.5)\n"
	"  param u: f32[4, 4] = normal(std: 0.5)\n"
	"  forward(x: f32[B, T, 4]) -> f32[B, 4] {\n"
	"    let h = zeros([B, 4])\n"
	"    for t in 0..T { h = tanh(dropout(x[:, t], p: 0.25) @ u + dropout(h, p: 0.5) @ w) }\n"
	"    let r = h\n"
	"    for t in reverse(0..T) { r = tanh(dropout(r @ w, p: 0.3) + 0.1 * randn([B, 4]) + x[:, t]) }\n"
	"    return h + r\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = D()\n"
	"  loss(x: f32[B, T, 4], y: i32[B]) -> f32 {\n"
	"    let (m, u) = for t in 0..T { yield (dropout(ones([4096]), p: 0.3), rand([4096])) }\n"
	"    return cross_entropy(model(x), y) + mean(m) + mean(u)\n"
	"  }\n"
	"}\n";

#endif
