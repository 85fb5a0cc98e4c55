/* The likelihood scorer's per-reading arithmetic in C: the same operations, in the same order, on the same
 * doubles as edge/core/scorers/likelihood.py, so that every result is bit for bit the Python one.
 *
 * Only the recursion lives here (score, learn, bridge, reset). What it keeps is loaded from and exported to
 * the Python scorer's own attributes (``Core.load`` / ``Core.export``), so checkpoints, validation and their
 * format stay in Python. Build with -ffp-contract=off: a fused multiply-add rounds once where Python rounds
 * twice. The libm functions are the ones CPython's math module calls (atan, log10, sqrt, pow).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "../_values.h"

/* Python's min(a, b) and max(a, b) on floats: the first unless the second is strictly smaller/larger. */
#define PYMIN(a, b) ((b) < (a) ? (b) : (a))
#define PYMAX(a, b) ((b) > (a) ? (b) : (a))

static const double SQRT3 = 1.7320508075688772;
static const double PI = 3.141592653589793;

typedef struct {
    double mean, var, spread, floor, rate, clip_sd;
    long long seen, prior, learn_samples;
} Dist;

typedef struct {  /* a ring of up to maxlen rows of `channels` doubles; a NaN row is an empty slot */
    double *data;
    Py_ssize_t maxlen, start, count;
} Season;

typedef struct {
    PyObject_HEAD
    Py_ssize_t channels, window, season_lag, long_season_lag;
    double margin, decades, correction, keep, error_clip;
    PyObject *judgement_type;
    Dist *forecast, *seasonal;  /* seasonal: NULL without a season */
    double *recent, *recent_seasonal;  /* per channel a ring of `window` */
    Py_ssize_t *recent_start, *recent_count, *rs_start, *rs_count;
    double *sums, *sums_seasonal, *low, *high, *memory, *levels;
    int has_levels;
    double *last3;  /* up to 3 rows, oldest first */
    Py_ssize_t last3_count;
    int previous_normal;  /* 1 True, 0 False, -1 None */
    Season past, past_long;
    /* what evaluate worked out, for learn on the same reading */
    int pending;
    PyObject *pending_residual, *pending_observed, *pending_judgement;
    double *p_residual, *p_observed, *p_errors, *p_seasonal, *p_levels;
    int p_has_seasonal;
    double *scratch;  /* channels doubles */
} Core;

/* -- tails ----------------------------------------------------------------------------------------------- */

static double student3_decades(double z) {
    /* tails.student3_decades for z > 0 (the only case the scorer calls it with) */
    double u = z / SQRT3;
    if (u > 30.0) {
        double v = (2.0 / (3.0 * pow(u, 3.0)) - 0.8 / pow(u, 5.0)) / PI;
        return -log10(PYMAX(v, 1e-300));
    }
    return -log10((atan(1.0 / u) - u / (1.0 + u * u)) / PI);
}

/* -- error distributions ------------------------------------------------------------------------------ */

static double dist_z(const Dist *d, const double *ring, Py_ssize_t start, Py_ssize_t n, Py_ssize_t window,
                     double total, double value) {
    if (n == window) {
        return ((total - ring[start] + value) / (double)n - d->mean) / d->spread;
    }
    return ((total + value) / (double)(n + 1) - d->mean) / (d->spread * sqrt((double)window / (double)(n + 1)));
}

static void dist_learn(Dist *d, double average) {
    long long seen = d->seen;
    double mean = d->mean;
    if (seen >= d->learn_samples && seen && d->var > 0.0) {
        double cap = mean + d->clip_sd * d->spread;
        if (average > cap) average = cap;
    }
    double young = 1.0 / (double)(d->prior + seen + 1);
    double rate = young > d->rate ? young : d->rate;
    double delta = average - mean;
    d->mean = mean + rate * delta;
    double var = (1.0 - rate) * (d->var + rate * delta * delta);
    d->var = var;
    d->seen = seen + 1;
    d->spread = sqrt(var > d->floor ? var : d->floor);
}

/* -- rings ------------------------------------------------------------------------------------------------ */

