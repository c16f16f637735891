/* lang/recipe.c: a program's `train` recipe -> a Prog: the recipe's settings, the parameters of
 * its model, and the graphs the executables need:
 *   loss     the recipe's loss with `training` true: outputs loss, then every metric
 *   eval     the same with `training` false
 *   predict  the loss's inputs the model needs -> the model's output (training false)
 * The training step is made from `loss` by passes/autodiff.c and passes/update.c.
 */
#include "lang/lang.h"

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

/* A call of a named recipe function with compile-time named arguments, as `sgd(lr: 0.1)`.
   names: the allowed argument names; outs receive their values (left alone when absent). */
static bool recipe_call(Elab *e, Scope *s, Ast *x, const char *kind, const char *fn, const char *const *names,
                        double *outs)
{
	if (x->kind == A_IDENT)
		return true; /* a bare name: every default */
	for (int i = 0; i < x->list.n; i++) {
		if (!names[i]) {
			diag_error(x->list.v[i]->loc, "too many arguments to %s '%s'", kind, fn);
			return false;
		}
		if (!num_value(e, elab_expr(e, s, x->list.v[i]), &outs[i], names[i], x->list.v[i]->loc))
			return false;
	}
	for (int j = 0; j < x->list2.n; j++) {
		Ast *a = x->list2.v[j];
		int k = -1;
		for (int i = 0; names[i]; i++)
			if (!strcmp(names[i], a->name))
				k = i;
		if (k < 0) {
			diag_error(a->loc, "%s '%s' has no parameter named '%s'", kind, fn, a->name);
			return false;
		}
		Value *v = elab_expr(e, s, a->a);
		if (v->k == V_TUPLE && v->list.n == 2 && !strcmp(a->name, "betas")) {
			if (!num_value(e, v->list.v[0], &outs[k], "betas", a->loc) || !num_value(e, v->list.v[1], &outs[k + 1], "betas", a->loc))
				return false;
			continue;
		}
		if (!num_value(e, v, &outs[k], a->name, a->loc))
			return false;
	}
	return true;
}

static const char *callee_name(Ast *x)
{
	if (x->kind == A_IDENT)
		return x->name;
	if (x->kind == A_CALL && x->a->kind == A_IDENT)
		return x->a->name;
	return NULL;
}

static bool recipe_optimizer(Elab *e, Scope *s, Ast *f, Recipe *r)
{
	const char *fn = callee_name(f->a);
	if (!fn || strcmp(fn, "sgd") != 0) {
		if (fn && (!strcmp(fn, "adam") || !strcmp(fn, "adamw") || !strcmp(fn, "rmsprop") || !strcmp(fn, "adagrad") || !strcmp(fn, "lion")))
			diag_error(f->a->loc, "optimizer '%s' is not compiled yet; use sgd(lr:, momentum:, weight_decay:, nesterov:)", fn);
		else
			diag_error(f->a->loc, "expected an optimizer such as sgd(lr: 0.1, momentum: 0.9)");
		return false;
	}
	static const char *const names[] = {"lr", "momentum", "dampening", "weight_decay", "nesterov", NULL};
	double v[5] = {-1, 0, 0, 0, 0};
	if (!recipe_call(e, s, f->a, "optimizer", fn, names, v))
		return false;
	if (v[0] <= 0) {
		diag_error(f->a->loc, "sgd needs a learning rate 'lr' greater than 0");
		return false;
	}
	r->opt = OPT_SGD;
	r->lr = v[0];
	r->momentum = v[1];
	r->dampening = v[2];
	r->weight_decay = v[3];
	r->nesterov = v[4] != 0;
	if (r->nesterov && (r->momentum <= 0 || r->dampening != 0)) {
		diag_error(f->a->loc, "nesterov momentum needs momentum > 0 and dampening 0");
		return false;
	}
	return true;
}

static bool recipe_schedule(Elab *e, Scope *s, Ast *f, Recipe *r)
{
	const char *fn = callee_name(f->a);
	if (fn && !strcmp(fn, "constant") && f->a->kind == A_IDENT) {
		r->sched = SCHED_CONSTANT;
		return true;
	}
	if (fn && !strcmp(fn, "constant")) {
		static const char *const names[] = {NULL};
		double v[1];
		r->sched = SCHED_CONSTANT;
		return recipe_call(e, s, f->a, "schedule", fn, names, v);
	}
	if (fn && !strcmp(fn, "cosine")) {
		static const char *const names[] = {"warmup", "min_lr", NULL};
		double v[2] = {0, 0};
		if (!recipe_call(e, s, f->a, "schedule", fn, names, v))
			return false;
		if (v[0] < 0 || v[1] < 0) {
			diag_error(f->a->loc, "cosine's warmup and min_lr must not be negative");
			return false;
		}
		r->sched = SCHED_COSINE;
		r->warmup = (int64_t)v[0];
		r->min_lr = v[1];
		return true;
	}
	diag_error(f->a->loc, "expected a schedule: constant or cosine(warmup:, min_lr:)%s",
	           fn ? "; other schedules are not compiled yet" : "");
	return false;
}

