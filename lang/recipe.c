/* lang/recipe.c: a program's `train` recipe -> a Prog: the recipe's settings, the parameters of
 * its model, and the graphs the executables need:
 *   loss     the recipe's loss with `training` true: outputs loss, then every metric
 *   eval     the same with `training` false
 *   predict  the loss's inputs the model needs -> the model's output (training false)
 * The training step is made from `loss` by passes/autodiff.c and passes/update.c.
 */
#include "lang/lang.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static Ast *find_field(Ast *train, const char *name)
{
	Ast *found = NULL;
	for (int i = 0; i < train->list.n; i++) {
		Ast *f = train->list.v[i];
		if (f->name && !strcmp(f->name, name) && !(f->kind == A_FIELD && f->b))
			found = f;
	}
	return found;
}

static bool field_int(Elab *e, Scope *s, Ast *train, const char *name, int64_t *out, int64_t min)
{
	Ast *f = find_field(train, name);
	if (!f)
		return true;
	Value *v = elab_expr(e, s, f->a);
	if (v->k != V_INT || v->i < min) {
		if (v->k != V_ERR)
			diag_error(f->a->loc, "recipe field '%s' must be an integer >= %lld, found %s", name, (long long)min, val_describe(e, v));
		return false;
	}
	*out = v->i;
	return true;
}

static bool num_value(Elab *e, Value *v, double *out, const char *what, Loc loc)
{
	if (v->k == V_INT || v->k == V_FLOAT) {
		*out = v->k == V_INT ? (double)v->i : v->f;
		return true;
	}
	if (v->k == V_BOOL) {
		*out = (double)v->i;
		return true;
	}
	if (v->k != V_ERR)
		diag_error(loc, "%s must be a number, found %s", what, val_describe(e, v));
	return false;
}

/* One argument's value into outs[k] ("betas": a pair into outs[k], outs[k + 1]); returns the
   number of outs filled, 0 on error */
static int recipe_arg(Elab *e, Value *v, const char *name, double *outs, Loc loc)
{
	if (strcmp(name, "betas") != 0)
		return num_value(e, v, outs, name, loc) ? 1 : 0;
	if (v->k != V_TUPLE || v->list.n != 2) {
		if (v->k != V_ERR)
			diag_error(loc, "betas must be a pair such as (0.9, 0.999), found %s", val_describe(e, v));
		return 0;
	}
	return num_value(e, v->list.v[0], &outs[0], name, loc) && num_value(e, v->list.v[1], &outs[1], name, loc) ? 2 : 0;
}

/* A call of a named recipe function with compile-time arguments, as `sgd(lr: 0.1)`: positional
   in the order of names, or named. names: the allowed argument names ("betas" appears twice:
   it fills two outs); outs receive their values (left alone when absent, NaN after an error in
   the argument, which is reported: its checks are skipped). false after any error. */
static bool recipe_call(Elab *e, Scope *s, Ast *x, const char *kind, const char *fn, const char *const *names,
                        double *outs)
{
	if (x->kind == A_IDENT)
		return true; /* a bare name: every default */
	bool ok = true;
	int k = 0;
	for (int i = 0; i < x->list.n; i++) {
		if (!names[k]) {
			diag_error(x->list.v[i]->loc, "too many arguments to %s '%s'", kind, fn);
			return false;
		}
		int got = recipe_arg(e, elab_expr(e, s, x->list.v[i]), names[k], &outs[k], x->list.v[i]->loc);
		if (!got) {
			got = !strcmp(names[k], "betas") ? 2 : 1;
			outs[k] = outs[k + got - 1] = NAN;
			ok = false;
		}
		k += got;
	}
	for (int j = 0; j < x->list2.n; j++) {
		Ast *a = x->list2.v[j];
		int k = -1;
		for (int i = 0; names[i] && k < 0; i++)
			if (!strcmp(names[i], a->name))
				k = i;
		if (k < 0) {
			diag_error(a->loc, "%s '%s' has no parameter named '%s'", kind, fn, a->name);
			ok = false;
		} else if (!recipe_arg(e, elab_expr(e, s, a->a), a->name, &outs[k], a->loc)) {
			outs[k] = outs[k + !strcmp(a->name, "betas")] = NAN;
			ok = false;
		}
	}
	return ok;
}

static const char *callee_name(Ast *x)
{
	if (x->kind == A_IDENT)
		return x->name;
	if (x->kind == A_CALL && x->a->kind == A_IDENT)
		return x->a->name;
	return NULL;
}

/* Optimisers: PyTorch's argument names and defaults, and the Recipe field each one sets. "betas"
   fills two fields. */
