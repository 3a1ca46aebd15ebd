/* Python 3.9-3.11: the frame being evaluated, and the frame protocol of
 * generators and coroutines, shared by the frame-eval and profile hooks.
 * A generator's frame lives as long as the generator, so its address
 * identifies it across resumptions.  Include after hookcore.h. */
#ifndef CALLFLOW_GENFRAME_H
#define CALLFLOW_GENFRAME_H

#if PY_VERSION_HEX < 0x030C0000

#include <frameobject.h>
#include <stddef.h>

#define CF_GENLIKE_CO_FLAGS (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)

#if PY_VERSION_HEX >= 0x030B0000
/* The interpreter frame and generator layout are internal on 3.11. */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
typedef struct _PyInterpreterFrame cf_evalframe;

static inline PyCodeObject *cf_evalframe_code(cf_evalframe *f) { return f->f_code; }
/* Owned by a generator, not the frame that runs RETURN_GENERATOR to make it. */
static inline int cf_gen_owned(cf_evalframe *f) { return f->owner == FRAME_OWNED_BY_GENERATOR; }
static inline PyGenObject *cf_frame_gen(cf_evalframe *f) {
    return (PyGenObject *)((char *)f - offsetof(PyGenObject, gi_iframe));
}
/* At the RESUME 0 of the prologue (start) or before it (throw into a fresh
 * generator); resumptions are past a later YIELD_VALUE. */
static inline int cf_gen_first_start(cf_evalframe *f) {
    return _PyInterpreterFrame_LASTI(f) <= f->f_code->_co_firsttraceable;
}
static inline int cf_gen_suspended(cf_evalframe *f) {
    return cf_frame_gen(f)->gi_frame_state == FRAME_SUSPENDED;
}
/* The frame a profile callback's frame object stands for. */
static inline cf_evalframe *cf_evalframe_of(PyFrameObject *f) { return f->f_frame; }
/* The first argument of a frame that has not started running, or NULL. */
static inline PyObject *cf_evalframe_first_arg(cf_evalframe *f) {
    return f->f_code->co_argcount > 0 ? f->localsplus[0] : NULL;
}
/* Its argument i (positional), or NULL. */
static inline PyObject *cf_evalframe_arg(cf_evalframe *f, int i) {
    return f->f_code->co_argcount > i ? f->localsplus[i] : NULL;
}
#else
typedef PyFrameObject cf_evalframe;

static inline PyCodeObject *cf_evalframe_code(cf_evalframe *f) { return f->f_code; }
static inline int cf_gen_owned(cf_evalframe *f) {
    (void)f;
    return 1;
}
static inline int cf_gen_first_start(cf_evalframe *f) { return f->f_lasti == -1; }
static inline int cf_gen_suspended(cf_evalframe *f) {
#if PY_VERSION_HEX >= 0x030A0000
    return f->f_state == FRAME_SUSPENDED;
#else
    return f->f_stacktop != NULL;
#endif
}
static inline cf_evalframe *cf_evalframe_of(PyFrameObject *f) { return f; }
static inline PyObject *cf_evalframe_first_arg(cf_evalframe *f) {
    return f->f_code->co_argcount > 0 ? f->f_localsplus[0] : NULL;
}
static inline PyObject *cf_evalframe_arg(cf_evalframe *f, int i) {
    return f->f_code->co_argcount > i ? f->f_localsplus[i] : NULL;
}
#endif

/* Record a start, or (resumed) a generator's resumption, in the sessions of
 * `want` = th->mask & (rec->in_mask | rec->out_mask).  key: the generator's
 * frame (cf_gen_* above), NULL for a plain call. */
static inline void cf_record_start(cf_thread *th, const cf_coderec *rec, PyCodeObject *code,
                                   uint32_t want, void *key, int resumed, int64_t now) {
    CF_FOR_EACH_LIVE_SLOT(want, slot) {
        cf_session *s = cf_slots[slot].session;
        cf_tstack *t = th->stacks[slot];
        if (resumed)
            cf_rec_resume(s, t, rec->func, cf_class_in_slot(rec, slot), code, key, now);
        else
            cf_rec_call(s, t, rec->func, cf_class_in_slot(rec, slot), code, key, now);
    }
}

#endif
#endif