static bool recipe_source(Elab *e, Scope *s, Ast *f, DataSource *out)
{
	Value *v = elab_expr(e, s, f->a);
	if (v->k != V_SOURCE) {
		if (v->k != V_ERR)
			diag_error(f->a->loc, "recipe field '%s' must be a data source such as idx(images, labels), found %s", f->name,
			           val_describe(e, v));
		return false;
	}
	*out = *v->src;
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
	if (l && !dtype_is_float(res->t ? res->t->type.dtype : TY_F32))
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

static const char *const known_fields[] = {"model", "data", "valid", "batch", "epochs", "steps", "seed", "optimizer",
                                           "schedule", "loss", NULL};
static const char *const later_fields[] = {"teacher", "clip_grad_norm", "grad_noise", "freeze", "train_only", NULL};

static bool recipe(Elab *e, Ast *train, Scope *globals)
{
	Prog *p = e->prog;
	Recipe *r = &p->recipe;
	*r = (Recipe){.name = train->name, .batch = 64, .epochs = 1, .seed = 1, .opt = OPT_SGD, .lr = 0.01,
	              .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
	p->has_recipe = true;
	Scope *rs = scope_new(e, globals);
	Ast *loss = NULL;
	for (int i = 0; i < train->list.n; i++) {
		Ast *f = train->list.v[i];
		if (f->kind == A_FN) {
			if (!strcmp(f->name, "loss"))
				loss = f;
			continue;
		}
		bool known = false, later = false;
		for (int k = 0; known_fields[k]; k++)
			known |= !strcmp(known_fields[k], f->name);
		for (int k = 0; later_fields[k]; k++)
			later |= !strcmp(later_fields[k], f->name);
		if (later || f->b || f->sval) {
			diag_error(f->loc, "recipe field '%s' is not compiled yet", f->name);
			return false;
		}
		if (!known) {
			diag_error(f->loc, "unknown recipe field '%s' (expected one of model, data, valid, batch, epochs, steps, seed, optimizer, schedule, loss)",
			           f->name);
			return false;
		}
	}
	Ast *mf = find_field(train, "model");
	if (!mf) {
		diag_error(train->loc, "recipe '%s' has no 'model'", train->name);
		return false;
	}
	if (!loss) {
		diag_error(train->loc, "recipe '%s' has no 'loss'", train->name);
		return false;
	}
	Value *model = elab_expr(e, rs, mf->a);
	if (model->k != V_INST) {
		if (model->k != V_ERR)
			diag_error(mf->a->loc, "'model' must be a module, such as Mlp(hidden: 256), found %s", val_describe(e, model));
		return false;
	}
	scope_bind(e, rs, str_intern("model"), model, mf->loc);
	bool ok = field_int(e, rs, train, "batch", &r->batch, 1) && field_int(e, rs, train, "epochs", &r->epochs, 0) &&
	          field_int(e, rs, train, "steps", &r->steps, 0) && field_int(e, rs, train, "seed", &r->seed, 0);
	Ast *f;
	if ((f = find_field(train, "optimizer")))
		ok &= recipe_optimizer(e, rs, f, r);
	if ((f = find_field(train, "schedule")))
		ok &= recipe_schedule(e, rs, f, r);
	if ((f = find_field(train, "data")))
		ok &= recipe_source(e, rs, f, &r->data);
	if ((f = find_field(train, "valid")))
		ok &= recipe_source(e, rs, f, &r->valid);
	if (!ok)
		return false;
	if (!loss->a || loss->a->kind != A_TYPE || loss->a->list.n != 0 || dtype_from_name(loss->a->name) < 0 ||
	    !dtype_is_float((DType)dtype_from_name(loss->a->name))) {
		diag_error(loss->a ? loss->a->loc : loss->loc, "the recipe's loss must be declared to return a float scalar, as in loss(...) -> f32");
		return false;
	}
	loss_graph(e, rs, loss, model->inst, "loss", 0);
	if (diag_error_count())
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