#define RF(f) offsetof(Recipe, f)
enum { F_DBL, F_BOOL };
typedef struct OptArg { const char *name; size_t field; int type; double dflt; } OptArg;
static const struct {
	const char *name;
	OptKind kind;
	OptArg args[7];
} optimizers[] = {
	{"sgd", OPT_SGD, {{"lr", RF(lr), F_DBL, -1}, {"momentum", RF(momentum), F_DBL, 0}, {"dampening", RF(dampening), F_DBL, 0},
	                  {"weight_decay", RF(weight_decay), F_DBL, 0}, {"nesterov", RF(nesterov), F_BOOL, 0}}},
	{"adam", OPT_ADAM, {{"lr", RF(lr), F_DBL, 1e-3}, {"betas", RF(beta1), F_DBL, 0.9}, {"", RF(beta2), F_DBL, 0.999},
	                    {"eps", RF(eps), F_DBL, 1e-8}, {"weight_decay", RF(weight_decay), F_DBL, 0}}},
	{"adamw", OPT_ADAMW, {{"lr", RF(lr), F_DBL, 1e-3}, {"betas", RF(beta1), F_DBL, 0.9}, {"", RF(beta2), F_DBL, 0.999},
	                      {"eps", RF(eps), F_DBL, 1e-8}, {"weight_decay", RF(weight_decay), F_DBL, 1e-2}}},
	{"rmsprop", OPT_RMSPROP, {{"lr", RF(lr), F_DBL, 1e-2}, {"alpha", RF(alpha), F_DBL, 0.99}, {"eps", RF(eps), F_DBL, 1e-8},
	                          {"weight_decay", RF(weight_decay), F_DBL, 0}, {"momentum", RF(momentum), F_DBL, 0},
	                          {"centered", RF(centered), F_BOOL, 0}}},
	{"adagrad", OPT_ADAGRAD, {{"lr", RF(lr), F_DBL, 1e-2}, {"lr_decay", RF(lr_decay), F_DBL, 0},
	                          {"weight_decay", RF(weight_decay), F_DBL, 0},
	                          {"initial_accumulator_value", RF(initial_accumulator_value), F_DBL, 0}, {"eps", RF(eps), F_DBL, 1e-10}}},
	{"lion", OPT_LION, {{"lr", RF(lr), F_DBL, 1e-4}, {"betas", RF(beta1), F_DBL, 0.9}, {"", RF(beta2), F_DBL, 0.99},
	                    {"weight_decay", RF(weight_decay), F_DBL, 0}}},
};

// optimizer = NAME | NAME(args)      (args positional in PyTorch's order, or named)
static bool recipe_optimizer(Elab *e, Scope *s, Ast *f, Recipe *r)
{
	const char *fn = callee_name(f->a);
	int k = -1;
	for (int i = 0; fn && i < (int)(sizeof optimizers / sizeof optimizers[0]); i++)
		if (!strcmp(fn, optimizers[i].name))
			k = i;
	if (k < 0) {
		diag_error(f->a->loc, "expected an optimizer: sgd, adam, adamw, rmsprop, adagrad or lion, as in sgd(lr: 0.1, momentum: 0.9)");
		return false;
	}
	const OptArg *args = optimizers[k].args;
	const char *names[8];
	double v[8];
	int n = 0;
	for (; args[n].name; n++) {
		names[n] = *args[n].name ? args[n].name : "betas";
		v[n] = args[n].dflt;
	}
	names[n] = NULL;
	bool ok = recipe_call(e, s, f->a, "optimizer", fn, names, v);
	for (int i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (!strcmp(names[i], "lr") && v[i] <= 0) {
			diag_error(f->a->loc, "%s needs a learning rate 'lr' greater than 0", fn);
			ok = false;
		} else if (v[i] < 0 || (!strcmp(names[i], "betas") && v[i] >= 1) || (!strcmp(names[i], "alpha") && v[i] > 1)) {
			diag_error(f->a->loc, "%s's '%s' is %g; expected %s", fn, names[i], v[i],
			           !strcmp(names[i], "betas") ? "0 <= beta < 1" : !strcmp(names[i], "alpha") ? "0 <= alpha <= 1" : "a value >= 0");
			ok = false;
		}
		char *field = (char *)r + args[i].field;
		if (args[i].type == F_BOOL)
			*(bool *)field = v[i] != 0;
		else
			*(double *)field = v[i];
	}
	r->opt = optimizers[k].kind;
	if (ok && r->opt == OPT_SGD && r->nesterov && (r->momentum <= 0 || r->dampening != 0)) {
		diag_error(f->a->loc, "nesterov momentum needs momentum > 0 and dampening 0");
		return false;
	}
	return ok;
}

/* Schedules: argument names and defaults (a negative default: required) */
static const struct {
	const char *name;
	SchedKind kind;
	const char *args[4];
	double dflt[4];
} schedules[] = {
	{"constant", SCHED_CONSTANT, {"warmup"}, {0}},
	{"cosine", SCHED_COSINE, {"warmup", "min_lr"}, {0, 0}},
	{"step", SCHED_STEP, {"every", "gamma", "warmup"}, {-1, 0.1, 0}},
	{"exponential", SCHED_EXPONENTIAL, {"gamma", "warmup"}, {-1, 0}},
	{"linear", SCHED_LINEAR, {"warmup"}, {0}},
	{"onecycle", SCHED_ONECYCLE, {"max_lr"}, {0}},
};