static void ring_append(double *ring, Py_ssize_t *start, Py_ssize_t *count, Py_ssize_t maxlen, double v) {
    if (*count == maxlen) {
        ring[*start] = v;
        *start = (*start + 1) % maxlen;
    } else {
        ring[(*start + *count) % maxlen] = v;
        *count += 1;
    }
}

static void season_append(Season *s, Py_ssize_t channels, const double *entry) {
    Py_ssize_t slot;
    if (s->count == s->maxlen) {
        slot = s->start;
        s->start = (s->start + 1) % s->maxlen;
    } else {
        slot = (s->start + s->count) % s->maxlen;
        s->count += 1;
    }
    double *at = s->data + slot * channels;
    for (Py_ssize_t c = 0; c < channels; c++) at[c] = entry ? entry[c] : NAN;
}

static void season_repeat_oldest(Season *s) { s->start = (s->start + 1) % s->maxlen; }

static const double *season_row(const Season *s, Py_ssize_t channels, Py_ssize_t index) {
    const double *row = s->data + ((s->start + index) % s->maxlen) * channels;
    return row[0] != row[0] ? NULL : row;
}

/* -- input ------------------------------------------------------------------------------------------------ */

static void clear_pending(Core *self) {
    self->pending = 0;
    Py_CLEAR(self->pending_residual);
    Py_CLEAR(self->pending_observed);
    Py_CLEAR(self->pending_judgement);
}

/* -- the scorer ------------------------------------------------------------------------------------------- */

static int same_values(PyObject *seq, const double *values, Py_ssize_t channels, int *same) {
    /* seq == values (as Python compares a list of floats); -1 on a conversion error */
    PyObject *fast = PySequence_Fast(seq, "values");
    if (!fast) return -1;
    *same = PySequence_Fast_GET_SIZE(fast) == channels;
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t c = 0; *same && c < channels; c++) {
        double v = PyFloat_AsDouble(items[c]);
        if (v == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            *same = 0;
            break;
        }
        *same = v == values[c];
    }
    Py_DECREF(fast);
    return 0;
}

