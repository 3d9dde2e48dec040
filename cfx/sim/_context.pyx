# cython: language_level=3
# distutils: language = c++
"""The compiled twin of an agent's context, `Context`: what
`cfx.sim.participant.AgentContext` does, the readable reference, with the
same answers, the same jitter draws, order ids and arrival times, so the
same run (tests/test_context.py holds the two to that).

The compiled agents call their context a few times a message (a quote,
their position, a wake-up, an order): each call of the reference is an
interpreter frame, and most of them a second one below it (`Participant.delay`,
`Simulation.arrive`, `IndexPublisher.expected_ticks`). Here the calls an
agent makes per message are C methods (`cfx.core._agentctx.AgentCtx`, its
base: a compiled agent calls them from C, any other caller through the
Python methods of the same names, which call them) and the usual case of
what they call is written out: the simulation's ``wake`` called from C
when it is the compiled fan-out's (`Waker`), a participant's and a
tape's attributes read at their slots (cfx/core/_slots.pxd, exact classes
only; any other is read by name), a jitter draw popped off
`Participant._jitter` (`Participant.delay` is called only to draw the next
block, with numpy, as ever), the order id counted and the arrival pushed
onto the compiled schedule (`cfx.core._schedule.Schedule.put`) when the
simulation's class is a plain `Simulation` (`plain`), the searches of
`QuoteTape.at`, `TradeTape.between` and `IndexPublisher.expected_ticks`
(`insertion`: bisect's answer, looked for from the end of the tape, where
an agent's question lands; times compared as C integers when they are
ints within int64), and `IndexPublisher.expected_ticks` with its cache
(a series' month of fixings still summed by `IndexPublisher.expected`).
The simulation's attributes it reads per call are read in its __dict__
(`attr`: a dict lookup, where a read by name is the generic attribute
lookup, several times dearer) and the containers among them (`KEPT`) kept
here, once the compiled fan-out attaches it (`Context.attach`); times and
latencies compare as C integers read off their digits (`as_int64`).
A call whose arguments are not the usual exact types (a numpy integer
quantity, a string side) runs the reference's method itself, as do the
methods an agent calls rarely (`listed`, `depth`, `otc`, ...): each is the
reference's own function, bound to this class. Python objects throughout,
so ints are the reference's ints.

`cfx.sim.loop.Simulation._setup_agents` gives its participants this
context when it takes the compiled fan-out (`Simulation._install_fanout`:
the extension built, ``CFX_ENGINE`` not ``python``), else the reference.
It pickles as the reference does, its five attributes (a checkpoint between
days, `cfx.sim.checkpoint`).
"""

import copyreg
from bisect import bisect_left, bisect_right

from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION, PyMethod_GET_SELF
from cpython.object cimport Py_LT, PyObject, PyObject_RichCompareBool

from libc.stdint cimport int64_t

from cfx.core._agentctx cimport AgentCtx
from cfx.core._schedule cimport Schedule
from cfx.core._slots cimport at, slot

from cfx.products import Series
from cfx.sim.clock import NS
from cfx.sim.information import IndexPublisher
from cfx.sim.loop import ARRIVE, Simulation
from cfx.sim.participant import INT64_MAX, INT64_MIN, AgentContext, Participant
from cfx.sim.tape import NO_QUOTE, QuoteTape, TradeTape
from cfx.types import CancelOrder, ModifyOrder, OrderKind, Side, SubmitOrder, TimeInForce
from cfx.units import NEVER_NS