// schedule = NAME | NAME(args)
static bool recipe_schedule(Elab *e, Scope *s, Ast *f, Recipe *r)
{
	const char *fn = callee_name(f->a);
	int k = -1;
	for (int i = 0; fn && i < (int)(sizeof schedules / sizeof schedules[0]); i++)
		if (!strcmp(fn, schedules[i].name))
			k = i;
	if (k < 0) {
		diag_error(f->a->loc, "expected a schedule: constant, cosine(warmup:, min_lr:), step(every:, gamma:), "
		           "exponential(gamma:), linear(warmup:) or onecycle(max_lr:)");
		return false;
	}
	double v[4];
	memcpy(v, schedules[k].dflt, sizeof v);
	bool ok = recipe_call(e, s, f->a, "schedule", fn, schedules[k].args, v);
	for (int i = 0; schedules[k].args[i]; i++) {
		const char *a = schedules[k].args[i];
		if (isnan(v[i]))
			continue;
		bool integer = !strcmp(a, "warmup") || !strcmp(a, "every");
		if (v[i] < 0 && schedules[k].dflt[i] < 0) {
			diag_error(f->a->loc, "schedule '%s' needs '%s'", fn, a);
			ok = false;
			continue;
		}
		if (v[i] < 0 || (integer && v[i] != (double)(int64_t)v[i]) || (!strcmp(a, "every") && v[i] < 1)) {
			diag_error(f->a->loc, "%s's '%s' is %g; expected %s", fn, a, v[i],
			           !strcmp(a, "every") ? "an integer >= 1" : integer ? "an integer >= 0" : "a value >= 0");
			ok = false;
			continue;
		}
		if (!strcmp(a, "warmup"))
			r->warmup = (int64_t)v[i];
		else if (!strcmp(a, "min_lr"))
			r->min_lr = v[i];
		else if (!strcmp(a, "every"))
			r->step_every = (int64_t)v[i];
		else if (!strcmp(a, "gamma"))
			r->gamma = v[i];
		else if (!strcmp(a, "max_lr"))
			r->max_lr = v[i];
	}
	r->sched = schedules[k].kind;
	return ok;
}

static const char *str_arg(Elab *e, Scope *s, Ast *x, const char *fn, const char *what)
{
	Value *v = elab_expr(e, s, x);
	if (v->k == V_STR)
		return v->s;
	if (v->k != V_ERR)
		diag_error(x->loc, "%s's %s must be a file name in quotes, found %s", fn, what, val_describe(e, v));
	return NULL;
}

/* data = idx(images, labels)                          (lang/builtins.c)
        | npy(x: "x.npy", y: "y.npy")                  one file per loss input, by name
        | npz("data.npz")                              members named like the loss inputs
        | csv("file.csv", label: "column")             features -> the first input, label -> the second
        | text("file.txt", seq: T)                      byte windows of T: x, and y shifted by one */
static bool recipe_source(Elab *e, Scope *s, Ast *f, DataSource *out)
{
	Ast *x = f->a;
	const char *fn = x->kind == A_CALL ? callee_name(x) : NULL;
	DataSource d = {.loc = x->loc};
	if (fn && !strcmp(fn, "npy")) {
		d.kind = DATA_NPY;
		if (x->list.n || !x->list2.n || x->list2.n > 4) {
			diag_error(x->loc, "npy takes one named file per loss input, as in npy(x: \"x.npy\", y: \"y.npy\") (at most 4)");
			return false;
		}
		bool ok = true;
		for (int j = 0; j < x->list2.n; j++) {
			ok &= (d.paths[j] = str_arg(e, s, x->list2.v[j]->a, fn, "files")) != NULL;
			d.names[j] = x->list2.v[j]->name;
		}
		if (!ok)
			return false;
		d.npaths = x->list2.n;
	} else if (fn && (!strcmp(fn, "npz") || !strcmp(fn, "csv") || !strcmp(fn, "text"))) {
		bool is_csv = !strcmp(fn, "csv"), is_text = !strcmp(fn, "text");
		const char *key = is_csv ? "label" : is_text ? "seq" : NULL;
		d.kind = is_csv ? DATA_CSV : is_text ? DATA_TEXT : DATA_NPZ;
		if (x->list.n != 1 || x->list2.n != (key ? 1 : 0) || (key && strcmp(x->list2.v[0]->name, key))) {
			diag_error(x->loc, "expected %s", is_csv ? "csv(\"file.csv\", label: \"column\")"
			                                  : is_text ? "text(\"file.txt\", seq: T)" : "npz(\"file.npz\")");
			return false;
		}
		if (!(d.paths[0] = str_arg(e, s, x->list.v[0], fn, "file")))
			return false;
		d.npaths = 1;
		if (is_csv && !(d.label = str_arg(e, s, x->list2.v[0]->a, fn, "label")))
			return false;
		if (is_text) {
			Value *v = elab_expr(e, s, x->list2.v[0]->a);
			if (v->k != V_INT || v->i < 1) {
				if (v->k != V_ERR)
					diag_error(x->list2.v[0]->loc, "text's seq must be an integer >= 1, found %s", val_describe(e, v));
				return false;
			}
			d.seq = v->i;
		}
	} else {
		Value *v = elab_expr(e, s, x);
		if (v->k != V_SOURCE) {
			if (v->k != V_ERR)
				diag_error(x->loc, "recipe field '%s' must be a data source: idx(images, labels), npy(x: ..., y: ...), "
				           "npz(file), csv(file, label:) or text(file, seq:); found %s", f->name, val_describe(e, v));
			return false;
		}
		d = *v->src;
	}
	*out = d;
	return true;
}