static int evaluate(Core *self, PyObject *residual, PyObject *observed) {
    /* fills the pending fields (the work of likelihood.LikelihoodScorer._evaluate); 0, or -1 with an error */
    Py_ssize_t C = self->channels, window = self->window;
    if (self->pending) {
        int same_r = 1, same_o = 1;
        if (self->pending_residual != residual && same_values(residual, self->p_residual, C, &same_r) < 0) return -1;
        if (same_r && self->pending_observed != observed &&
            same_values(observed, self->p_observed, C, &same_o) < 0)
            return -1;
        if (same_r && same_o) return 0;
    }
    clear_pending(self);
    double *r = self->p_residual, *x = self->p_observed;
    if (read_values(residual, C, r, "residual") < 0 || read_values(observed, C, x, "reading") < 0) return -1;
    double total_r = 0.0, total_x = 0.0;
    for (Py_ssize_t c = 0; c < C; c++) total_r += r[c];
    for (Py_ssize_t c = 0; c < C; c++) total_x += x[c];
    double total = total_r + total_x;
    if (total - total != 0.0) {
        PyObject *lr = PySequence_List(residual), *lo = PySequence_List(observed);
        if (lr && lo)
            PyErr_Format(PyExc_ValueError,
                         "residual %R or reading %R is not finite; a scorer takes only finite values", lr, lo);
        Py_XDECREF(lr);
        Py_XDECREF(lo);
        return -1;
    }
    double decades = self->decades, clip = self->error_clip;
    double *errors = self->p_errors, *zs = self->scratch;
    for (Py_ssize_t c = 0; c < C; c++) {
        double a = fabs(r[c]);
        errors[c] = a < clip ? a : clip;
    }
    for (Py_ssize_t c = 0; c < C; c++) {
        zs[c] = dist_z(&self->forecast[c], self->recent + c * window, self->recent_start[c], self->recent_count[c],
                       window, self->sums[c], errors[c]);
    }
    int has_seasonal = 0;
    double *seasonal = self->p_seasonal;
    if (self->seasonal && self->past.count == self->season_lag) {
        const double *day = season_row(&self->past, C, 1);
        if (day) {
            has_seasonal = 1;
            for (Py_ssize_t c = 0; c < C; c++) seasonal[c] = PYMIN(fabs(x[c] - day[c]), clip);
        }
        const double *week = NULL;
        if (self->long_season_lag && self->past_long.count == self->long_season_lag)
            week = season_row(&self->past_long, C, 1);
        if (week) {
            if (!has_seasonal) {
                has_seasonal = 1;
                for (Py_ssize_t c = 0; c < C; c++) seasonal[c] = PYMIN(fabs(x[c] - week[c]), clip);
            } else {
                for (Py_ssize_t c = 0; c < C; c++) seasonal[c] = PYMIN(seasonal[c], fabs(x[c] - week[c]));
            }
        }
    }
    if (has_seasonal) {
        for (Py_ssize_t c = 0; c < C; c++) {
            Dist *d = &self->seasonal[c];
            if (d->seen >= d->learn_samples) {
                double z = dist_z(d, self->recent_seasonal + c * window, self->rs_start[c], self->rs_count[c], window,
                                  self->sums_seasonal[c], seasonal[c]);
                zs[c] = PYMAX(zs[c], z);
            }
        }
    }
    double *rarity = zs;  /* in place: each z becomes its rarity */
    for (Py_ssize_t c = 0; c < C; c++) rarity[c] = zs[c] > 0.0 ? student3_decades(zs[c]) : 0.0;
    double margin = self->margin;
    if (margin > 0) {
        for (Py_ssize_t c = 0; c < C; c++) {
            double low = self->low[c], high = self->high[c], v = x[c];
            double reach = margin * (high - low);
            if (v > high + reach || v < low - reach) rarity[c] = PYMAX(rarity[c], decades);
        }
    }
    double correction = self->correction, *levels = self->p_levels;
    for (Py_ssize_t c = 0; c < C; c++) levels[c] = rarity[c] > correction ? rarity[c] - correction : 0.0;
    double overall = levels[0];
    for (Py_ssize_t c = 1; c < C; c++) overall = PYMAX(overall, levels[c]);
    double novel;
    if (self->keep != 0.0) {
        double most = 0.0;
        for (Py_ssize_t c = 0; c < C; c++) {
            double n;
            if (self->has_levels && levels[c] <= self->levels[c])
                n = 0.0;
            else
                n = levels[c] - self->memory[c];
            most = c == 0 ? n : PYMAX(most, n);
        }
        novel = PYMAX(0.0, most);
    } else {
        novel = overall;
    }
    PyObject *scores = PyTuple_New(C);
    if (!scores) return -1;
    for (Py_ssize_t c = 0; c < C; c++) {
        PyObject *f = PyFloat_FromDouble(PYMIN(1.0, rarity[c] / decades));
        if (!f) {
            Py_DECREF(scores);
            return -1;
        }
        PyTuple_SET_ITEM(scores, c, f);
    }
    PyObject *args = Py_BuildValue("((ddN))", PYMIN(1.0, overall / decades), PYMIN(1.0, novel / decades), scores);
    if (!args) return -1;
    PyObject *judgement = PyTuple_Type.tp_new((PyTypeObject *)self->judgement_type, args, NULL);
    Py_DECREF(args);
    if (!judgement) return -1;
    self->pending_judgement = judgement;
    Py_INCREF(residual);
    self->pending_residual = residual;
    Py_INCREF(observed);
    self->pending_observed = observed;
    self->p_has_seasonal = has_seasonal;
    self->pending = 1;
    return 0;
}

static void file_entry(Core *self, const double *entry) {
    int repeat = self->previous_normal == 0;
    Season *seasons[2] = {&self->past, &self->past_long};
    int n = self->long_season_lag ? 2 : 1;
    for (int i = 0; i < n; i++) {
        Season *s = seasons[i];
        if (repeat && s->count == s->maxlen)
            season_repeat_oldest(s);
        else
            season_append(s, self->channels, entry);
    }
}

