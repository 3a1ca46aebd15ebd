/* The session's insides and the hot path that the hooks call inline.
 *
 * Each thread has one shadow stack per session.  A frame on it is either
 * recorded (it owns a context-tree node, or an overflow entry once the tree
 * is full) or transparent (out-of-scope internals: pushed only so that
 * returns stay matched, its recorded descendants attach to the nearest
 * recorded ancestor).  A call touches one tree node; per-function and
 * per-edge figures are derived from the tree when a graph is materialised.
 * Times here (fields named *_ns, start, child, since) are cf_now() ticks;
 * materialise.c converts them to nanoseconds. */
#ifndef CALLFLOW_RECORDER_H
#define CALLFLOW_RECORDER_H

#include <stdint.h>
#include <stdlib.h>

#include "callflow/session.h"
#include "ptrmap.h"
#include "tasks.h"
#include "util.h"

/* The library's insides: hidden, so calls between its files are direct
 * (no PLT stub, no indirect jump) and nothing outside can bind to them. */
#pragma GCC visibility push(hidden)

enum { CF_FRAME_IN = 0, CF_FRAME_LEAF = 1, CF_FRAME_TRANSPARENT = 2 };

#define CF_REFUSED (UINT32_MAX - 1) /* children map: path refused at the cap */
/* Bumped whenever a code object the hooks know dies: a call cache keyed by
 * a code object's address is stale once another may be made there. */
extern uint32_t cf_code_epoch;

/* cf_node.flags, fixed when the node is made (cf_rec_new_child). */
#define CF_NODE_LEAF 1u     /* an outside function recorded as a leaf */
#define CF_NODE_KEYED 2u    /* a generator or coroutine: its frames carry a key */
#define CF_NODE_OWN_CORO 4u /* a coroutine or async generator that is not a
                               builtin: its ends in a task step are noted */

typedef struct cf_node {
    uint32_t func;
    uint32_t parent;
    uint32_t last_code_epoch; /* cf_code_epoch when last_code was cached */
    uint32_t last_child; /* one-entry cache of the last child looked up */
    uint32_t last_code_child;
    uint32_t flags;
    const void *last_code; /* one-entry cache by code object, for the hooks'
                              fast path (cf_rec_call_cached) */
    uint64_t calls;
    int64_t total_ns;
    int64_t self_ns;
    int64_t suspended_ns;
} cf_node;
_Static_assert(sizeof(cf_node) == 64, "cf_node is meant to be 64 bytes");

/* Calls on paths refused at the node cap, per (caller, callee) function. */
typedef struct cf_ovf {
    uint32_t caller, callee;
    uint64_t calls;
    int64_t func_total_ns; /* inclusive, counted when outermost for callee */
    int64_t edge_total_ns; /* inclusive, counted when outermost for the edge */
    int64_t self_ns;
    int64_t suspended_ns;
} cf_ovf;

typedef struct cf_frame {
    const void *code; /* identity used to match returns */
    void *key;        /* generator/coroutine frame identity, else NULL */
    int64_t start;
    int64_t child;    /* inclusive time of recorded descendants */
    uint32_t node;    /* own node, nearest recorded one if transparent,
                         CF_NO_NODE in the overflow region */
    uint32_t rec;     /* stack index of the nearest recorded frame */
    uint32_t func;
    uint32_t ovf;     /* overflow entry, when node == CF_NO_NODE */
    uint8_t kind;
    uint8_t outer_func; /* overflow frames: counts toward function total */
    uint8_t outer_edge; /* overflow frames: counts toward edge total */
    uint8_t held;       /* resumed from a suspension entry, kept while it
                           runs (cf_rec_take_suspended) */
    uint32_t task;      /* the outermost traced coroutine of an asyncio task:
                           its record + 1; else 0 */
    /* Keyed frames (generators, coroutines): the stack's nested_ticks when
     * the frame started or resumed, so that the time of eager steps run
     * meanwhile is not taken for its own (cf_rec_ran_for).  64 bytes:
     * frames are indexed with a shift. */
    int64_t nested_at;
} cf_frame;
_Static_assert(sizeof(cf_frame) == 64, "cf_frame is meant to be 64 bytes");

/* A suspended generator or coroutine, waiting to be resumed; after its
 * resumption the entry stays with the running frame (since ==
 * CF_SUSP_RUNNING) until it ends, so that its next suspension reuses it. */
typedef struct cf_susp {
    void *key;
    const void *code;
    int64_t since; /* suspension start, -1 when the session was stopped */
    uint32_t node, func, ovf;
    uint32_t task; /* as cf_frame.task */
    uint8_t kind, outer_func, outer_edge;
} cf_susp;