/* Keeps only the nodes the outputs need; the entry loses the inputs nothing needs. */
static void prune_inputs(Graph *g)
{
	for (int i = 0; i < g->nodes.n; i++)
		g->nodes.v[i]->aux = NULL;
	for (int i = 0; i < g->outputs.n; i++)
		g->outputs.v[i].node->aux = g;
	for (int i = g->nodes.n - 1; i >= 0; i--) {
		Node *n = g->nodes.v[i];
		if (n->aux)
			for (int j = 0; j < n->nin; j++)
				n->in[j]->aux = g;
	}
	int k = 0;
	for (int i = 0; i < g->inputs.n; i++) {
		Node *in = g->inputs.v[i];
		if (!in->aux)
			continue;
		in->attr[0] = k;
		g->inputs.v[k++] = in;
	}
	g->inputs.n = k;
	k = 0;
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		if (n->aux) /* what no output needs goes too (inputs and all) */
			g->nodes.v[k++] = n;
	}
	g->nodes.n = k;
}

static Node *scalar_output(Elab *e, Value *v, const char *what, Loc loc)
{
	if (v->k == V_ERR)
		return NULL;
	if (v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL) {
		double x = v->k == V_FLOAT ? v->f : (double)v->i;
		return ir_const(e->g, TY_F32, x, loc);
	}
	if (v->k != V_TENSOR || v->t->type.rank != 0) {
		diag_error(loc, "%s must be a scalar, found %s", what, val_describe(e, v));
		return NULL;
	}
	return elab_cast(e, v->t, TY_F32, loc);
}

/* Elaborates the loss into a graph. mode 0: loss, 1: eval, 2: predict */
static Graph *loss_graph(Elab *e, Scope *rs, Ast *loss, Inst *model, const char *name, int mode)
{
	Graph *g = ir_graph_new(e->prog, name);
	e->g = g;
	e->training = mode == 0;
	e->param_node = NULL;
	e->nparam_node = 0;
	e->in_loss = true;
	e->metrics.n = 0;
	e->capture_inst = mode == 2 ? model : NULL;
	e->captured = NULL;
	Scope *s = scope_new(e, rs);
	int errors = diag_error_count();
	for (int i = 0; i < loss->list.n; i++) {
		Ast *pd = loss->list.v[i];
		Type t;
		bool ok;
		t = elab_type(e, s, pd->a, true, true, pd->loc, NULL, &ok);
		if (!ok)
			continue;
		scope_bind(e, s, pd->name, val_tensor(e, ir_input(g, t, pd->name, pd->loc)), pd->loc);
	}
	Value *res = val_err();
	if (diag_error_count() == errors)
		res = elab_fn_body(e, loss, s, "loss");
	e->in_loss = false;
	e->g = NULL;
	if (diag_error_count() != errors)
		return g;
	if (mode == 2) {
		Value *c = e->captured;
		if (!c || c->k == V_ERR) {
			e->prog->graphs.n--; /* the loss never runs the model: no predict entry */
			return NULL;
		}
		if (c->k == V_TENSOR)
			ir_graph_output(g, "output", c->t);
		else if (c->k == V_TUPLE) {
			for (int i = 0; i < c->list.n; i++)
				if (c->list.v[i]->k == V_TENSOR)
					ir_graph_output(g, arena_printf(e->arena, "output.%d", i), c->list.v[i]->t);
		}
		prune_inputs(g);
		return g;
	}
	e->g = g;
	Node *l = scalar_output(e, res, "the loss", loss->loc);
	if (l && res->k == V_TENSOR && !dtype_is_float(res->t->type.dtype))
		diag_error(loss->loc, "the loss must be a float scalar");
	if (l)
		ir_graph_output(g, "loss", l);
	for (int i = 0; i < e->metrics.n; i++) {
		Node *m = scalar_output(e, e->metrics.v[i].v, arena_printf(e->arena, "metric '%s'", e->metrics.v[i].name),
		                        e->metrics.v[i].loc);
		if (m)
			ir_graph_output(g, e->metrics.v[i].name, m);
		if (mode == 0)
			vec_push(&e->prog->recipe.metrics, e->metrics.v[i].name);
	}
	e->g = NULL;
	return g;
}

