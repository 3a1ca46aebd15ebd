/* The note a generator carries for the recorder (recorder.h, CF_KEY_NOTE):
 * on Python 3.11-3.13 a generator's, coroutine's or async generator's frame
 * lives inside its object (gi_iframe), and the object has four bytes of
 * alignment padding just before it, after gi_frame_state, that CPython
 * never reads or writes.  The recorder keeps there the index of the
 * generator's suspension entry, found again on resumption without a hash
 * lookup: the resumed frame is hot, a hash table of a few thousand entries
 * is not (a third of a resume's cost).  What is there is only a hint: it
 * is checked against the entry's key before use, and every entry is also
 * in its session's map, so the garbage of a fresh object, another
 * session's index or a note overwritten by another object are harmless.
 *
 * Keys are frames: only the frame of the event at hand is passed here (a
 * frame the recorder kept may belong to a generator freed since).  A frame
 * not owned by a generator (3.11's frame that only builds one) has no
 * note. */
#ifndef CALLFLOW_GENNOTE_H
#define CALLFLOW_GENNOTE_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

/* 64-bit only: on 32-bit builds gi_iframe follows the four flag bytes
 * without padding, and there are no notes (the map finds everything). */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && SIZEOF_VOID_P == 8
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

#define CF_NOTE_AT (offsetof(PyGenObject, gi_iframe) - sizeof(uint32_t))
_Static_assert(CF_NOTE_AT >= offsetof(PyGenObject, gi_frame_state) + sizeof(int8_t),
               "no padding before a generator's frame");
_Static_assert(CF_NOTE_AT % sizeof(uint32_t) == 0, "the note is aligned");
_Static_assert(offsetof(PyCoroObject, cr_iframe) == offsetof(PyGenObject, gi_iframe) &&
                   offsetof(PyCoroObject, cr_frame_state) ==
                       offsetof(PyGenObject, gi_frame_state),
               "coroutines share the generator layout");

static inline uint32_t *cf_key_note(void *key) {
    _PyInterpreterFrame *f = (_PyInterpreterFrame *)key;
    if (!f || f->owner != FRAME_OWNED_BY_GENERATOR) return NULL;
    return (uint32_t *)((char *)f - sizeof(uint32_t));
}
#define CF_KEY_NOTE(key) cf_key_note(key)
#endif

#endif