#define CF_SUSP_RUNNING (-2)

/* Where a suspension is filed: susp_index finds every entry by its key;
 * each generator can also carry a 32-bit note (gennote.h puts it in the
 * generator object), its entry's index + 1, which finds it without a hash
 * lookup when it is right (it is checked).  One session per thread writes
 * notes (cf_tstack.note_writer).  A note is only ever taken from the frame
 * of the event at hand (a recorded frame's key may be a dead generator's).
 * Code that knows no notes (the library's own tests) gets none. */
#ifndef CF_KEY_NOTE
#define CF_KEY_NOTE(key) ((uint32_t *)NULL)
#endif

/* The task step running on a thread stack, as the hooks follow it. */
typedef struct cf_step {
    uint32_t task_depth; /* stack index of the running task's outermost
                            traced coroutine, 0 when no task step runs */
    /* The innermost recorded frame that yielded since the step began (the
     * await that ended the step), for blocking and parents. */
    uint32_t yield_node, yield_func;
    int yield_fresh;
    /* The deepest coroutine of the project's own code that ran, in this
     * step, longer than the blocking threshold: what blocked. */
    uint32_t blame_depth, blame_func;
} cf_step;

/* A step that an eager task's first step interrupted (that step runs
 * inside create_task, within its creator's step): put back when the nested
 * step ends, so the creator's step goes on as it was. */
typedef struct cf_outer_step {
    cf_step step;
    uint32_t task;        /* its task: record + 1, as cf_frame.task */
    int64_t nested_since; /* when the nested step began */
} cf_outer_step;

struct cf_tstack {
    cf_frame *frames; /* frames[0] is the root sentinel */
    uint32_t depth, cap;
    uint64_t owner; /* the hooks' thread id */
    struct cf_tstack *next;
    cf_step step;
    cf_outer_step *outer; /* interrupted steps, innermost last */
    uint32_t nouter;
    size_t outer_alloc;
    int outer_lost;       /* a step could not be saved (no memory) */
    int64_t nested_ticks; /* total time of nested steps ended on this stack */
    int collecting;       /* the collector runs on this thread and the session
                             skips its calls (cf_scope.skip_collector): new
                             frames are transparent (cf_rec_push) */
    int note_writer;      /* this session files its suspensions of this
                             thread's generators in their notes (set by the
                             hooks for one session per thread) */
};

struct cf_session {
    cf_scope scope;
    uint32_t node_cap;
    cf_node *nodes;
    uint32_t nnodes, nodes_alloc;
    cf_map children; /* (parent+1)<<32 | (func+1) -> node or CF_REFUSED */
    uint64_t truncated_paths, truncated_calls;
    cf_ovf *ovf;
    uint32_t novf, ovf_alloc;
    cf_map ovf_index;
    cf_susp *susp;
    uint32_t nsusp, susp_alloc; /* slots used (free ones have key NULL) */
    uint32_t susp_live, susp_free; /* live entries; free-slot chain (via node) */
    cf_map susp_index; /* key pointer -> index in susp */
    cf_tstack *stacks;
    uint8_t *classes; /* per registry id: class + 1, 0 = not computed */
    uint32_t nclasses;
    int running;
    int64_t began, duration_ns;
    uint64_t lost_events; /* dropped for want of memory */
    uint64_t scope_hash;  /* cf_session_scope_hash */
    cf_async *async;      /* asyncio tasks (tasks.c), NULL until one is seen */
    int64_t blocking_ns;  /* a task step longer than this blocks the loop */
    uint32_t serial;      /* new for every tree (session, reset): tags the
                             code records' child cache (hookcore.h) */
    int64_t blocking_ticks; /* blocking_ns in clock ticks once tasks.c worked
                               it out, else 0: a coroutine that ran no longer
                               since it resumed blocked nothing */
};

/* Slow paths (session.c). */
uint32_t cf_rec_new_child(cf_session *s, uint32_t parent, uint32_t func,
                          uint8_t kind);
int cf_rec_grow_stack(cf_tstack *t);
void cf_rec_enter_overflow(cf_session *s, cf_tstack *t, cf_frame *f);
uint32_t cf_rec_resync(cf_session *s, cf_tstack *t, const void *code,
                       int64_t now);
/* note: the generator's note (CF_KEY_NOTE of the event's frame), or NULL;
 * writer: this session may write it. */
void cf_rec_suspend(cf_session *s, cf_frame *f, int64_t now, uint32_t *note, int writer);
int cf_rec_take_suspended(cf_session *s, void *key, const void *code, cf_susp *out,
                          const uint32_t *note);