/* A path under the model, `model.backbone.fc1` or `model.layers[0]`, as a parameter-name prefix
   ("backbone.fc1", "layers.0"); NULL after an error */
static const char *model_path(Elab *e, Ast *x, const char *field)
{
	const char *up;
	switch (x->kind) {
	case A_IDENT:
		if (!strcmp(x->name, "model"))
			return "";
		break;
	case A_FIELD_ACCESS:
		if (!(up = model_path(e, x->a, field)))
			return NULL;
		return *up ? arena_printf(e->arena, "%s.%s", up, x->name) : x->name;
	case A_INDEX:
		if (x->list.n != 1 || x->list.v[0]->kind != A_INT)
			break;
		if (!(up = model_path(e, x->a, field)))
			return NULL;
		return arena_printf(e->arena, "%s%s%lld", up, *up ? "." : "", (long long)x->list.v[0]->ival);
	default:
		break;
	}
	if (!strcmp(field, "optimizer") || !strcmp(field, "schedule"))
		diag_error(x->loc, "'%s PATH = ...' sets a parameter group, as in %s model.fc1 = %s; expected a path "
		           "starting with 'model'", field, field, *field == 'o' ? "sgd(lr: 0.1)" : "cosine(warmup: 100)");
	else
		diag_error(x->loc, "'%s' lists parts of the model, as in [model.backbone, model.head]; expected a path "
		           "starting with 'model'", field);
	return NULL;
}

/* freeze = [PATH, ...]: the params under each path are not trained; train_only = [PATH, ...]:
   only those are. Either list must name at least one param per path. */
static bool recipe_freeze(Elab *e, Ast *f, bool only)
{
	Prog *p = e->prog;
	if (f->a->kind != A_LIST || !f->a->list.n) {
		diag_error(f->a->loc, "'%s' must be a list of parts of the model, as in [model.backbone, model.head]", f->name);
		return false;
	}
	bool *listed = arena_alloc(e->arena, sizeof(bool) * (size_t)(p->params.n + 1));
	memset(listed, 0, sizeof(bool) * (size_t)(p->params.n + 1));
	bool ok = true;
	for (int i = 0; i < f->a->list.n; i++) {
		Ast *x = f->a->list.v[i];
		const char *path = model_path(e, x, f->name);
		if (!path) {
			ok = false;
			continue;
		}
		size_t n = strlen(path);
		int hits = 0;
		for (int k = 0; k < p->params.n; k++) {
			const char *name = p->params.v[k].name;
			if (p->params.v[k].kind == PK_PARAM && (!n || (!strncmp(name, path, n) && (!name[n] || name[n] == '.'))))
				listed[k] = true, hits++;
		}
		if (!hits) {
			diag_error(x->loc, "'%s': model.%s names no parameter of the model (its parameters: %s%s)", f->name, path,
			           p->params.n ? p->params.v[0].name : "none", p->params.n > 1 ? ", ..." : "");
			ok = false;
		}
	}
	if (!ok)
		return false;
	for (int k = 0; k < p->params.n; k++)
		if (p->params.v[k].kind == PK_PARAM && listed[k] != only)
			p->params.v[k].trainable = false;
	return true;
}

static bool field_num(Elab *e, Scope *s, Ast *train, const char *name, double *out)
{
	Ast *f = find_field(train, name);
	if (!f)
		return true;
	double v;
	if (!num_value(e, elab_expr(e, s, f->a), &v, arena_printf(e->arena, "recipe field '%s'", name), f->a->loc))
		return false;
	if (!(v > 0)) {
		diag_error(f->a->loc, "recipe field '%s' must be greater than 0, found %g", name, v);
		return false;
	}
	*out = v;
	return true;
}

/* ---- frozen models: `teacher = Big(...) from "teacher.safetensors" frozen` ----
   Their params and state are named "teacher.<path>", are not trained, and are loaded from the
   file (under "<path>": Param.from, Param.from_name) when a run starts. The model and its
   submodules are Inst.frozen: their methods run with `training` false (dropout off, batch norm
   on its running statistics), and an update of their state is an error (lang/elab.c). */

/* in and every module under it (its path a prefix of theirs): modules given as arguments from
   outside are left alone */
