/* tests/unit/test_parser.c: the lexer, the grammar, the AST dump and the diagnostics renderer.
 * Snippets -> expected AST dumps (lang/ast.c's format); every example of LANGUAGE.md parses;
 * syntax errors give the expected first message at the expected line:col; source spans; the
 * clang-style rendering of diagnostics.
 */
#include "lang/lang.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Buffers the helpers below return stay reachable here until the (forked) test exits */
static char *owned[1 << 12];
static int nowned;
static char *own(char *s)
{
	if (nowned < (int)(sizeof owned / sizeof *owned))
		owned[nowned++] = s;
	return s;
}

/* Parses text as t.nnd; returns the program, and in *diags what diag_flush printed */
static Ast *parse(Arena *a, const char *text, char **diags)
{
	diag_reset();
	diag_color = false;
	Ast *prog = parse_string(a, "t.nnd", text, strlen(text));
	size_t n;
	FILE *f = open_memstream(diags, &n);
	diag_flush(f);
	fclose(f);
	own(*diags);
	return prog;
}

static char *dump(const Ast *n)
{
	char *s;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	ast_dump(f, n, 0);
	fclose(f);
	return own(s);
}

/* ---- snippets and their dumps: 'e' an expression (as `const _ = E`), 's' statements of a fn ---- */

static const struct { char kind; const char *src, *want; } snippets[] = {
	{'e', "1 + 2 * 3", "(+ 1 (* 2 3))\n"},
	{'e', "(1 + 2) * 3", "(* (+ 1 2) 3)\n"},
	{'e', "a - b - c", "(- (- a b) c)\n"},
	{'e', "2 ** 3 ** 2", "(** 2 (** 3 2))\n"},
	{'e', "-x ** 2", "(neg (** x 2))\n"},
	{'e', "2 ** -1", "(** 2 (neg 1))\n"},
	{'e', "-a * b", "(* (neg a) b)\n"},
	{'e', "not a == b and c or d", "(or (and (not (== a b)) c) d)\n"},
	{'e', "a < b + 1", "(< a (+ b 1))\n"},
	{'e', "x @ w + b", "(+ (@ x w) b)\n"},
	{'e', "a % b / c", "(/ (% a b) c)\n"},
	{'e', "0..n - 1", "(range 0 (- n 1))\n"},
	{'e', "f(a, b, axis: 1, keepdim: true)", "(call f a b (named axis 1) (named keepdim true))\n"},
	{'e', "f()", "(call f)\n"},
	{'e', "m.fc(x).T", "(. (call (. m fc) x) T)\n"},
	{'e', "x[i]", "(index x i)\n"},
	{'e', "x[:, 0:10]", "(index x (slice _ _) (slice 0 10))\n"},
	{'e', "x[..., -1]", "(index x ... (neg 1))\n"},
	{'e', "x[::2]", "(index x (slice _ _ 2))\n"},
	{'e', "x[1:, :-1:2]", "(index x (slice 1 _) (slice _ (neg 1) 2))\n"},
	{'e', "[a, b,]", "(list a b)\n"},
	{'e', "[]", "(list)\n"},
	{'e', "[Block(d) for i in 0..n]", "(listcomp i (call Block d) (range 0 n))\n"},
	{'e', "(a, b)", "(tuple a b)\n"},
	{'e', "(a,)", "(tuple a)\n"},
	{'e', "((a))", "a\n"},
	{'e', "\"a\\\"b\\n\"", "\"a\\\"b\\n\"\n"},
	{'e', "3.", "3.0\n"},
	{'e', "1e-3", "0.001\n"},
	{'e', "0.5", "0.5\n"},
	{'e', "0x10", "16\n"},
	{'e', "true", "true\n"},
	{'e', "false", "false\n"},
	{'e', "in", "in\n"},
	{'e', "reverse(0..T)", "(call reverse (range 0 T))\n"},
	{'e', "f(x,\n  y)", "(call f x y)\n"},
	{'e', "a +\n  b", "(+ a b)\n"},
	{'s', "let x = 1", "(let x 1)\n"},
	{'s', "let (a, (b, c)) = f(x)", "(let (tuple a (tuple b c)) (call f x))\n"},
	{'s', "x = y; y = x", "(assign x y)\n(assign y x)\n"},
	{'s', "(a, b) = (b, a)", "(assign (tuple a b) (tuple b a))\n"},
	{'s', "s := 0.9 * s", "(update s (* 0.9 s))\n"},
	{'s', "bn.mean := m", "(update (. bn mean) m)\n"},
	{'s', "return", "(return)\n"},
	{'s', "return x", "(return x)\n"},
	{'s', "yield h", "(yield h)\n"},
	{'s', "metric acc = mean(x)", "(metric acc (call mean x))\n"},
	{'s', "f(x)", "(expr (call f x))\n"},
	{'s', "if a { x = 1 } else if b { x = 2 } else { x = 3 }", "(if a\n  (block\n    (assign x 1))\n  (if b\n    (block\n      (assign x 2))\n    (block\n      (assign x 3))))\n"},
	{'s', "if a {\nx = 1\n}\nelse {\nx = 2\n}", "(if a\n  (block\n    (assign x 1))\n  (block\n    (assign x 2)))\n"},
	{'s', "for i in 0..n { x = b(x) }", "(for i (range 0 n)\n  (block\n    (assign x (call b x))))\n"},
	{'s', "let hs = for t in reverse(0..T) {\n yield h\n }", "(let hs\n  (for t (call reverse (range 0 T))\n    (block\n      (yield h))))\n"},
	{'s', "let a = 1 /* a comment\nover lines */ let b = 2 // to the end\nlet c = 3", "(let a 1)\n(let b 2)\n(let c 3)\n"},
	{'s', "let a = f(x,\n  y) +\n  z; yield a", "(let a (+ (call f x y) z))\n(yield a)\n"},
	{'s', "let grad = 1\nlet from = 2\nlet frozen = grad", "(let grad 1)\n(let from 2)\n(let frozen grad)\n"},
	{'s', "let y = if training { a } else { b }", "(let y\n  (if training\n    (block\n      (expr a))\n    (block\n      (expr b))))\n"},
};