static void advance(Core *self, const double *x, int normal) {
    /* normal: 1, 0, or -1 (None: a bridged reading) */
    Py_ssize_t C = self->channels;
    Py_ssize_t seen = self->last3_count;
    double *filtered = self->scratch;
    if (seen >= 2) {
        const double *a = self->last3 + (seen - 2) * C, *b = self->last3 + (seen - 1) * C;
        for (Py_ssize_t c = 0; c < C; c++) {
            double p = a[c], q = b[c], v = x[c];
            filtered[c] = PYMAX(PYMIN(p, q), PYMIN(PYMAX(p, q), v));
        }
    } else {
        memcpy(filtered, x, C * sizeof(double));
    }
    if (normal == 1) {
        for (Py_ssize_t c = 0; c < C; c++) {
            double v = filtered[c];
            if (v < self->low[c]) self->low[c] = v;
            if (v > self->high[c]) self->high[c] = v;
        }
    }
    if (seen && self->season_lag) file_entry(self, seen >= 2 ? filtered : self->last3 + (seen - 1) * C);
    if (seen == 3) {
        memmove(self->last3, self->last3 + C, 2 * C * sizeof(double));
        seen = 2;
    }
    memcpy(self->last3 + seen * C, x, C * sizeof(double));
    self->last3_count = seen + 1;
    self->previous_normal = normal;
}

static void clear_context(Core *self, int keep_seasons) {
    Py_ssize_t C = self->channels;
    for (Py_ssize_t c = 0; c < C; c++) {
        self->recent_start[c] = self->recent_count[c] = 0;
        self->rs_start[c] = self->rs_count[c] = 0;
        self->sums[c] = 0.0;
        self->sums_seasonal[c] = 0.0;
    }
    self->last3_count = 0;
    self->previous_normal = 1;
    self->has_levels = 0;
    if (!keep_seasons) {
        self->past.start = self->past.count = 0;
        self->past_long.start = self->past_long.count = 0;
    }
    clear_pending(self);
}

/* -- methods ---------------------------------------------------------------------------------------------- */

static PyObject *Core_evaluate(Core *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "evaluate(residual, observed)");
        return NULL;
    }
    if (evaluate(self, args[0], args[1]) < 0) return NULL;
    Py_INCREF(self->pending_judgement);
    return self->pending_judgement;
}

static PyObject *Core_learn(Core *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "learn(residual, observed, normal)");
        return NULL;
    }
    int normal = PyObject_IsTrue(args[2]);
    if (normal < 0 || evaluate(self, args[0], args[1]) < 0) return NULL;
    Py_ssize_t C = self->channels, window = self->window;
    double *errors = self->p_errors;
    for (Py_ssize_t c = 0; c < C; c++) {
        double *ring = self->recent + c * window;
        double oldest = self->recent_count[c] == window ? ring[self->recent_start[c]] : 0.0;
        self->sums[c] += errors[c] - oldest;
        ring_append(ring, &self->recent_start[c], &self->recent_count[c], window, errors[c]);
        if (normal) dist_learn(&self->forecast[c], self->sums[c] / (double)self->recent_count[c]);
    }
    if (self->p_has_seasonal) {
        double *seasonal = self->p_seasonal;
        for (Py_ssize_t c = 0; c < C; c++) {
            double *ring = self->recent_seasonal + c * window;
            double oldest = self->rs_count[c] == window ? ring[self->rs_start[c]] : 0.0;
            self->sums_seasonal[c] += seasonal[c] - oldest;
            ring_append(ring, &self->rs_start[c], &self->rs_count[c], window, seasonal[c]);
            if (normal) dist_learn(&self->seasonal[c], self->sums_seasonal[c] / (double)self->rs_count[c]);
        }
    }
    advance(self, self->p_observed, normal);
    double keep = self->keep;
    for (Py_ssize_t c = 0; c < C; c++) {
        double aged = self->has_levels ? self->levels[c] : 0.0, kept = self->memory[c] * keep;
        self->memory[c] = aged > kept ? aged : kept;
        self->levels[c] = self->p_levels[c];
    }
    self->has_levels = 1;
    clear_pending(self);
    Py_RETURN_NONE;
}