/* A frame resumed from an entry (cf_frame.held) ended: the entry goes. */
void cf_rec_release(cf_session *s, const void *key, const uint32_t *note);

static inline uint64_t cf_child_key(uint32_t parent, uint32_t func) {
    return ((uint64_t)parent + 1) << 32 | ((uint64_t)func + 1);
}

static inline uint32_t cf_tree_child(cf_session *s, uint32_t parent,
                                     uint32_t func, uint8_t kind) {
    cf_node *p = &s->nodes[parent];
    if (s->nodes[p->last_child].func == func) return p->last_child;
    uint32_t c = cf_map_get(&s->children, cf_child_key(parent, func));
    if (c == CF_MAP_MISSING) c = cf_rec_new_child(s, parent, func, kind);
    if (c == CF_REFUSED) return CF_NO_NODE;
    p = &s->nodes[parent]; /* the node array may have moved */
    p->last_child = c;
    return c;
}

/* Remember that `parent`'s last call of `code` went to `child`: the hooks'
 * fast path (cf_rec_call_cached) then finds the child without the full
 * path.  Only for calls whose handling depends on nothing but the two
 * nodes' functions and the kind of frame on top (checked again there).
 * keyed: the frame has a generator key; the child's flags must agree (a
 * plain function and a generator may share a name, and so a node). */
static inline void cf_rec_cache_child(cf_session *s, uint32_t parent, const void *code,
                                      uint32_t child, int keyed) {
    if (!(s->nodes[child].flags & CF_NODE_KEYED) != !keyed) return;
    cf_node *p = &s->nodes[parent];
    p->last_code = code;
    p->last_code_child = child;
    p->last_code_epoch = cf_code_epoch;
}

/* The next free frame with its common fields set, or NULL when the stack
 * cannot grow (the event is dropped and counted). */
static inline cf_frame *cf_rec_push_frame(cf_session *s, cf_tstack *t, uint32_t func,
                                          const void *code, void *key, int64_t now) {
    if (t->depth == t->cap && cf_rec_grow_stack(t) < 0) {
        s->lost_events++;
        return NULL;
    }
    cf_frame *f = &t->frames[t->depth];
    f->code = code;
    f->key = key;
    f->start = now;
    f->child = 0;
    f->func = func;
    f->task = 0;
    f->held = 0;
    f->nested_at = t->nested_ticks;
    return f;
}

#define CF_PARENT_TOP (UINT32_MAX - 2) /* cf_rec_push: under the stack's top */

/* Push a frame under `parent` (a node, or CF_PARENT_TOP).  cls is the
 * function's enum cf_class under this session. */
static inline void cf_rec_push(cf_session *s, cf_tstack *t, uint32_t func, int cls,
                               const void *code, void *key, int64_t now, uint32_t parent) {
    cf_frame *f = cf_rec_push_frame(s, t, func, code, key, now);
    if (!f) return;
    cf_frame *top = f - 1;
    if (CF_LIKELY(!t->collecting) &&
        (cls == CF_CLASS_IN || (cls == CF_CLASS_OUT && top->kind == CF_FRAME_IN))) {
        f->kind = cls == CF_CLASS_IN ? CF_FRAME_IN : CF_FRAME_LEAF;
        f->rec = t->depth;
        f->ovf = CF_NO_NODE;
        f->outer_func = f->outer_edge = 0;
        if (parent == CF_PARENT_TOP) parent = top->node;
        f->node = parent == CF_NO_NODE ? CF_NO_NODE : cf_tree_child(s, parent, func, f->kind);
        if (f->node != CF_NO_NODE) {
            s->nodes[f->node].calls++;
            /* Generators are cached by cf_rec_call_genlike, when their
             * frame can never begin an asyncio task. */
            if (!key) cf_rec_cache_child(s, top->node, code, f->node, 0);
        } else {
            cf_rec_enter_overflow(s, t, f);
        }
    } else {
        f->kind = CF_FRAME_TRANSPARENT;
        f->node = top->node;
        f->rec = top->rec;
        f->ovf = top->ovf;
    }
    t->depth++;
}

/* A call.  Generators and coroutines (key != NULL) take the out-of-line
 * path of tasks.c, which may bind an event-loop-driven coroutine to its
 * asyncio task. */
static inline void cf_rec_call(cf_session *s, cf_tstack *t, uint32_t func,
                               int cls, const void *code, void *key,
                               int64_t now) {
    if (key) {
        cf_rec_call_genlike(s, t, func, cls, code, key, now);
        return;
    }
    cf_rec_push(s, t, func, cls, code, NULL, now, CF_PARENT_TOP);
}