START_TEST(test_snippet)
{
	Arena *a = arena_new();
	const char *src = snippets[_i].src;
	char *text = snippets[_i].kind == 'e' ? arena_printf(a, "const _ = %s\n", src) : arena_printf(a, "fn _() {\n%s\n}\n", src);
	char *diags;
	Ast *prog = parse(a, text, &diags);
	ck_assert_msg(!diag_error_count(), "%s: %s", src, diags);
	ck_assert_int_eq(prog->list.n, 1);
	const char *got;
	if (snippets[_i].kind == 'e') {
		got = dump(prog->list.v[0]->a);
	} else {
		Ast *b = prog->list.v[0]->b;
		got = "";
		for (int i = 0; i < b->list.n; i++) {
			char *s = dump(b->list.v[i]);
			got = arena_printf(a, "%s%s", got, s);
		}
	}
	ck_assert_msg(!strcmp(got, snippets[_i].want), "%s\nwant:\n%s\ngot:\n%s", src, snippets[_i].want, got);
}
END_TEST

/* ---- whole programs ---- */

static const char prog_mlp[] =
	"import std.nn                       // Linear, Conv2d, BatchNorm2d, LSTM, ... (stdlib/nn.nnd)\n"
	"\n"
	"module Mlp(hidden: int = 256, classes: int = 10) {\n"
	"  fc1 = Linear(784, hidden)\n"
	"  fc2 = Linear(hidden, classes)\n"
	"\n"
	"  forward(x: f32[B, 784]) -> f32[B, classes] {\n"
	"    let h = relu(fc1(x))\n"
	"    return fc2(h)\n"
	"  }\n"
	"}\n"
	"\n"
	"train fashion {\n"
	"  model     = Mlp(hidden: 256)\n"
	"  data      = idx(\"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz\",\n"
	"                  \"/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz\")\n"
	"  valid     = idx(\"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\",\n"
	"                  \"/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz\")\n"
	"  batch     = 64\n"
	"  epochs    = 5\n"
	"  optimizer = sgd(lr: 0.05, momentum: 0.9, weight_decay: 5e-4)\n"
	"  schedule  = cosine(warmup: 200)\n"
	"\n"
	"  loss(x: u8[B, 28, 28], y: i32[B]) -> f32 {\n"
	"    let logits = model(reshape(x, [B, 784]) / 255.0)\n"
	"    metric accuracy = mean(f32(argmax(logits, axis: 1) == y))\n"
	"    return cross_entropy(logits, y)\n"
	"  }\n"
	"}\n";