static PyObject *Core_bridge(Core *self, PyObject *observed) {
    double *x = self->p_observed;
    clear_pending(self);
    if (read_values(observed, self->channels, x, "reading") < 0) return NULL;
    for (Py_ssize_t c = 0; c < self->channels; c++) {
        if (x[c] - x[c] != 0.0) {
            PyObject *values = float_list(x, self->channels);
            if (values) {
                PyErr_Format(PyExc_ValueError, "reading %R is not finite; a scorer takes only finite values", values);
                Py_DECREF(values);
            }
            return NULL;
        }
    }
    advance(self, x, -1);
    Py_RETURN_NONE;
}

static PyObject *Core_reset(Core *self, PyObject *lost_obj) {
    if (lost_obj == Py_None || !self->season_lag) {
        clear_context(self, 0);
        Py_RETURN_NONE;
    }
    long long lost = PyLong_AsLongLong(lost_obj);
    if (lost == -1 && PyErr_Occurred()) return NULL;
    if (self->last3_count) file_entry(self, self->last3 + (self->last3_count - 1) * self->channels);
    clear_context(self, 1);
    Season *seasons[2] = {&self->past, &self->past_long};
    int n = self->long_season_lag ? 2 : 1;
    for (int i = 0; i < n; i++) {
        Season *s = seasons[i];
        long long lag = s->maxlen;
        long long times = s->count == lag ? ((lost % lag) + lag) % lag : PYMIN(lost, lag);
        /* Python's % on a negative lost is non-negative; min(lost, lag) may be negative: no iterations */
        for (long long k = 0; k < times; k++) {
            if (s->count == lag)
                season_repeat_oldest(s);
            else
                season_append(s, self->channels, NULL);
        }
    }
    Py_RETURN_NONE;
}

/* load/export: the Python scorer's attributes, as plain values:
 * (forecast [(mean, var, seen)], seasonal [(mean, var, seen)], recent [[..]], recent_seasonal [[..]], sums,
 *  sums_seasonal, last3 [[..]], previous_normal (True/False/None), past bytes, past_long bytes, low, high,
 *  memory, levels ([] or [[..]])), seasons as their entries oldest first in native doubles (NaN rows empty). */

static int load_dists(Dist *dists, Py_ssize_t n, PyObject *seq) {
    PyObject *fast = PySequence_Fast(seq, "distributions");
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "distributions do not fit");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double mean, var;
        long long seen;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "ddL", &mean, &var, &seen)) {
            Py_DECREF(fast);
            return -1;
        }
        dists[i].mean = mean;
        dists[i].var = var;
        dists[i].seen = seen;
        dists[i].spread = sqrt(PYMAX(var, dists[i].floor));
    }
    Py_DECREF(fast);
    return 0;
}

static int load_rows(PyObject *seq, Py_ssize_t width, double *out, Py_ssize_t most, Py_ssize_t *count,
                     const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > most) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "%s: more than %zd rows", what, most);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (read_values(PySequence_Fast_GET_ITEM(fast, i), width, out + i * width, what) < 0) {
            Py_DECREF(fast);
            return -1;
        }
    }
    *count = n;
    Py_DECREF(fast);
    return 0;
}

static int load_rings(PyObject *seq, Core *self, double *rings, Py_ssize_t *starts, Py_ssize_t *counts) {
    PyObject *fast = PySequence_Fast(seq, "windows");
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != self->channels) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "windows do not fit");
        return -1;
    }
    for (Py_ssize_t c = 0; c < self->channels; c++) {
        PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(fast, c), "window");
        if (!row) {
            Py_DECREF(fast);
            return -1;
        }
        Py_ssize_t n = PySequence_Fast_GET_SIZE(row);
        if (n > self->window) {
            Py_DECREF(row);
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "window longer than the window");
            return -1;
        }
        starts[c] = 0;
        counts[c] = n;
        for (Py_ssize_t i = 0; i < n; i++) {
            double v = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(row, i));
            if (v == -1.0 && PyErr_Occurred()) {
                Py_DECREF(row);
                Py_DECREF(fast);
                return -1;
            }
            rings[c * self->window + i] = v;
        }
        Py_DECREF(row);
    }
    Py_DECREF(fast);
    return 0;
}

