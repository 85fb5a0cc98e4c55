/* The condition monitor's per-reading arithmetic in C (judge, learn, the regime check's short means): the same
 * operations, in the same order, on the same doubles as edge/core/condition.py, so every result is bit for
 * bit the Python one. What it keeps is loaded from and exported to the Python monitor's attributes, so its
 * state format and validation stay in Python. Built with -ffp-contract=off (see setup.py); erfc, log, log1p,
 * log10 and sqrt are the libm functions CPython's math module calls.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "_values.h"

static const double CLIP_SD = 6.0;
static const double WINDOW_CLIP = 1000.0;
static const double MIN_SPREAD_VAR = 1e-6;
static double SQRT2, SQRT_2PI, LN10;

typedef struct {
    PyObject_HEAD
    Py_ssize_t channels, window;
    int raises;
    double hold_sd, rate, level_rate, decades, correction, z_floor2, regime_sd;
    double *mean, *var, *level_mean, *level_var, *sums, *recent;  /* recent: `window` rows, a ring */
    Py_ssize_t start, count;
    PyObject *judged;  /* the reading the means below were judged for (identity), or NULL */
    double *means, *scratch_means, *x;
} Condition;

static double gaussian_decades(double z) {
    /* tails.gaussian_decades */
    if (z < 30.0) {
        double tail = 0.5 * erfc(z / SQRT2);
        return -log10(tail < 1e-300 ? 1e-300 : tail);  /* max(tail, 1e-300): tail unless 1e-300 is larger */
    }
    double log_tail = -0.5 * z * z - log(z * SQRT_2PI) + log1p(-1.0 / (z * z));
    return -log_tail / LN10;
}

static const double *oldest_row(const Condition *self) { return self->recent + self->start * self->channels; }

static PyObject *Condition_judge(Condition *self, PyObject *x_obj) {
    Py_ssize_t C = self->channels;
    if (!self->raises) {
        PyObject *levels = PyTuple_New(C);
        if (!levels) return NULL;
        for (Py_ssize_t c = 0; c < C; c++) PyTuple_SET_ITEM(levels, c, PyFloat_FromDouble(0.0));
        return Py_BuildValue("(dN)", 0.0, levels);
    }
    double *x = self->x;
    if (read_values(x_obj, C, x, "reading") < 0) return NULL;
    Py_ssize_t n = self->count, window = self->window;
    int full = n == window;
    const double *oldest = full ? oldest_row(self) : NULL;
    Py_ssize_t count = full ? n : n + 1;
    double widen = (double)window / (double)count;
    double floor2 = self->z_floor2, correction = self->correction, decades = self->decades;
    PyObject *levels = PyTuple_New(C);
    if (!levels) return NULL;
    double most = 0.0;
    for (Py_ssize_t c = 0; c < C; c++) {
        double v = x[c], level = 0.0;
        if (!(-WINDOW_CLIP < v && v < WINDOW_CLIP)) v = copysign(WINDOW_CLIP, v);
        double m = (full ? (self->sums[c] - oldest[c] + v) : (self->sums[c] + v)) / (double)count;
        self->means[c] = m;
        double spread2 = self->level_var[c] * widen;
        double d2 = (m - self->level_mean[c]) * (m - self->level_mean[c]);
        if (!(d2 <= floor2 * spread2)) {
            double rarity = gaussian_decades(sqrt(d2 / spread2)) - correction;
            if (rarity > 0.0) level = rarity < decades ? rarity / decades : 1.0;
        }
        PyObject *f = PyFloat_FromDouble(level);
        if (!f) {
            Py_DECREF(levels);
            return NULL;
        }
        PyTuple_SET_ITEM(levels, c, f);
        if (c == 0 || level > most) most = level;
    }
    Py_INCREF(x_obj);
    Py_XSETREF(self->judged, x_obj);
    return Py_BuildValue("(dN)", most, levels);
}

static void short_means(Condition *self, const double *x, double *out) {
    /* ConditionMonitor.short_mean */
    Py_ssize_t C = self->channels, n = self->count;
    if (n == self->window) {
        const double *oldest = oldest_row(self);
        for (Py_ssize_t c = 0; c < C; c++) {
            double v = fmin(fmax(x[c], -WINDOW_CLIP), WINDOW_CLIP);
            out[c] = (self->sums[c] - oldest[c] + v) / (double)n;
        }
    } else {
        for (Py_ssize_t c = 0; c < C; c++) {
            double v = fmin(fmax(x[c], -WINDOW_CLIP), WINDOW_CLIP);
            out[c] = (self->sums[c] + v) / (double)(n + 1);
        }
    }
}