cdef extern from *:
    """
    static inline int cfx_sub_overflows(int64_t a, int64_t b, int64_t* out) {
        return __builtin_sub_overflow(a, b, out);
    }
    static inline int cfx_add_overflows(int64_t a, int64_t b, int64_t* out) {
        return __builtin_add_overflow(a, b, out);
    }
    /* An exact int of at most three 30-bit digits, below 2**63 in magnitude
       (every time and latency of a run), read off its digits as CPython 3.11
       lays them out (ob_size: the sign and the digit count); any other: 0,
       for PyLong_AsLongLongAndOverflow to say. */
    static inline int cfx_digits_int64(PyObject* v, int64_t* out) {
    #if PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
        Py_ssize_t n = Py_SIZE(v);
        const digit* d = ((PyLongObject*)v)->ob_digit;
        uint64_t x;
        switch (n < 0 ? -n : n) {
        case 0: *out = 0; return 1;
        case 1: x = d[0]; break;
        case 2: x = (uint64_t)d[0] | ((uint64_t)d[1] << 30); break;
        case 3:
            if (d[2] >= 8) return 0;
            x = (uint64_t)d[0] | ((uint64_t)d[1] << 30) | ((uint64_t)d[2] << 60); break;
        default: return 0;
        }
        *out = n < 0 ? -(int64_t)x : (int64_t)x;
        return 1;
    #else
        return 0;
    #endif
    }
    """
    int cfx_sub_overflows(int64_t a, int64_t b, int64_t* out)
    int cfx_add_overflows(int64_t a, int64_t b, int64_t* out)
    bint cfx_digits_int64(object v, int64_t* out)



cdef object T_PARTICIPANT = Participant
cdef object T_QUOTE_TAPE = QuoteTape
cdef object T_TRADE_TAPE = TradeTape
cdef object T_PUBLISHER = IndexPublisher
cdef object T_SERIES = Series
cdef object T_SIDE = Side
cdef object T_KIND = OrderKind
cdef object T_TIF = TimeInForce
cdef object LIMIT = OrderKind.LIMIT
cdef object GTC = TimeInForce.GTC
cdef object ARRIVE_KIND = ARRIVE
cdef object ID_MIN = INT64_MIN
cdef object ID_MAX = INT64_MAX
cdef object LATEST = NEVER_NS
cdef int64_t LATEST_NS = NEVER_NS
cdef object SECOND = NS
cdef object SIM_NEXT_ORDER_ID = Simulation.next_order_id
cdef object SIM_ARRIVE = Simulation.arrive
cdef object REFERENCE = AgentContext
cdef object OBJECT_GETATTRIBUTE = object.__getattribute__
cdef object OBJECT_SETATTR = object.__setattr__

KEPT = ("tapes", "trade_tapes", "series", "settlements", "information", "schedule")
"""The simulation's attributes an attached context keeps (`Context.attach`):
each made with the simulation and never replaced (tests/test_context.py
holds a run of several days to that)."""
cdef tuple READ = KEPT + ("now", "wake", "session_bounds", "_order_id", "tick_micro")  # (`_order_id` written too)
cdef tuple PUBLISHED = ("day", "row", "pub_ns", "_lists", "_expected", "_month", "pre_open_ns", "span")

cdef Py_ssize_t P_MD_NS = slot(Participant, "md_ns"), P_ENTRY_NS = slot(Participant, "entry_ns")
cdef Py_ssize_t P_JITTER = slot(Participant, "_jitter"), P_POSITIONS = slot(Participant, "positions")
cdef Py_ssize_t P_WAKE_AT = slot(Participant, "wake_at")
cdef Py_ssize_t QT_TIMES = slot(QuoteTape, "times"), QT_QUOTES = slot(QuoteTape, "quotes")
cdef Py_ssize_t TT_TIMES = slot(TradeTape, "times"), TT_TRADES = slot(TradeTape, "trades")
cdef Py_ssize_t S_SYMBOL = slot(Series, "symbol"), S_BASKET = slot(Series, "basket")
cdef Py_ssize_t S_PERPETUAL = slot(Series, "perpetual")


cdef inline object get(object d, object key):
    """``d.get(key)``, through the C API for an exact dict (the simulation's tapes and series)."""
    if type(d) is dict:
        return (<dict>d).get(key)
    return d.get(key)