static const char prog_mlp_dump[] =
	"(program\n"
	"  (import std.nn)\n"
	"  (module Mlp\n"
	"    (paramdecl hidden (type int) 256)\n"
	"    (paramdecl classes (type int) 10)\n"
	"    (sub fc1 (call Linear 784 hidden))\n"
	"    (sub fc2 (call Linear hidden classes))\n"
	"    (fn forward\n"
	"      (paramdecl x (type f32 [B 784]))\n"
	"      (returns (type f32 [B classes]))\n"
	"      (block\n"
	"        (let h (call relu (call fc1 x)))\n"
	"        (return (call fc2 h)))))\n"
	"  (train fashion\n"
	"    (field model (call Mlp (named hidden 256)))\n"
	"    (field data (call idx \"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz\" \"/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz\"))\n"
	"    (field valid (call idx \"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\" \"/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz\"))\n"
	"    (field batch 64)\n"
	"    (field epochs 5)\n"
	"    (field optimizer (call sgd (named lr 0.05) (named momentum 0.9) (named weight_decay 0.0005)))\n"
	"    (field schedule (call cosine (named warmup 200)))\n"
	"    (fn loss\n"
	"      (paramdecl x (type u8 [B 28 28]))\n"
	"      (paramdecl y (type i32 [B]))\n"
	"      (returns (type f32))\n"
	"      (block\n"
	"        (let logits (call model (/ (call reshape x (list B 784)) 255.0)))\n"
	"        (metric accuracy (call mean (call f32 (== (call argmax logits (named axis 1)) y))))\n"
	"        (return (call cross_entropy logits y))))))\n";

/* section 4, with the placeholders filled in */
static const char prog_decls[] =
	"import std.nn                 // the standard library's nn.nnd; its names become visible\n"
	"import std.nn as nn           // qualified: nn.Linear\n"
	"import \"blocks.nnd\"           // a file relative to this one\n"
	"const D = 128                 // compile-time constant\n"
	"\n"
	"fn gelu(x) = 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x * x * x)))\n"
	"fn swiglu(a: f32[..., N], b: f32[..., N]) -> f32[..., N] { return silu(a) * b }\n"
	"\n"
	"module Name(in: int, out: int, c: int, d: int, n: int) {\n"
	"  param weight: f32[out, in] = kaiming_uniform()    // trainable tensor with its initialiser\n"
	"  state running_mean: f32[c] = zeros()             // non-trained tensor saved in checkpoints\n"
	"  fc = Linear(in, out)                             // submodule\n"
	"  blocks = [Block(d) for i in 0..n]                // list of submodules, each with its own weights\n"
	"  forward(x: f32[B, in]) -> f32[B, out] { return fc(x) }                   // the function a call of the module runs\n"
	"  fn encode(x: f32[B, in]) -> f32[B, out] { return x }                 // further named entry points: m.encode(x)\n"
	"}\n";

