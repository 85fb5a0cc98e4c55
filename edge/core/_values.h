/* Between Python sequences and C doubles, for the compiled parts (edge/core/_condition_core.c,
 * edge/core/scorers/_likelihood_core.c): a sequence of exactly `channels` numbers into doubles, and doubles
 * into a new list of floats. Each part includes it once, after Python.h. */
#ifndef EDGE_VALUES_H
#define EDGE_VALUES_H

static int read_values(PyObject *seq, Py_ssize_t channels, double *out, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != channels) {
        PyErr_Format(PyExc_ValueError, "%s has %zd values, expected %zd", what, PySequence_Fast_GET_SIZE(fast),
                     channels);
        Py_DECREF(fast);
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t c = 0; c < channels; c++) {
        double v = PyFloat_AsDouble(items[c]);
        if (v == -1.0 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        out[c] = v;
    }
    Py_DECREF(fast);
    return 0;
}

static PyObject *float_list(const double *values, Py_ssize_t n) {
    PyObject *list = PyList_New(n);
    if (!list) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyFloat_FromDouble(values[i]);
        if (!f) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, f);
    }
    return list;
}

#endif