/* The hooks' fast path for a call: when the caller's node last saw this
 * very code object (or the code's record says which child it went to under
 * this node), the child node (and so the function and its class) is known
 * without the full path.  A leaf child is only valid under a recorded
 * in-scope caller, a generator or coroutine only under the caller's own
 * recorded frame (cached so by cf_rec_call_genlike).  Returns 0 when the
 * full path is needed, 1 when pushed, 2 when pushed as a generator or
 * coroutine whose frame key the caller must set. */
static inline int cf_rec_push_child(cf_session *s, cf_tstack *t, const void *code,
                                    uint32_t c, int64_t now) {
    cf_frame *top = &t->frames[t->depth - 1];
    cf_node *n = &s->nodes[c];
    uint32_t flags = n->flags;
    if (CF_UNLIKELY(flags & (CF_NODE_LEAF | CF_NODE_KEYED))) {
        if ((flags & CF_NODE_LEAF) && top->kind != CF_FRAME_IN) return 0;
        if ((flags & CF_NODE_KEYED) && top->kind == CF_FRAME_TRANSPARENT) return 0;
    }
    cf_frame *f = top + 1;
    /* ovf and outer_* are left as they are: they are read only for frames
     * without a node. */
    f->code = code;
    f->key = NULL;
    f->start = now;
    f->child = 0;
    f->node = c;
    f->rec = t->depth;
    f->func = n->func;
    f->kind = (flags & CF_NODE_LEAF) ? CF_FRAME_LEAF : CF_FRAME_IN;
    f->task = 0;
    f->held = 0;
    n->calls++;
    t->depth++;
    return (flags & CF_NODE_KEYED) ? 2 : 1;
}

/* The child node `parent` last saw `code` go to (cf_rec_cache_child), or
 * CF_NO_NODE. */
static inline uint32_t cf_node_cached_child(const cf_session *s, uint32_t parent,
                                            const void *code) {
    const cf_node *p = &s->nodes[parent];
    return p->last_code == code && p->last_code_epoch == cf_code_epoch ? p->last_code_child
                                                                        : CF_NO_NODE;
}

static inline int cf_rec_call_cached(cf_session *s, cf_tstack *t, const void *code,
                                     int64_t now) {
    uint32_t parent = t->frames[t->depth - 1].node;
    if (parent == CF_NO_NODE || t->depth == t->cap) return 0;
    uint32_t c = cf_node_cached_child(s, parent, code);
    return c == CF_NO_NODE ? 0 : cf_rec_push_child(s, t, code, c, now);
}

/* Account the running time of the recorded (not transparent) frame idx. */
static inline void cf_rec_close_recorded(cf_session *s, cf_tstack *t, uint32_t idx,
                                         int64_t now) {
    const cf_frame *f = &t->frames[idx];
    int64_t incl = now - f->start;
    t->frames[t->frames[idx - 1].rec].child += incl;
    if (f->node != CF_NO_NODE) {
        cf_node *n = &s->nodes[f->node];
        n->total_ns += incl;
        n->self_ns += incl - f->child;
    } else {
        cf_ovf *o = &s->ovf[f->ovf];
        o->self_ns += incl - f->child;
        if (f->outer_func) o->func_total_ns += incl;
        if (f->outer_edge) o->edge_total_ns += incl;
    }
}

/* Account a frame's running time (on return, unwind or yield). */
static inline void cf_rec_close(cf_session *s, cf_tstack *t, uint32_t idx, int64_t now) {
    if (t->frames[idx].kind != CF_FRAME_TRANSPARENT) cf_rec_close_recorded(s, t, idx, now);
}

/* How long the keyed frame f ran since it started or resumed, less the
 * eager steps of other tasks nested in that time. */
static inline int64_t cf_rec_ran_for(const cf_tstack *t, const cf_frame *f, int64_t now) {
    return now - f->start - (t->nested_ticks - f->nested_at);
}

/* Inside a task step, the project's own coroutines note their ends: the
 * first yield is what the step awaited; one that ran past the blocking
 * threshold since it resumed may be what blocked the loop (tasks.c). */
static inline int cf_rec_own_in_step(const cf_session *s, const cf_tstack *t,
                                     const cf_frame *f) {
    return f->key && CF_UNLIKELY(t->step.task_depth) && f->kind == CF_FRAME_IN &&
           f->node != CF_NO_NODE && (s->nodes[f->node].flags & CF_NODE_OWN_CORO);
}