/* section 5's loop, inside a function */
static const char prog_loop[] =
	"fn lstm(xw, w_hh, B, H, T) {\n"
	"let h = zeros([B, H]); let c = zeros([B, H])\n"
	"let hs = for t in 0..T {                 // hs: f32[T, B, H]\n"
	"  let (i, f, g, o) = chunk(xw[t] + h @ w_hh, 4, axis: 1)\n"
	"  c = sigmoid(f) * c + sigmoid(i) * tanh(g)\n"
	"  h = sigmoid(o) * tanh(c)\n"
	"  yield h\n"
	"}\n"
	"  return hs\n"
	"}\n";

static const char prog_grad[] =
	"fn round_ste(x) { return round(x) } grad(x, dy) { return dy }\n"
	"fn reverse_grad(x, s: float) { return x } grad(x, dy) { return -s * dy }\n";

static const char prog_train[] =
	"train name {\n"
	"  model     = Mlp(hidden: 256)                       // the model `name-infer` runs\n"
	"  teacher   = Big() from \"teacher.safetensors\" frozen // more models: loaded, frozen, shared\n"
	"  data      = SOURCE                                 // training set\n"
	"  valid     = SOURCE                                 // evaluated after every epoch (optional)\n"
	"  batch     = 64\n"
	"  epochs    = 5                                      // or: steps = 20000\n"
	"  seed      = 1\n"
	"  optimizer = adamw(lr: 3e-4, betas: (0.9, 0.95), weight_decay: 0.1)\n"
	"  schedule  = cosine(warmup: 200, min_lr: 1e-5)\n"
	"  clip_grad_norm = 1.0\n"
	"  grad_noise     = gaussian(eta: 0.3, gamma: 0.55)   // Neelakantan et al.: var = eta / (1+t)^gamma\n"
	"  freeze    = [model.backbone]                       // or: train_only = [model.lora]\n"
	"  optimizer model.alpha = adam(lr: 3e-4)             // a parameter group with its own optimiser\n"
	"  loss(x: f32[B, 3, 32, 32], y: i32[B]) -> f32 {\n"
	"    let (early, final) = model(x)\n"
	"    metric accuracy = mean(f32(argmax(final, axis: 1) == y))\n"
	"    return 0.3 * cross_entropy(early, y) + cross_entropy(final, y)\n"
	"  }\n"
	"}\n";

static const char prog_misc[] =
	"module Block(d: int, in: int = 3) {\n"
	"  if training {\n"
	"    drop = Dropout(0.1)\n"
	"  } else {\n"
	"    drop = Identity()\n"
	"  }\n"
	"  forward(x: f32[B, T, d]) -> (f32[B, T, d], f32[B]) {\n"
	"    running_mean := 0.9 * running_mean + 0.1 * mean(x, axis: 0)\n"
	"    if max(softmax(x, axis: 1)) > 0.9 { return (x, x) }\n"
	"    return (drop(x), x[:, 0, 0])\n"
	"  }\n"
	"}\n"
	"fn f(x: f32[..., 2*C], y: f32[B, H/2, L - k + 1], z: f32[]) -> f32 { return x }\n"
	"train t { model = Block(4); epochs = 1; teacher = Block(4) frozen\n"
	"  loss(x: f32[B, 4, 4]) -> f32 { return mean(model(x)) } }\n";

static const struct { const char *name, *src; } programs[] = {
	{"mlp", prog_mlp}, {"decls", prog_decls}, {"loop", prog_loop}, {"grad", prog_grad},
	{"train", prog_train}, {"misc", prog_misc},
};

START_TEST(test_program_parses)
{
	Arena *a = arena_new();
	char *diags;
	Ast *prog = parse(a, programs[_i].src, &diags);
	ck_assert_msg(!diag_error_count(), "%s: %s", programs[_i].name, diags);
	ck_assert_int_gt(prog->list.n, 0);
}
END_TEST