static int load_season(Season *s, Py_ssize_t channels, PyObject *raw) {
    char *bytes;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(raw, &bytes, &size) < 0) return -1;
    Py_ssize_t row = channels * (Py_ssize_t)sizeof(double);
    if (size % row || size / row > s->maxlen) {
        PyErr_SetString(PyExc_ValueError, "season does not fit");
        return -1;
    }
    s->start = 0;
    s->count = size / row;
    if (size) memcpy(s->data, bytes, size);
    return 0;
}

static int load_list(PyObject *seq, Py_ssize_t n, double *out, const char *what) {
    return read_values(seq, n, out, what);
}

static PyObject *Core_load(Core *self, PyObject *state) {
    PyObject *forecast, *seasonal, *recent, *recent_seasonal, *sums, *sums_seasonal, *last3, *previous;
    PyObject *past, *past_long, *low, *high, *memory, *levels;
    if (!PyArg_ParseTuple(state, "OOOOOOOOSSOOOO", &forecast, &seasonal, &recent, &recent_seasonal, &sums,
                          &sums_seasonal, &last3, &previous, &past, &past_long, &low, &high, &memory, &levels))
        return NULL;
    Py_ssize_t C = self->channels, count = 0;
    clear_pending(self);
    if (load_dists(self->forecast, C, forecast) < 0) return NULL;
    if (self->seasonal ? load_dists(self->seasonal, C, seasonal) < 0 : PyObject_Length(seasonal) != 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "seasonal distributions do not fit");
        return NULL;
    }
    if (load_rings(recent, self, self->recent, self->recent_start, self->recent_count) < 0 ||
        load_rings(recent_seasonal, self, self->recent_seasonal, self->rs_start, self->rs_count) < 0 ||
        load_list(sums, C, self->sums, "sums") < 0 || load_list(sums_seasonal, C, self->sums_seasonal, "sums") < 0 ||
        load_rows(last3, C, self->last3, 3, &self->last3_count, "last3") < 0 ||
        load_season(&self->past, C, past) < 0 || load_season(&self->past_long, C, past_long) < 0 ||
        load_list(low, C, self->low, "range") < 0 || load_list(high, C, self->high, "range") < 0 ||
        load_list(memory, C, self->memory, "memory") < 0 ||
        load_rows(levels, C, self->levels, 1, &count, "levels") < 0)
        return NULL;
    self->has_levels = count == 1;
    self->previous_normal = previous == Py_None ? -1 : PyObject_IsTrue(previous);
    if (self->previous_normal == -1 && previous != Py_None) return NULL;
    Py_RETURN_NONE;
}

static PyObject *dists_out(const Dist *d, Py_ssize_t n) {
    PyObject *list = PyList_New(n);
    if (!list) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = Py_BuildValue("(ddL)", d[i].mean, d[i].var, d[i].seen);
        if (!t) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, t);
    }
    return list;
}

static PyObject *rings_out(const Core *self, const double *rings, const Py_ssize_t *starts,
                           const Py_ssize_t *counts) {
    PyObject *list = PyList_New(self->channels);
    if (!list) return NULL;
    for (Py_ssize_t c = 0; c < self->channels; c++) {
        PyObject *row = PyList_New(counts[c]);
        if (!row) {
            Py_DECREF(list);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < counts[c]; i++) {
            PyObject *f = PyFloat_FromDouble(rings[c * self->window + (starts[c] + i) % self->window]);
            if (!f) {
                Py_DECREF(row);
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(row, i, f);
        }
        PyList_SET_ITEM(list, c, row);
    }
    return list;
}

static PyObject *rows_out(const double *rows, Py_ssize_t n, Py_ssize_t width) {
    PyObject *list = PyList_New(n);
    if (!list) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = float_list(rows + i * width, width);
        if (!row) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, row);
    }
    return list;
}