static PyObject *Condition_outside(Condition *self, PyObject *x_obj) {
    /* the channels whose short mean is beyond regime_sd (outside_training's first test; the median is Python's) */
    Py_ssize_t C = self->channels;
    double limit = self->regime_sd;
    if (limit <= 0 || self->count + 1 < self->window) return PyList_New(0);
    double *means = self->means;
    if (self->judged != x_obj) {
        if (read_values(x_obj, C, self->x, "reading") < 0) return NULL;
        short_means(self, self->x, self->scratch_means);
        means = self->scratch_means;
    }
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t c = 0; c < C; c++) {
        if (fabs(means[c]) > limit) {
            PyObject *i = PyLong_FromSsize_t(c);
            if (!i || PyList_Append(out, i) < 0) {
                Py_XDECREF(i);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(i);
        }
    }
    return out;
}

static PyObject *Condition_learn(Condition *self, PyObject *const *args, Py_ssize_t nargs) {
    /* learn(x, normal, level_normal): ConditionMonitor.learn_one */
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "learn(x, normal, level_normal)");
        return NULL;
    }
    Py_ssize_t C = self->channels, window = self->window;
    double *x = self->x;
    if (read_values(args[0], C, x, "reading") < 0) return NULL;
    int normal = PyObject_IsTrue(args[1]);
    if (normal < 0) return NULL;
    int level_normal = args[2] == Py_None ? normal : PyObject_IsTrue(args[2]);
    if (level_normal < 0) return NULL;
    for (Py_ssize_t c = 0; c < C; c++) {
        double v = x[c];
        x[c] = (-WINDOW_CLIP < v && v < WINDOW_CLIP) ? v : copysign(WINDOW_CLIP, v);
    }
    Py_CLEAR(self->judged);
    double *slot;
    if (self->count == window) {
        const double *oldest = oldest_row(self);
        for (Py_ssize_t c = 0; c < C; c++) self->sums[c] = self->sums[c] - oldest[c] + x[c];
        slot = self->recent + self->start * C;  /* the oldest row's slot takes the new one */
        self->start = (self->start + 1) % window;
    } else {
        for (Py_ssize_t c = 0; c < C; c++) self->sums[c] = self->sums[c] + x[c];
        slot = self->recent + ((self->start + self->count) % window) * C;
        self->count += 1;
    }
    memcpy(slot, x, C * sizeof(double));
    if (normal && self->hold_sd > 0) {
        double rate = self->rate, keep = 1.0 - self->rate;
        for (Py_ssize_t c = 0; c < C; c++) {
            double mean = self->mean[c], var = self->var[c];
            double delta = x[c] - mean;
            if (delta * delta > CLIP_SD * CLIP_SD * var) delta = copysign(CLIP_SD * sqrt(var), delta);
            self->mean[c] = mean + rate * delta;
            var = keep * (var + rate * delta * delta);
            self->var[c] = var > 1e-6 ? var : 1e-6;
        }
    }
    if (level_normal && self->count == window) {
        double rate = self->level_rate, keep = 1.0 - self->level_rate;
        Py_ssize_t count = self->count;
        for (Py_ssize_t c = 0; c < C; c++) {
            double mean = self->level_mean[c], var = self->level_var[c];
            double delta = self->sums[c] / (double)count - mean;
            if (delta * delta > CLIP_SD * CLIP_SD * var) delta = copysign(CLIP_SD * sqrt(var), delta);
            self->level_mean[c] = mean + rate * delta;
            var = keep * (var + rate * delta * delta);
            self->level_var[c] = var > MIN_SPREAD_VAR ? var : MIN_SPREAD_VAR;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *Condition_reset(Condition *self, PyObject *Py_UNUSED(ignored)) {
    Py_CLEAR(self->judged);
    self->start = self->count = 0;
    for (Py_ssize_t c = 0; c < self->channels; c++) self->sums[c] = 0.0;
    Py_RETURN_NONE;
}

/* load/export: (mean, var, recent rows oldest first, sums, level_mean, level_var), as the Python attributes */
static PyObject *Condition_load(Condition *self, PyObject *state) {
    PyObject *mean, *var, *recent, *sums, *level_mean, *level_var;
    if (!PyArg_ParseTuple(state, "OOOOOO", &mean, &var, &recent, &sums, &level_mean, &level_var)) return NULL;
    Py_ssize_t C = self->channels;
    if (read_values(mean, C, self->mean, "mean") < 0 || read_values(var, C, self->var, "var") < 0 ||
        read_values(sums, C, self->sums, "sums") < 0 || read_values(level_mean, C, self->level_mean, "level_mean") < 0 ||
        read_values(level_var, C, self->level_var, "level_var") < 0)
        return NULL;
    PyObject *rows = PySequence_Fast(recent, "recent");
    if (!rows) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(rows);
    if (n > self->window) {
        Py_DECREF(rows);
        PyErr_SetString(PyExc_ValueError, "more recent rows than the window");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (read_values(PySequence_Fast_GET_ITEM(rows, i), C, self->recent + i * C, "recent") < 0) {
            Py_DECREF(rows);
            return NULL;
        }
    }
    Py_DECREF(rows);
    self->start = 0;
    self->count = n;
    Py_CLEAR(self->judged);
    Py_RETURN_NONE;
}

static PyObject *Condition_export(Condition *self, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t C = self->channels;
    PyObject *rows = PyList_New(self->count);
    if (!rows) return NULL;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        PyObject *row = float_list(self->recent + ((self->start + i) % self->window) * C, C);
        if (!row) {
            Py_DECREF(rows);
            return NULL;
        }
        PyList_SET_ITEM(rows, i, row);
    }
    return Py_BuildValue("(NNNNNN)", float_list(self->mean, C), float_list(self->var, C), rows,
                         float_list(self->sums, C), float_list(self->level_mean, C), float_list(self->level_var, C));
}

static int Condition_init(Condition *self, PyObject *args, PyObject *kwds) {
    /* (channels, window, raises, hold_sd, rate, level_rate, decades, correction, z_floor2, regime_sd) */
    Py_ssize_t channels, window;
    int raises;
    if (!PyArg_ParseTuple(args, "nnpddddddd", &channels, &window, &raises, &self->hold_sd, &self->rate,
                          &self->level_rate, &self->decades, &self->correction, &self->z_floor2, &self->regime_sd))
        return -1;
    if (channels < 1 || window < 1) {
        PyErr_SetString(PyExc_ValueError, "Condition: channels and window must be at least 1");
        return -1;
    }
    self->channels = channels;
    self->window = window;
    self->raises = raises;
    Py_ssize_t C = channels;
    double **blocks[] = {&self->mean, &self->var, &self->level_mean, &self->level_var, &self->sums,
                         &self->means, &self->scratch_means, &self->x};
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        *blocks[i] = PyMem_Calloc(C, sizeof(double));
        if (!*blocks[i]) {
            PyErr_NoMemory();
            return -1;
        }
    }
    self->recent = PyMem_Calloc(C * window, sizeof(double));
    if (!self->recent) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Condition_dealloc(Condition *self) {
    Py_CLEAR(self->judged);
    double *blocks[] = {self->mean, self->var, self->level_mean, self->level_var, self->sums,
                        self->means, self->scratch_means, self->x, self->recent};
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) PyMem_Free(blocks[i]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Condition_methods[] = {
    {"judge", (PyCFunction)Condition_judge, METH_O, "judge(x) -> (level, channel levels): nothing changes"},
    {"learn", (PyCFunction)(void (*)(void))Condition_learn, METH_FASTCALL, "learn(x, normal, level_normal)"},
    {"outside", (PyCFunction)Condition_outside, METH_O, "channels whose short mean is beyond regime_sd"},
    {"reset", (PyCFunction)Condition_reset, METH_NOARGS, "after a break: the window starts again"},
    {"load", (PyCFunction)Condition_load, METH_O, "load(state tuple): take the Python monitor's attributes"},
    {"export", (PyCFunction)Condition_export, METH_NOARGS, "export() -> the state tuple load takes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ConditionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "edge.core._condition_core.Condition",
    .tp_basicsize = sizeof(Condition),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The condition monitor's recursion (see condition.py); bit for bit the Python one.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Condition_init,
    .tp_dealloc = (destructor)Condition_dealloc,
    .tp_methods = Condition_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_condition_core",
                                    "The condition monitor's recursion in C.", -1, NULL};

PyMODINIT_FUNC PyInit__condition_core(void) {
    SQRT2 = sqrt(2.0);
    SQRT_2PI = sqrt(2.0 * M_PI);
    LN10 = log(10.0);
    if (PyType_Ready(&ConditionType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ConditionType);
    if (PyModule_AddObject(m, "Condition", (PyObject *)&ConditionType) < 0) {
        Py_DECREF(&ConditionType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