static inline void cf_rec_note_if_own(cf_session *s, cf_tstack *t, uint32_t idx, int exit,
                                      int64_t now) {
    const cf_frame *f = &t->frames[idx];
    if (!cf_rec_own_in_step(s, t, f)) return;
    if (exit == CF_EXIT_YIELD && !t->step.yield_fresh) {
        t->step.yield_fresh = 1;
        t->step.yield_node = f->node;
        t->step.yield_func = f->func;
    }
    if (cf_rec_ran_for(t, f, now) > s->blocking_ticks) cf_rec_note_blame(s, t, f, idx, now);
}

/* The frame of `code` leaves the stack (exit: enum CF_EXIT_*): it returned
 * or unwound, or (a generator or coroutine, CF_EXIT_YIELD) it yielded and
 * its node waits for the resumption.  Events for frames that started
 * before the session are ignored.  live: the frame of the event (a
 * generator's key), NULL when unknown or not a generator. */
static inline void cf_rec_end(cf_session *s, cf_tstack *t, const void *code, int exit,
                              int64_t now, void *live) {
    uint32_t d = t->depth;
    if (d <= 1) return;
    if (t->frames[d - 1].code != code) {
        d = cf_rec_resync(s, t, code, now);
        if (d == 0) return;
    }
    cf_rec_close(s, t, d - 1, now);
    cf_frame *f = &t->frames[d - 1];
    cf_rec_note_if_own(s, t, d - 1, exit, now);
    if (f->key) {
        uint32_t *note = f->key == live ? CF_KEY_NOTE(live) : NULL;
        if (exit == CF_EXIT_YIELD)
            cf_rec_suspend(s, f, now, note, t->note_writer);
        else if (f->held)
            cf_rec_release(s, f->key, note);
    }
    if (CF_UNLIKELY(f->task)) cf_task_left(s, t, f, exit, now);
    t->depth = d - 1;
}

/* For callers whose top frame is the event's own (the library's tests):
 * the hooks call cf_rec_end with the event's frame. */
static inline void *cf_rec_top_key(const cf_tstack *t) {
    return t->frames[t->depth - 1].key;
}

static inline void cf_rec_return(cf_session *s, cf_tstack *t, const void *code, int64_t now) {
    cf_rec_end(s, t, code, CF_EXIT_RETURN, now, cf_rec_top_key(t));
}

static inline void cf_rec_yield(cf_session *s, cf_tstack *t, const void *code, int64_t now) {
    cf_rec_end(s, t, code, CF_EXIT_YIELD, now, cf_rec_top_key(t));
}

/* A generator or coroutine resumes (or has an exception thrown in).  One
 * that was never seen starting counts as a call now. */
static inline void cf_rec_resume_found(cf_session *s, cf_tstack *t, const void *code,
                                       void *key, const cf_susp *spp, int64_t now);

static inline void cf_rec_resume(cf_session *s, cf_tstack *t, uint32_t func,
                                 int cls, const void *code, void *key,
                                 int64_t now) {
    cf_susp sp;
    if (s->susp_live == 0 || !cf_rec_take_suspended(s, key, code, &sp, CF_KEY_NOTE(key))) {
        cf_rec_call(s, t, func, cls, code, key, now);
        return;
    }
    cf_rec_resume_found(s, t, code, key, &sp, now);
}

/* The resumption of a suspension taken from the table: its frame comes
 * back with the node and figures it had. */
static inline void cf_rec_resume_found(cf_session *s, cf_tstack *t, const void *code,
                                       void *key, const cf_susp *spp, int64_t now) {
    const cf_susp sp = *spp;
    cf_frame *f = cf_rec_push_frame(s, t, sp.func, code, key, now);
    if (!f) { /* no frame to hold the entry (the event is lost): it goes */
        cf_rec_release(s, key, NULL);
        return;
    }
    cf_frame *top = f - 1;
    f->kind = sp.kind;
    if (sp.kind == CF_FRAME_TRANSPARENT) {
        f->node = top->node;
        f->rec = top->rec;
        f->ovf = top->ovf;
    } else {
        f->node = sp.node;
        f->rec = t->depth;
        f->ovf = sp.ovf;
        f->outer_func = sp.outer_func;
        f->outer_edge = sp.outer_edge;
        if (sp.since >= 0) {
            if (sp.node != CF_NO_NODE)
                s->nodes[sp.node].suspended_ns += now - sp.since;
            else
                s->ovf[sp.ovf].suspended_ns += now - sp.since;
        }
    }
    f->held = 1;
    t->depth++;
    if (CF_UNLIKELY(sp.task)) {
        f->task = sp.task;
        cf_task_resumed(s, t, sp.task, now);
    }
}

#pragma GCC visibility pop

#endif