static void mark_frozen(Inst *in)
{
	in->frozen = true;
	size_t n = strlen(in->path);
	for (int i = 0; i < in->scope->b.n; i++) {
		Value *v = in->scope->b.v[i].v;
		int k = v->k == V_LIST ? v->list.n : v->k == V_INST;
		for (int j = 0; j < k; j++) {
			Value *x = v->k == V_LIST ? v->list.v[j] : v;
			if (x->k == V_INST && !x->inst->frozen && strlen(x->inst->path) > n && !strncmp(x->inst->path, in->path, n))
				mark_frozen(x->inst);
		}
	}
}

static bool recipe_frozen(Elab *e, Scope *rs, Ast *f)
{
	Prog *p = e->prog;
	const char *form = arena_printf(e->arena, "%s = Module(...) from \"file.safetensors\" frozen", f->name);
	if (!f->sval) {
		diag_error(f->loc, "a frozen model needs its weights: expected %s", form);
		return false;
	}
	if (!f->ival) {
		diag_error(f->loc, "a second model that is trained is not compiled yet; a model loaded from a file must be "
		           "frozen: expected %s", form);
		return false;
	}
	int n0 = p->params.n;
	Value *v = elab_expr(e, rs, f->a);
	if (v->k != V_INST) {
		if (v->k != V_ERR)
			diag_error(f->a->loc, "'%s' must be a module, such as Mlp(hidden: 512), found %s", f->name, val_describe(e, v));
		return false;
	}
	int n = p->params.n - n0;
	if (!n) {
		diag_error(f->a->loc, "'%s' has no parameters to load from \"%s\"", f->name, f->sval);
		return false;
	}
	mark_frozen(v->inst);
	for (int k = n0; k < p->params.n; k++) {
		Param *q = &p->params.v[k];
		q->from = f->sval;
		q->from_name = q->name;
		q->name = str_intern(arena_printf(e->arena, "%s.%s", f->name, q->name));
		q->trainable = false;
		for (int j = 0; j < n0; j++)
			if (p->params.v[j].name == q->name) {
				diag_error(f->loc, "frozen model '%s' names its parameter '%s', as the model's parameter declared at %s:%d",
				           f->name, q->name, p->params.v[j].loc.file, p->params.v[j].loc.line);
				return false;
			}
	}
	scope_bind(e, rs, str_intern(f->name), v, f->loc);
	return true;
}

/* ---- parameter groups: `optimizer model.fc1 = sgd(lr: 0.1)`, `schedule model.fc1 = step(...)` ----
   Group 0 is the recipe's own optimizer and schedule: every parameter no group names. Group g >= 1
   starts as a copy of the recipe's settings; its `optimizer PATH` replaces the optimiser and its
   hyper-parameters, its `schedule PATH` the schedule (without one it follows the recipe's). Groups
   may not overlap. While the recipe is read they are collected here; assign_groups leaves them in
   Prog.groups and Param.group. */
#define MAX_GROUPS 32
static struct {
	const Prog *prog;
	int n;                        /* groups beyond group 0 */
	const char *path[MAX_GROUPS]; /* parameter-name prefix ("fc1") */
	Loc loc[MAX_GROUPS];
	bool has_opt[MAX_GROUPS], has_sched[MAX_GROUPS];
	Recipe r[MAX_GROUPS];         /* group g is r[g - 1] */
	int *param_group;             /* per param */
} groups;

static bool under(const char *name, const char *path)
{
	size_t n = strlen(path);
	return !n || (!strncmp(name, path, n) && (!name[n] || name[n] == '.'));
}

static bool recipe_group(Elab *e, Scope *s, Ast *f)
{
	Prog *p = e->prog;
	bool is_opt = !strcmp(f->name, "optimizer");
	const char *path = model_path(e, f->b, f->name);
	if (!path)
		return false;
	int g = 0;
	for (int i = 0; i < groups.n && !g; i++)
		if (!strcmp(groups.path[i], path))
			g = i + 1;
	if (!g) {
		if (groups.n == MAX_GROUPS) {
			diag_error(f->loc, "too many parameter groups (at most %d)", MAX_GROUPS);
			return false;
		}
		g = ++groups.n;
		groups.path[g - 1] = path;
		groups.loc[g - 1] = f->b->loc;
		groups.has_opt[g - 1] = groups.has_sched[g - 1] = false;
		groups.r[g - 1] = p->recipe;
	}
	bool *has = is_opt ? &groups.has_opt[g - 1] : &groups.has_sched[g - 1];
	if (*has) {
		diag_error(f->loc, "'%s model%s%s' is given twice", f->name, *path ? "." : "", path);
		return false;
	}
	*has = true;
	Recipe *r = &groups.r[g - 1];
	if (is_opt)
		return recipe_optimizer(e, s, f, r);
	r->warmup = r->step_every = 0; /* the group's schedule alone: none of the recipe's arguments */
	r->min_lr = r->gamma = r->max_lr = 0;
	return recipe_schedule(e, s, f, r);
}