cdef inline bint as_int64(object v, int64_t* out) except -1:
    """``v`` into ``out`` if it is an exact int within int64 (a time, a
    latency), so that it compares as a C integer, as it would as an int;
    False: compare it as an object."""
    cdef int overflow = 0
    if type(v) is not int:
        return False
    if cfx_digits_int64(v, out):
        return True
    out[0] = PyLong_AsLongLongAndOverflow(v, &overflow)
    return overflow == 0


cdef inline bint seen(object t, object now, object md) except -1:
    """``t <= now - md``: has an agent ``md`` behind seen what happened at ``t``?"""
    cdef int64_t tv, n, m, as_of
    if as_int64(t, &tv) and as_int64(now, &n) and as_int64(md, &m) and not cfx_sub_overflows(n, m, &as_of):
        return tv <= as_of
    return t <= now - md


cdef inline int before(list a, Py_ssize_t i, object x, bint fast, int64_t xv, bint right) except -1:
    """Does ``a[i]`` go before ``x``'s insertion point: ``not x < a[i]``
    (``right``, `bisect.bisect_right`'s test) or ``a[i] < x`` (`bisect_left`'s)?
    Exact ints within int64 compare in C (``fast``: ``x`` is one, ``xv``)."""
    cdef int64_t v
    cdef int lt
    item = <object>PyList_GET_ITEM(a, i)
    if fast and as_int64(item, &v):
        return v <= xv if right else v < xv
    if right:
        lt = PyObject_RichCompareBool(x, item, Py_LT)
        return -1 if lt < 0 else not lt
    return PyObject_RichCompareBool(item, x, Py_LT)


cdef Py_ssize_t insertion(list a, object x, Py_ssize_t lo, Py_ssize_t hi, bint right, bint from_end) except -1:
    """`bisect.bisect_right` (``right``) or `bisect_left` of ``x`` in the
    sorted ``a[lo:hi]``: the same index, without a call into the module.
    ``from_end`` (a tape's times, where an agent's question almost always
    lands): the last item first, then steps back doubling, then halving."""
    cdef int64_t xv
    cdef bint fast = as_int64(x, &xv)
    cdef Py_ssize_t top = hi, step = 1, probe, mid
    cdef int b
    while from_end and top > lo:  # the insertion point is at most ``top``
        probe = top - step
        if probe < lo:
            break
        b = before(a, probe, x, fast, xv, right)
        if b < 0:
            return -1
        if b:
            lo = probe + 1
            break
        top = probe
        step *= 2
    hi = top
    while lo < hi:
        mid = (lo + hi) // 2
        b = before(a, mid, x, fast, xv, right)
        if b < 0:
            return -1
        if b:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline object md_ns(object p):
    """``p.md_ns``: at its slot for an exact `Participant`."""
    return at(p, P_MD_NS) if type(p) is T_PARTICIPANT else p.md_ns


cdef inline object basket_of(object s):
    return at(s, S_BASKET) if type(s) is T_SERIES else s.basket


cdef inline bint is_order_id(object v) except -1:
    """Is ``v`` an order id as `order_id_of` passes it unchanged (an int within int64)?"""
    return type(v) is int and ID_MIN <= v <= ID_MAX


cdef bint plain_attrs(object o, tuple names) except -1:
    """Is each of ``names`` read and written in ``o``'s __dict__, as a plain
    entry (`attr`, `put_attr`)? Its class's attribute access `object`'s own,
    none of the names a data descriptor (a property) of its class, and ``o``
    with a __dict__ (the dict itself is looked up at each read: a
    checkpoint, `cfx.sim.checkpoint._dumps`, puts a copy in its place)."""
    cls = type(o)
    if cls.__getattribute__ is not OBJECT_GETATTRIBUTE or cls.__setattr__ is not OBJECT_SETATTR:
        return False
    for name in names:
        for base in cls.__mro__:
            if name in base.__dict__:
                d = base.__dict__[name]
                if hasattr(type(d), "__set__") or hasattr(type(d), "__delete__"):
                    return False
                break
    return type(getattr(o, "__dict__", None)) is dict