START_TEST(test_mlp_dump)
{
	Arena *a = arena_new();
	char *diags;
	Ast *prog = parse(a, prog_mlp, &diags);
	char *got = dump(prog);
	ck_assert_msg(!strcmp(got, prog_mlp_dump), "got:\n%s", got);
}
END_TEST

/* ---- syntax errors: the first message ---- */

static const struct { const char *src, *want; } errors[] = {
	{"fn f(x) {\n  let y = (x + )\n}\n", "t.nnd:2:16: error: expected an expression, found ')'"},
	{"fn f(x) {\n  let z = f(x, 2\n  return z\n}\n", "t.nnd:2:17: error: expected ')' to close '(' opened at 2:12, found newline"},
	{"module M(a: int) {\n  fc = Linear(1, 2)\n", "t.nnd:2:20: error: expected '}' to close 'module' opened at 1:1, found end of file"},
	{"fn f(x) { return x y }\n", "t.nnd:1:20: error: expected newline or ';', found identifier 'y'"},
	{"fn f(x) {\n  let = 3\n}\n", "t.nnd:2:7: error: expected identifier, found '='"},
	{"module M {\n  let x = 1\n}\n", "t.nnd:2:3: error: expected a module item (param, state, forward, fn or 'name = ...'), found 'let'"},
	{"let x = 1\n", "t.nnd:1:1: error: expected a declaration (import, const, fn, module or train), found 'let'"},
	{"train t {\n  42\n}\n", "t.nnd:2:3: error: expected a recipe field ('name = ...') or a function, found number '42'"},
	{"fn f(x) {\n  return x[1, 2\n}\n", "t.nnd:3:1: error: expected ']' to close '[' opened at 2:11, found '}'"},
	{"fn f(x) {\n  return f(x]\n}\n", "t.nnd:2:13: error: expected ')' to close '(' opened at 2:11, found ']'"},
	{"fn f(x) {\n  x.a = 1\n}\n", "t.nnd:2:3: error: cannot assign to a field; state tensors are updated with ':='"},
	{"fn f(x) {\n  f(x) := 1\n}\n", "t.nnd:2:3: error: ':=' updates a state tensor; expected a name or a field such as 'bn.running_mean'"},
	{"fn f(x) {\n  return f(axis: 1, x)\n}\n", "t.nnd:2:21: error: positional argument after a named argument"},
	{"const s = \"abc\n", "t.nnd:1:11: error: unterminated string: '\"' has no matching '\"' on its line"},
	{"const a = 1 $\n", "t.nnd:1:13: error: unexpected character '$'"},
	{"/* never closed\nconst a = 1\n", "t.nnd:1:1: error: unterminated comment: '/*' has no matching '*/'"},
	{"fn f(x) { return x } gard(x, dy) { return dy }\n", "t.nnd:1:22: error: expected 'grad' or newline after a function body, found identifier 'gard'"},
	{"train t {\n  teacher = Big() form \"t.safetensors\"\n}\n", "t.nnd:2:19: error: expected 'from' or newline after a recipe field's value, found identifier 'form'"},
	{"fn f(x: f32[B, ) { return x }\n", "t.nnd:1:16: error: expected ']' to close '[' opened at 1:12, found ')'"},
	{"fn f(x) -> { return x }\n", "t.nnd:1:12: error: expected identifier, found '{'"},
	{"import\n", "t.nnd:1:7: error: expected identifier or string, found end of file"},
	{"module M(a: int) {\n  param w f32[3]\n}\n", "t.nnd:2:11: error: expected ':', found identifier 'f32'"},
	{"fn f(x) {\n  for i 0..n { }\n}\n", "t.nnd:2:9: error: expected 'in', found number '0'"},
	{"fn f(x) {\n  if x { return 1 } else return 2\n}\n", "t.nnd:2:26: error: expected 'if' or '{', found 'return'"},
	{"const x = 99999999999999999999\n", "t.nnd:1:11: error: integer '99999999999999999999' is too large"},
	{"const s = \"a\\qb\"\n", "t.nnd:1:13: error: unknown escape sequence '\\q' in string"},
	{"fn f(x) {\n  let y = 1 +\n}\n", "t.nnd:3:1: error: expected an expression, found '}'"},
	{"const a = (1, 2\nconst b = 3\n", "t.nnd:1:16: error: expected ')' to close '(' opened at 1:11, found newline"},
	{"fn f(x) {\n  if x {\n    return 1\n", "t.nnd:3:13: error: expected '}' to close 'if' opened at 2:3, found end of file"},
	{"const a = 1\0", "t.nnd:1:12: error: unexpected byte 0x00"},
};