/* Each group's parameters; an error for a group that names none or one that overlaps another */
static bool assign_groups(Elab *e)
{
	Prog *p = e->prog;
	groups.param_group = arena_alloc(e->arena, sizeof(int) * (size_t)(p->params.n + 1));
	memset(groups.param_group, 0, sizeof(int) * (size_t)(p->params.n + 1));
	bool ok = true;
	for (int g = 1; g <= groups.n; g++) {
		int hits = 0;
		for (int k = 0; k < p->params.n; k++) {
			Param *q = &p->params.v[k];
			if (q->kind != PK_PARAM || !under(q->name, groups.path[g - 1]))
				continue;
			int other = groups.param_group[k];
			hits++;
			if (other) {
				diag_error(groups.loc[g - 1], "parameter groups model%s%s and model%s%s overlap: both hold '%s' "
				           "(a parameter belongs to one group)", *groups.path[other - 1] ? "." : "",
				           groups.path[other - 1], *groups.path[g - 1] ? "." : "", groups.path[g - 1], q->name);
				ok = false;
				break;
			}
			groups.param_group[k] = g;
		}
		if (!hits) {
			diag_error(groups.loc[g - 1], "parameter group model.%s names no parameter of the model (its parameters: %s%s)",
			           groups.path[g - 1], p->params.n ? p->params.v[0].name : "none", p->params.n > 1 ? ", ..." : "");
			ok = false;
		}
	}
	if (!ok)
		return false;
	for (int k = 0; k < p->params.n; k++)
		p->params.v[k].group = groups.param_group[k];
	for (int g = 1; g <= groups.n; g++)
		vec_push(&p->groups, groups.r[g - 1]);
	return true;
}

static const char *const known_fields[] = {"model", "data", "valid", "batch", "epochs", "steps", "seed", "optimizer",
                                           "schedule", "loss", "freeze", "train_only", "clip_grad_norm", "grad_noise",
                                           "accumulate", NULL};

// grad_noise = gaussian(eta: 0.3, gamma: 0.55): Neelakantan et al. 2015 (passes/update.c)
static bool recipe_grad_noise(Elab *e, Scope *s, Ast *f, Recipe *r)
{
	const char *fn = callee_name(f->a);
	double v[2] = {-1, 0.55};
	if (!fn || strcmp(fn, "gaussian")) {
		diag_error(f->a->loc, "expected grad_noise = gaussian(eta: 0.3, gamma: 0.55)");
		return false;
	}
	if (!recipe_call(e, s, f->a, "grad_noise", fn, (const char *const[]){"eta", "gamma", NULL}, v))
		return false;
	if (!(v[0] > 0) || !(v[1] >= 0)) {
		diag_error(f->a->loc, v[0] == -1 ? "grad_noise needs 'eta', as in gaussian(eta: 0.3, gamma: 0.55)"
		                                 : "grad_noise needs eta > 0 and gamma >= 0, found eta %g, gamma %g", v[0], v[1]);
		return false;
	}
	r->noise_eta = v[0];
	r->noise_gamma = v[1];
	return true;
}

static bool listed(const char *const *names, const char *name)
{
	for (int k = 0; names[k]; k++)
		if (!strcmp(names[k], name))
			return true;
	return false;
}