cdef inline object kept(object v, object sim, str name):
    """``sim.name``: ``v``, what an attached context keeps of it (`KEPT`), else read by name."""
    return v if v is not None else getattr(sim, name)


cdef class Waker:
    """What wakes an agent: `Simulation.wake` compiled (the fan-out,
    `cfx.sim._fanout.Fanout`, is one, and installs its `wake` as the
    simulation's). A context calls `wake_c` from C when the simulation's
    ``wake`` is this method bound to one."""

    def wake(self, p, when):
        """`Simulation.wake`: ``p``'s one wake-up now at ``when``."""
        self.wake_c(p, when)

    cdef int wake_c(self, object p, object when) except -1:
        raise NotImplementedError


cdef object WAKE = Waker.__dict__["wake"]  # the function a simulation's ``wake`` is bound to when a `Waker` is its


cdef class Context(AgentCtx):
    """`AgentContext` compiled (its docstrings say what each method does):
    ``sim``, ``p``, ``account``, ``rng`` and ``now`` as there, ``now`` the
    attribute the simulation sets before each of the agent's hooks. Its
    Python methods are its C methods (`cfx.core._agentctx.AgentCtx`, which
    the compiled agents call): ``direct`` unless it is a Python subclass,
    whose overrides the agents then call by name."""

    def __init__(self, sim, p):
        self.sim = sim
        self.p = p
        self.account = p.account
        self.rng = p.rng
        self.now = sim.now
        self.bind()

    cdef int attach(self) except -1:
        """What it reads per message kept at hand, once its simulation has it
        all (a context is made before its simulation's `IndexPublisher`, and
        unpickled before its simulation's state is): the compiled fan-out
        calls this when it is installed (`cfx.sim._fanout.Fanout`). The
        simulation's __dict__, where ``now`` and the rest of `READ` are read
        (`plain_attrs`), the containers of `KEPT` taken from it, and the
        `IndexPublisher`'s __dict__ (its day's attributes, `PUBLISHED`). Not
        attached, or a simulation of another kind: each read by name."""
        sim = self.sim
        self.plain_sim = plain_attrs(sim, READ)
        self.tapes = self.trade_tapes = self.live_series = self.settlements = self.information = None
        self.schedule = None
        self.plain_info = False
        if not self.plain_sim:
            return 0
        state = sim.__dict__
        self.tapes, self.trade_tapes = state.get("tapes"), state.get("trade_tapes")
        self.live_series, self.settlements = state.get("series"), state.get("settlements")
        self.information, self.schedule = state.get("information"), state.get("schedule")
        self.plain_info = type(self.information) is T_PUBLISHER and plain_attrs(self.information, PUBLISHED)
        return 0

    cdef int bind(self) except -1:
        """``plain``: its simulation's `next_order_id` and `arrive` are
        `Simulation`'s own, so they can be written out here; ``direct``:
        its class is this one."""
        cls = type(self.sim)
        own = getattr(self.sim, "__dict__", None) or {}
        self.plain = (
            cls.next_order_id is SIM_NEXT_ORDER_ID
            and cls.arrive is SIM_ARRIVE
            and "next_order_id" not in own
            and "arrive" not in own
        )
        self.direct = type(self) is Context
        return 0

    def __reduce__(self):
        return copyreg.__newobj__, (type(self),), (self.sim, self.p, self.account, self.rng, self.now)

    def __setstate__(self, state):
        self.sim, self.p, self.account, self.rng, self.now = state
        self.bind()

    # ------------------------------------------------------------------ what it sees

    def quote(self, series):
        return self.quote_c(series)

    cdef object quote_c(self, object series):
        sim = self.sim
        tape = get(kept(self.tapes, sim, "tapes"), series)
        if tape is None:
            return NO_QUOTE
        now = sim_now(self)
        md = md_ns(self.p)
        if type(tape) is not T_QUOTE_TAPE:
            as_of = now - md
            times = tape.times
            if times and times[-1] <= as_of:
                return tape.quotes[-1]
            return tape.at(as_of)
        times = at(tape, QT_TIMES)  # `QuoteTape.at`, written out
        if times and seen(times[-1], now, md):
            return at(tape, QT_QUOTES)[-1]
        as_of = now - md
        i = (insertion(times, as_of, 0, len(times), True, True) if type(times) is list else bisect_right(times, as_of)) - 1
        return at(tape, QT_QUOTES)[i] if i >= 0 else NO_QUOTE

    def trades(self, series, since_ns):
        """The public tape from ``since_ns`` to what this agent has seen by now."""
        return self.trades_c(series, since_ns)

    cdef object trades_c(self, object series, object since_ns):
        sim = self.sim
        tape = get(kept(self.trade_tapes, sim, "trade_tapes"), series)
        if tape is None:
            return []
        if type(tape) is not T_TRADE_TAPE:
            times = tape.times
            if not times or times[-1] < since_ns:
                return []
            return tape.between(since_ns, sim_now(self) - md_ns(self.p))
        times = at(tape, TT_TIMES)  # `TradeTape.between`, written out
        if not times or times[-1] < since_ns:
            return []
        if type(times) is not list:
            hi = bisect_right(times, sim_now(self) - md_ns(self.p))
            lo = bisect_left(times, since_ns, 0, hi)
        else:
            hi = insertion(times, sim_now(self) - md_ns(self.p), 0, PyList_GET_SIZE(times), True, True)
            lo = insertion(times, since_ns, 0, hi, False, True)
        return at(tape, TT_TRADES)[lo:hi] if lo < hi else []

    def expected_settlement(self, series):
        """Month-to-date fixings plus the latest indicative this agent has
        seen for the rest of the contract month (moves intraday)."""
        return self.expected_settlement_c(series)

    cdef object expected_settlement_c(self, object series):
        sim = self.sim
        s = get(kept(self.live_series, sim, "series"), series)
        if s is None:
            return None
        info = kept(self.information, sim, "information")
        md = md_ns(self.p)
        cdef bint day = self.plain_info and info is self.information  # its day's attributes read in its __dict__
        if type(info) is not T_PUBLISHER or type(s) is not T_SERIES or attr(day, info, "day") is None:
            return info.expected_ticks(s, md)
        basket = at(s, S_BASKET)  # `IndexPublisher.expected_ticks`, written out: today's publications
        row = attr(day, info, "row")
        if basket not in row:
            return info.expected_ticks(s, md)
        pub_ns = attr(day, info, "pub_ns")
        as_of = sim_now(self) - md
        if type(pub_ns) is list:  # (the day's publications, those to come too: halved from the start)
            k = insertion(pub_ns, as_of, 0, PyList_GET_SIZE(pub_ns), True, False) - 1
        else:
            k = bisect_right(pub_ns, as_of) - 1
        key = (at(s, S_SYMBOL), k)
        cache = attr(day, info, "_expected")
        value = cache.get(key)
        if value is None:  # the first to see this publication: its value, kept for the day
            micro = attr(day, info, "_lists")[row[basket]][k] if k >= 0 else sim.published.get(basket)
            if micro is None:
                return None
            cache[key] = value = max(1, round(expected_of(self, info, s, micro)))
        return value

    def value_signal(self, series, noise_ticks):
        """The latent expected final settlement (ahead of publication) plus
        N(0, noise_ticks) from this agent's generator."""
        return self.value_signal_c(series, noise_ticks)

    cdef object value_signal_c(self, object series, object noise_ticks):
        sim = self.sim
        s = get(kept(self.live_series, sim, "series"), series)
        if s is None:
            return None
        info = kept(self.information, sim, "information")
        if type(info) is not T_PUBLISHER or type(s) is not T_SERIES:
            return AgentContext.value_signal(self, series, noise_ticks)
        latent = latent_of(self, info, at(s, S_BASKET))
        if latent is None:
            return None
        value = expected_of(self, info, s, latent)
        return value + float(self.rng.normal(0.0, noise_ticks)) if noise_ticks > 0 else value

    def settlement(self, series):
        return self.settlement_c(series)

    cdef object settlement_c(self, object series):
        return get(kept(self.settlements, self.sim, "settlements"), series)

    def session(self):
        return self.session_c()

    cdef object session_c(self):
        return attr(self.plain_sim, self.sim, "session_bounds")

    def position(self, series):
        """Net lots: the last daily statement plus its own fills delivered since."""
        return self.position_c(series)

    cdef object position_c(self, object series):
        p = self.p
        positions = at(p, P_POSITIONS) if type(p) is T_PARTICIPANT else p.positions
        if type(positions) is dict:
            return (<dict>positions).get(series, 0)
        return positions.get(series, 0)

    # ------------------------------------------------------------------ what it does

    def submit(self, series, side, qty, price=0, *, kind=LIMIT, tif=GTC, post_only=False):
        return self.submit_c(series, side, qty, price, kind, tif, post_only)

    cdef object submit_c(self, object series, object side, object qty, object price, object kind, object tif,
                         object post_only):
        if (
            type(series) is not str
            or type(qty) is not int
            or type(price) is not int
            or (post_only is not False and post_only is not True)
            or type(side) is not T_SIDE
            or type(kind) is not T_KIND
            or type(tif) is not T_TIF
        ):  # to be checked or converted: the reference's
            return AgentContext.submit(self, series, side, qty, price, kind=kind, tif=tif, post_only=post_only)
        oid = self.next_order_id()
        ts = self.arrival()
        self.arrive(ts, SubmitOrder(ts, series, oid, self.account, side, qty, price, kind, tif, post_only))
        return oid

    def cancel(self, order_id):
        self.cancel_c(order_id)

    cdef int cancel_c(self, object order_id) except -1:
        if not is_order_id(order_id):
            AgentContext.cancel(self, order_id)
            return 0
        ts = self.arrival()
        return self.arrive(ts, CancelOrder(ts, order_id, self.account))

    def modify(self, order_id, price, qty):
        self.modify_c(order_id, price, qty)

    cdef int modify_c(self, object order_id, object price, object qty) except -1:
        if not is_order_id(order_id) or type(qty) is not int or type(price) is not int:
            AgentContext.modify(self, order_id, price, qty)
            return 0
        ts = self.arrival()
        return self.arrive(ts, ModifyOrder(ts, order_id, self.account, price, qty))

    def wake_after(self, delay_ns):
        """One wake-up at a time: the earliest asked for wins. One asked for
        after `NEVER_NS` is kept at it (it still never fires)."""
        self.wake_after_c(delay_ns)

    cdef int wake_after_c(self, object delay_ns) except -1:
        """`wake_after`: in C integers when the clock and the delay are ints
        within int64 (the same time, the same comparisons); the simulation's
        ``wake`` called from C when it is a `Waker`'s."""
        cdef int64_t d, n, t, w
        p = self.p
        sim = self.sim
        if type(delay_ns) is not int:
            delay_ns = int(delay_ns)
        now = sim_now(self)
        wake_at = at(p, P_WAKE_AT) if type(p) is T_PARTICIPANT else p.wake_at
        if as_int64(delay_ns, &d) and as_int64(now, &n) and not cfx_add_overflows(n, d if d > 1 else 1, &t):
            if t > LATEST_NS:
                t = LATEST_NS
            if wake_at is not None:
                if as_int64(wake_at, &w):
                    if not t < w:
                        return 0
                elif not PyObject_RichCompareBool(t, wake_at, Py_LT):
                    return 0
            when = LATEST if t == LATEST_NS else t
        else:
            when = now + (delay_ns if delay_ns > 1 else 1)
            if when > LATEST:
                when = LATEST
            if not (wake_at is None or when < wake_at):
                return 0
        wake = attr(self.plain_sim, sim, "wake")
        if (
            PyMethod_Check(wake)
            and PyMethod_GET_FUNCTION(wake) is <PyObject*>WAKE
            and isinstance(<object>PyMethod_GET_SELF(wake), Waker)
        ):
            return (<Waker>PyMethod_GET_SELF(wake)).wake_c(p, when)
        wake(p, when)
        return 0

    def _arrival(self):
        """When a message sent now reaches the venue (its timestamp there)."""
        return self.arrival()

    cdef object arrival(self):
        """`_arrival`: now plus ``p.delay(p.entry_ns)``, the next jitter draw
        popped off its block here (the block drawn by `Participant.delay`)."""
        p = self.p
        now = sim_now(self)
        if type(p) is T_PARTICIPANT:
            jitter = at(p, P_JITTER)
            if type(jitter) is list and PyList_GET_SIZE(jitter):
                return now + (at(p, P_ENTRY_NS) + (<list>jitter).pop())
        return now + p.delay(p.entry_ns)

    cdef object next_order_id(self):
        """`Simulation.next_order_id`, written out for a plain one."""
        sim = self.sim
        if not self.plain:
            return sim.next_order_id()
        oid = attr(self.plain_sim, sim, "_order_id") + 1
        put_attr(self.plain_sim, sim, "_order_id", oid)
        return oid

    cdef int arrive(self, object ts, object cmd) except -1:
        """`Simulation.arrive`: ``cmd`` reaches the venue at ``ts``, pushed
        onto the compiled schedule from C for a plain simulation."""
        sim = self.sim
        if not self.plain:
            sim.arrive(ts, cmd)
            return 0
        schedule = kept(self.schedule, sim, "schedule")
        if type(schedule) is Schedule:
            return (<Schedule>schedule).put(ts, (ts, ARRIVE_KIND, cmd, None))
        schedule.push(ts, ARRIVE_KIND, cmd)
        return 0

    # ------------------------------------------------------------------ the rest: the reference's own

    otc = AgentContext.otc
    listed = AgentContext.listed
    front = AgentContext.front
    depth = AgentContext.depth
    index_ticks = AgentContext.index_ticks
    index_value = AgentContext.index_value
    is_perpetual = AgentContext.is_perpetual
    perpetual = AgentContext.perpetual
    funding_rate = AgentContext.funding_rate
    batch_interval_ns = AgentContext.batch_interval_ns
    indicative = AgentContext.indicative
    days_to_expiry = AgentContext.days_to_expiry
    contract = AgentContext.contract
    settlement_window = AgentContext.settlement_window
    final_settlement_rule = AgentContext.final_settlement_rule
    cancel_all = AgentContext.cancel_all
    watch = AgentContext.watch
    unwatch = AgentContext.unwatch
    deposit = AgentContext.deposit


cdef object latent_of(Context ctx, object info, object basket):
    """`IndexPublisher.latent`."""
    cdef bint published = ctx.plain_info and info is ctx.information
    day = attr(published, info, "day")
    if day is not None:
        latent = day.latent
        if basket in latent:
            g = min(max((sim_now(ctx) - attr(published, info, "pre_open_ns")) // SECOND, 0), attr(published, info, "span"))
            return float(latent[basket][g])
    v = ctx.sim.published.get(basket)
    return None if v is None else float(v)


cdef object expected_of(Context ctx, object info, object s, object value_micro):
    """`IndexPublisher.expected`, its sums of the month's fixings as it
    cached them (not cached yet: it is called, and caches them)."""
    cdef bint published = ctx.plain_info and info is ctx.information
    if at(s, S_PERPETUAL):
        return value_micro / attr(ctx.plain_sim, ctx.sim, "tick_micro")
    cached = attr(published, info, "_month").get(at(s, S_SYMBOL))
    if cached is None:
        return info.expected(s, value_micro)
    total, w_past, w_all = cached
    return (total + (w_all - w_past) * value_micro) / w_all / attr(ctx.plain_sim, ctx.sim, "tick_micro")