START_TEST(test_error)
{
	Arena *a = arena_new();
	char *diags;
	const char *src = errors[_i].src;
	size_t len = strlen(src) + (src[strlen(src) - 1] == '1'); /* the NUL case keeps its NUL */
	diag_reset();
	diag_color = false;
	parse_string(a, "t.nnd", src, len);
	size_t n;
	FILE *f = open_memstream(&diags, &n);
	diag_flush(f);
	fclose(f);
	own(diags);
	ck_assert_int_gt(diag_error_count(), 0);
	char *nl = strchr(diags, '\n');
	if (nl)
		*nl = 0;
	ck_assert_str_eq(diags, errors[_i].want);
}
END_TEST

/* several errors in one run, and what was good is kept */
START_TEST(test_recovery)
{
	Arena *a = arena_new();
	char *diags;
	Ast *prog = parse(a,
		"fn f(x) {\n  let y = (x + )\n  return x\n}\n"
		"module M(a: int) {\n  fc = Linear(1, 2)\n  param w: f32[3] = zeros() 3\n  fc3 = Linear(1, 2)\n}\n"
		"const c = )\n"
		"train t {\n  42\n  epochs = 1\n}\n", &diags);
	ck_assert_int_eq(diag_error_count(), 4);
	ck_assert_int_eq(prog->list.n, 3); /* f, M, t: the bad const is dropped */
	ck_assert_int_eq(prog->list.v[0]->b->list.n, 1);  /* return x */
	ck_assert_int_eq(prog->list.v[1]->list2.n, 2);    /* fc, fc3 */
	ck_assert_int_eq(prog->list.v[2]->list.n, 1);     /* epochs */
}
END_TEST

/* ---- source spans ---- */

START_TEST(test_locations)
{
	Arena *a = arena_new();
	char *diags;
	Ast *prog = parse(a, "fn f(x) {\n  let y = x @ w2 + b\n  return f(y,\n    2)\n}\n", &diags);
	Ast *fn = prog->list.v[0];
	ck_assert_str_eq(fn->loc.file, "t.nnd");
	ck_assert_ptr_eq(fn->loc.file, str_intern("t.nnd"));
	ck_assert_int_eq(fn->loc.line, 1);
	ck_assert_int_eq(fn->loc.col, 1);
	ck_assert_int_eq(fn->loc.end_line, 5);
	ck_assert_int_eq(fn->loc.end_col, 1);
	Ast *let = fn->b->list.v[0];
	ck_assert_int_eq(let->loc.col, 3);
	ck_assert_int_eq(let->loc.end_col, 20);
	Ast *add = let->b, *mm = add->a;
	ck_assert_int_eq(add->loc.col, 11);
	ck_assert_int_eq(add->loc.end_col, 20);
	ck_assert_int_eq(mm->loc.col, 11);
	ck_assert_int_eq(mm->loc.end_col, 16);
	ck_assert_int_eq(mm->b->loc.col, 15);
	ck_assert_int_eq(mm->b->loc.end_col, 16);
	Ast *call = fn->b->list.v[1]->a;
	ck_assert_int_eq(call->loc.line, 3);
	ck_assert_int_eq(call->loc.col, 10);
	ck_assert_int_eq(call->loc.end_line, 4);
	ck_assert_int_eq(call->loc.end_col, 6);
}
END_TEST