static PyObject *season_out(const Season *s, Py_ssize_t channels) {
    PyObject *raw = PyBytes_FromStringAndSize(NULL, s->count * channels * (Py_ssize_t)sizeof(double));
    if (!raw) return NULL;
    double *out = (double *)PyBytes_AS_STRING(raw);
    for (Py_ssize_t i = 0; i < s->count; i++)
        memcpy(out + i * channels, s->data + ((s->start + i) % s->maxlen) * channels, channels * sizeof(double));
    return raw;
}

static PyObject *Core_export(Core *self, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t C = self->channels;
    PyObject *previous = self->previous_normal < 0 ? Py_None : self->previous_normal ? Py_True : Py_False;
    return Py_BuildValue(
        "(NNNNNNNONNNNNN)", dists_out(self->forecast, C), self->seasonal ? dists_out(self->seasonal, C) : PyList_New(0),
        rings_out(self, self->recent, self->recent_start, self->recent_count),
        rings_out(self, self->recent_seasonal, self->rs_start, self->rs_count), float_list(self->sums, C),
        float_list(self->sums_seasonal, C), rows_out(self->last3, self->last3_count, C), previous,
        season_out(&self->past, C), season_out(&self->past_long, C), float_list(self->low, C),
        float_list(self->high, C), float_list(self->memory, C), rows_out(self->levels, self->has_levels, C));
}

static PyObject *Core_forecast_means(Core *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *list = PyList_New(self->channels);
    if (!list) return NULL;
    for (Py_ssize_t c = 0; c < self->channels; c++) {
        PyObject *f = PyFloat_FromDouble(self->forecast[c].mean);
        if (!f) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, c, f);
    }
    return list;
}

/* -- the type ---------------------------------------------------------------------------------------------- */

static int parse_dists(PyObject *seq, Dist **out, Py_ssize_t channels) {
    /* each (mean, var, floor, rate, clip_sd, seen, prior, learn_samples) */
    PyObject *fast = PySequence_Fast(seq, "distributions");
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n == 0) {
        Py_DECREF(fast);
        *out = NULL;
        return 0;
    }
    if (n != channels) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "one distribution per channel");
        return -1;
    }
    *out = PyMem_Calloc(n, sizeof(Dist));
    if (!*out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Dist *d = &(*out)[i];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "dddddLLL", &d->mean, &d->var, &d->floor, &d->rate,
                              &d->clip_sd, &d->seen, &d->prior, &d->learn_samples)) {
            Py_DECREF(fast);
            return -1;
        }
        d->spread = sqrt(PYMAX(d->var, d->floor));
    }
    Py_DECREF(fast);
    return 0;
}