static bool recipe(Elab *e, Ast *train, Scope *globals)
{
	Prog *p = e->prog;
	Recipe *r = &p->recipe;
	*r = (Recipe){.name = train->name, .batch = 64, .epochs = 1, .seed = 1, .opt = OPT_SGD, .lr = 0.01,
	              .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99,
	              .pct_start = 0.3, .div_factor = 25, .final_div_factor = 1e4}; /* torch OneCycleLR's */
	p->has_recipe = true;
	groups.prog = p;
	groups.n = 0;
	groups.param_group = NULL;
	Scope *rs = scope_new(e, globals);
	Ast *loss = NULL;
	bool ok = true; /* every independent error is reported; the graphs are built only without any */
	for (int i = 0; i < train->list.n; i++) {
		Ast *f = train->list.v[i];
		if (f->kind == A_FN) {
			if (!strcmp(f->name, "loss"))
				loss = f;
			continue;
		}
		bool known = listed(known_fields, f->name);
		bool grouped = f->b && (!strcmp(f->name, "optimizer") || !strcmp(f->name, "schedule"));
		if ((f->b && !grouped) || (known && (f->sval || f->ival))) {
			diag_error(f->loc, "recipe field '%s'%s is not compiled yet", f->name,
			           f->b ? " for a part of the model" : f->sval || f->ival ? " from a file or frozen" : "");
			ok = false;
		} else if (!known && !f->sval && !f->ival) {
			diag_error(f->loc, "unknown recipe field '%s' (expected one of model, data, valid, batch, epochs, steps, seed, optimizer, schedule, "
			           "clip_grad_norm, grad_noise, accumulate, freeze, train_only, loss, or a frozen model: %s = Module(...) from "
			           "\"file.safetensors\" frozen)",
			           f->name, f->name);
			ok = false;
		}
	}
	Ast *mf = find_field(train, "model");
	if (!mf)
		diag_error(train->loc, "recipe '%s' has no 'model'", train->name);
	if (!loss)
		diag_error(train->loc, "recipe '%s' has no 'loss'", train->name);
	Value *model = mf ? elab_expr(e, rs, mf->a) : val_err();
	if (mf && model->k != V_INST && model->k != V_ERR)
		diag_error(mf->a->loc, "'model' must be a module, such as Mlp(hidden: 256), found %s", val_describe(e, model));
	bool has_model = model->k == V_INST; /* the checks of parameter paths and the loss need it */
	ok &= has_model && loss;
	if (has_model)
		scope_bind(e, rs, str_intern("model"), model, mf->loc);
	for (int i = 0; i < train->list.n; i++) {
		Ast *x = train->list.v[i];
		if (x->kind == A_FIELD && (x->sval || x->ival) && !listed(known_fields, x->name) &&
		    !recipe_frozen(e, rs, x)) {
			scope_bind(e, rs, str_intern(x->name), val_err(), x->loc); /* the loss's uses stay quiet */
			ok = false;
		}
	}
	ok &= field_int(e, rs, train, "batch", &r->batch, 1);
	ok &= field_int(e, rs, train, "epochs", &r->epochs, 0);
	ok &= field_int(e, rs, train, "steps", &r->steps, 0);
	ok &= field_int(e, rs, train, "seed", &r->seed, 0);
	ok &= field_int(e, rs, train, "accumulate", &r->accumulate, 1);
	Ast *f;
	if ((f = find_field(train, "optimizer")))
		ok &= recipe_optimizer(e, rs, f, r);
	if ((f = find_field(train, "schedule")))
		ok &= recipe_schedule(e, rs, f, r);
	if ((f = find_field(train, "data")))
		ok &= recipe_source(e, rs, f, &r->data);
	if ((f = find_field(train, "valid")))
		ok &= recipe_source(e, rs, f, &r->valid);
	ok &= field_num(e, rs, train, "clip_grad_norm", &r->clip_grad_norm);
	if ((f = find_field(train, "grad_noise")))
		ok &= recipe_grad_noise(e, rs, f, r);
	for (int i = 0; i < train->list.n; i++) {
		Ast *x = train->list.v[i];
		if (x->kind == A_FIELD && x->b)
			ok &= recipe_group(e, rs, x);
	}
	if (has_model) {
		ok &= assign_groups(e);
		if ((f = find_field(train, "train_only")))
			ok &= recipe_freeze(e, f, true);
		if ((f = find_field(train, "freeze")))
			ok &= recipe_freeze(e, f, false);
	}
	if (loss && (!loss->a || loss->a->kind != A_TYPE || loss->a->list.n != 0 || dtype_from_name(loss->a->name) < 0 ||
	             !dtype_is_float((DType)dtype_from_name(loss->a->name)))) {
		diag_error(loss->a ? loss->a->loc : loss->loc, "the recipe's loss must be declared to return a float scalar, as in loss(...) -> f32");
		return false;
	}
	if (!has_model || !loss)
		return false;
	loss_graph(e, rs, loss, model->inst, "loss", 0); /* its errors too, beside the fields' */
	if (!ok || diag_error_count())
		return false;
	loss_graph(e, rs, loss, model->inst, "eval", 1);
	loss_graph(e, rs, loss, model->inst, "predict", 2);
	return diag_error_count() == 0;
}

Prog *sema_program(Arena *a, Ast *prog, const ElabOptions *o)
{
	Elab *e = arena_alloc(a, sizeof *e);
	e->arena = a;
	e->prog = ir_prog_new(a);
	e->stdlib_dir = o->stdlib_dir;
	e->globals = scope_new(e, NULL);
	if (prog->loc.file)
		vec_push(&e->importing, prog->loc.file);
	elab_decls(e, prog, e->globals);
	Ast *train = NULL;
	int ntrain = 0;
	for (int i = 0; i < prog->list.n; i++) {
		Ast *d = prog->list.v[i];
		if (d->kind != A_TRAIN)
			continue;
		ntrain++;
		if (!o->train || !strcmp(o->train, d->name)) {
			if (train && !o->train) {
				diag_error(d->loc, "the file has several recipes; choose one with --train NAME");
				return NULL;
			}
			train = d;
		}
	}
	if (o->train && !train) {
		diag_error((Loc){prog->loc.file, 0, 0, 0, 0}, "no recipe named '%s' in this file", o->train);
		return NULL;
	}
	if (diag_error_count())
		return NULL;
	if (train && !recipe(e, train, e->globals))
		return NULL;
	(void)ntrain;
	return diag_error_count() ? NULL : e->prog;
}