/* ---- the renderer ---- */

START_TEST(test_render)
{
	diag_reset();
	diag_color = false;
	const char *src = "fn f() {\n  y = x @ w2\n}\n";
	diag_source_add("mlp.nnd", src, strlen(src));
	diag_error((Loc){"mlp.nnd", 2, 7, 2, 12}, "matmul inner dimensions differ: %s", "f32[B, 64] @ f32[32, 10]");
	diag_note((Loc){"mlp.nnd", 1, 1, 1, 2}, "'w2' declared here");
	diag_warning((Loc){"other.nnd", 3, 1, 3, 1}, "no source");
	diag_error((Loc){"x.nnd", 0, 0, 0, 0}, "cannot open 'x.nnd'");
	ck_assert_int_eq(diag_error_count(), 2);
	char *out;
	size_t n;
	FILE *f = open_memstream(&out, &n);
	diag_flush(f);
	fclose(f);
	own(out);
	ck_assert_str_eq(out,
		"mlp.nnd:2:7: error: matmul inner dimensions differ: f32[B, 64] @ f32[32, 10]\n"
		"    2 |   y = x @ w2\n"
		"      |       ^~~~~~\n"
		"mlp.nnd:1:1: note: 'w2' declared here\n"
		"    1 | fn f() {\n"
		"      | ^~\n"
		"other.nnd:3:1: warning: no source\n"
		"x.nnd: error: cannot open 'x.nnd'\n");
	/* flushed diagnostics are forgotten, the count stays until diag_reset */
	f = open_memstream(&out, &n);
	diag_flush(f);
	fclose(f);
	own(out);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(diag_error_count(), 2);
	diag_reset();
	ck_assert_int_eq(diag_error_count(), 0);
}
END_TEST

START_TEST(test_render_color_and_tabs)
{
	diag_reset();
	diag_color = true;
	const char *src = "\tlet a = b\n";
	diag_source_add("t.nnd", src, strlen(src));
	diag_error((Loc){"t.nnd", 1, 10, 1, 10}, "oops");
	char *out;
	size_t n;
	FILE *f = open_memstream(&out, &n);
	diag_flush(f);
	fclose(f);
	own(out);
	ck_assert_msg(strstr(out, "\033[1;31merror:") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "      | \t        \033[1;32m^") != NULL, "%s", out);
	diag_color = false;
}
END_TEST

START_TEST(test_missing_file)
{
	diag_reset();
	diag_color = false;
	Arena *a = arena_new();
	ck_assert_ptr_null(parse_file(a, "/nonexistent/x.nnd"));
	char *out;
	size_t n;
	FILE *f = open_memstream(&out, &n);
	diag_flush(f);
	fclose(f);
	own(out);
	ck_assert_str_eq(out, "/nonexistent/x.nnd: error: cannot open '/nonexistent/x.nnd': No such file or directory\n");
}
END_TEST

START_TEST(test_tables)
{
	for (int k = 0; k < A_KIND_COUNT; k++)
		ck_assert_msg(ast_kind_name[k] != NULL, "ast_kind_name[%d] missing", k);
	for (int k = 0; k < AOP_COUNT; k++)
		ck_assert_msg(aop_text[k] != NULL, "aop_text[%d] missing", k);
	ck_assert_str_eq(aop_text[AOP_MATMUL], "@");
}
END_TEST

#define N(x) (int)(sizeof(x) / sizeof(x)[0])

int main(void)
{
	Suite *s = suite_create("parser");
	TCase *tc = tcase_create("parser");
	tcase_add_loop_test(tc, test_snippet, 0, N(snippets));
	tcase_add_loop_test(tc, test_program_parses, 0, N(programs));
	tcase_add_test(tc, test_mlp_dump);
	tcase_add_loop_test(tc, test_error, 0, N(errors));
	tcase_add_test(tc, test_recovery);
	tcase_add_test(tc, test_locations);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_render_color_and_tabs);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_tables);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