static int Core_init(Core *self, PyObject *args, PyObject *kwds) {
    PyObject *forecast, *seasonal, *judgement_type;
    Py_ssize_t channels, window, season_lag, long_season_lag;
    double margin, decades, correction, keep, error_clip;
    if (!PyArg_ParseTuple(args, "nnnndddddOOO", &channels, &window, &season_lag, &long_season_lag, &margin, &decades,
                          &correction, &keep, &error_clip, &forecast, &seasonal, &judgement_type))
        return -1;
    if (channels < 1 || window < 1 || season_lag < 0 || long_season_lag < 0 || !PyType_Check(judgement_type) ||
        !PyType_IsSubtype((PyTypeObject *)judgement_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_ValueError, "Core: bad sizes or judgement type");
        return -1;
    }
    self->channels = channels;
    self->window = window;
    self->season_lag = season_lag;
    self->long_season_lag = long_season_lag;
    self->margin = margin;
    self->decades = decades;
    self->correction = correction;
    self->keep = keep;
    self->error_clip = error_clip;
    Py_INCREF(judgement_type);
    self->judgement_type = judgement_type;
    if (parse_dists(forecast, &self->forecast, channels) < 0 || !self->forecast ||
        parse_dists(seasonal, &self->seasonal, channels) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "Core: no forecast distributions");
        return -1;
    }
    Py_ssize_t C = channels;
    self->recent = PyMem_Calloc(C * window, sizeof(double));
    self->recent_seasonal = PyMem_Calloc(C * window, sizeof(double));
    self->recent_start = PyMem_Calloc(C, sizeof(Py_ssize_t));
    self->recent_count = PyMem_Calloc(C, sizeof(Py_ssize_t));
    self->rs_start = PyMem_Calloc(C, sizeof(Py_ssize_t));
    self->rs_count = PyMem_Calloc(C, sizeof(Py_ssize_t));
    self->sums = PyMem_Calloc(C, sizeof(double));
    self->sums_seasonal = PyMem_Calloc(C, sizeof(double));
    self->low = PyMem_Calloc(C, sizeof(double));
    self->high = PyMem_Calloc(C, sizeof(double));
    self->memory = PyMem_Calloc(C, sizeof(double));
    self->levels = PyMem_Calloc(C, sizeof(double));
    self->last3 = PyMem_Calloc(3 * C, sizeof(double));
    self->p_residual = PyMem_Calloc(C, sizeof(double));
    self->p_observed = PyMem_Calloc(C, sizeof(double));
    self->p_errors = PyMem_Calloc(C, sizeof(double));
    self->p_seasonal = PyMem_Calloc(C, sizeof(double));
    self->p_levels = PyMem_Calloc(C, sizeof(double));
    self->scratch = PyMem_Calloc(C, sizeof(double));
    self->past.maxlen = season_lag > 0 ? season_lag : 1;
    self->past_long.maxlen = long_season_lag > 0 ? long_season_lag : 1;
    self->past.data = PyMem_Calloc(self->past.maxlen * C, sizeof(double));
    self->past_long.data = PyMem_Calloc(self->past_long.maxlen * C, sizeof(double));
    if (!self->recent || !self->recent_seasonal || !self->recent_start || !self->recent_count || !self->rs_start ||
        !self->rs_count || !self->sums || !self->sums_seasonal || !self->low || !self->high || !self->memory ||
        !self->levels || !self->last3 || !self->p_residual || !self->p_observed || !self->p_errors ||
        !self->p_seasonal || !self->p_levels || !self->scratch || !self->past.data || !self->past_long.data) {
        PyErr_NoMemory();
        return -1;
    }
    self->previous_normal = 1;
    return 0;
}

static void Core_dealloc(Core *self) {
    clear_pending(self);
    Py_CLEAR(self->judgement_type);
    void *blocks[] = {self->forecast, self->seasonal, self->recent, self->recent_seasonal, self->recent_start,
                      self->recent_count, self->rs_start, self->rs_count, self->sums, self->sums_seasonal, self->low,
                      self->high, self->memory, self->levels, self->last3, self->p_residual, self->p_observed,
                      self->p_errors, self->p_seasonal, self->p_levels, self->scratch, self->past.data,
                      self->past_long.data};
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) PyMem_Free(blocks[i]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Core_methods[] = {
    {"evaluate", (PyCFunction)(void (*)(void))Core_evaluate, METH_FASTCALL,
     "evaluate(residual, observed) -> Judgement (nothing is learned)"},
    {"learn", (PyCFunction)(void (*)(void))Core_learn, METH_FASTCALL, "learn(residual, observed, normal)"},
    {"bridge", (PyCFunction)Core_bridge, METH_O, "bridge(observed): a reading not scored keeps the season aligned"},
    {"reset", (PyCFunction)Core_reset, METH_O, "reset(lost): after a break (lost: sample periods, or None)"},
    {"load", (PyCFunction)Core_load, METH_O, "load(state tuple): take the Python scorer's attributes"},
    {"export", (PyCFunction)Core_export, METH_NOARGS, "export() -> the state tuple load takes"},
    {"forecast_means", (PyCFunction)Core_forecast_means, METH_NOARGS, "the forecast distributions' means"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "edge.core.scorers._likelihood_core.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The likelihood scorer's recursion (see likelihood.py); bit for bit the Python one.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_likelihood_core",
                                    "The likelihood scorer's recursion in C.", -1, NULL};

PyMODINIT_FUNC PyInit__likelihood_core(void) {
    if (PyType_Ready(&CoreType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
