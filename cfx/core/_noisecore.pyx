# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=False
# distutils: language = c++
"""The noise trader's hot path, compiled: `cfx.agents.noise_trader.NoiseTrader`'s
wake-ups and order events with typed state and C arithmetic, and the
`cfx.agents.execution.Executor` that works its market orders (what
cfx.agents.compiled puts together as `CompiledNoiseTrader`).

The Python classes stay the rule; this is their layout in C, as
cfx/core/_mmcore.pyx is the market maker's: the same operations on the
same values in the same order, so every command it sends, and so every
run hash, is the same (tests/test_noisecore.py runs the two side by side).
What that takes:

- floats are C doubles computed in the reference's order (setup.py builds
  this module with ``-ffp-contract=off``: no fused multiply-adds); ints
  are int64 (`cfx.agents.compiled.fits` keeps a spec's times far inside
  it), and an int the reference mixes with a float converts to a double
  as Python converts it (rounded to nearest; prices and time differences
  are far below 2**53);
- a value the reference may hold as None (the last mid seen) is a C value
  and a flag, seen from Python as the reference's attribute;
- the uniform draws are the agent's generator's own: where ``ctx.rng`` is
  a numpy `Generator` they are read straight off its bit generator
  (`BitGen`: the ``next_double`` that ``rng.random()`` and
  ``rng.random(6)`` call, one per draw, in the same order), else through
  ``rng.random`` as the reference does;
- what is not hot (the start, the series roll) stays in the reference's
  Python methods, which call these.

`Alarms` and `OwnOrders` are cfx/core/_common.pyx's (cimported from _common.pxd);
`BitGen`, the `Executor` and the helpers are declared in _noisecore.pxd,
which the compiled value trader (cfx/core/_valuecore.pyx) cimports. The
context (quotes, positions, submit, cancel, wake-ups, the session) is
called through cfx/core/_agentctx.pxd's ``ctx_*`` helpers: C calls on the
compiled loop's context, calls by name, with the same arguments, on any
other (tests/test_context.py runs the same agents through both).
Everything pickles (a checkpoint): Cython's generated reduce, which for a
Python subclass also carries its ``__dict__``.
"""


from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport ceil, exp, fabs, isinf, log1p, pow

from cfx.core._agentctx cimport (
    AgentCtx,
    ctx_cancel,
    ctx_expected_settlement,
    ctx_modify,
    ctx_now,
    ctx_position,
    ctx_quote,
    ctx_rng,
    ctx_settlement,
    ctx_wake_after,
    direct,
)
from cfx.core._common cimport Alarms, OwnOrders, py_ceil, py_floor

from numpy.random import Generator

from cfx.types import OrderCancelled, OrderKind, OrderRejected, Side, TimeInForce, Trade

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object MARKET = OrderKind.MARKET
cdef object IOC = TimeInForce.IOC
cdef object DAY = TimeInForce.DAY
cdef object LIMIT = OrderKind.LIMIT
cdef object TRADE = Trade
cdef object CANCELLED = OrderCancelled
cdef object REJECTED = OrderRejected
cdef object GENERATOR = Generator
cdef str ORDER = "order"
cdef str EXEC = "exec"
cdef str POV = "pov"
cdef tuple STYLES = ("twap", "pov")  # cfx.agents.execution.STYLES
cdef long long SECOND = 1_000_000_000
cdef long long EXACT = 1 << 53  # ints below it convert to a double exactly
cdef long long HUGE = 1 << 62


# ----------------------------------------------------------------------------- uniform draws


cdef class BitGen:
    """The uniform draws of one hook: ``ctx.rng``'s bit generator read
    directly when it is a numpy `Generator` (``Generator.random`` is one
    ``next_double`` per draw, under a lock only other threads would need:
    an agent's generator is drawn from by the loop's thread alone), else
    ``rng.random()``. Made per hook, never kept (so nothing holds a
    pointer across a checkpoint)."""

    @staticmethod
    cdef BitGen of(object rng):
        cdef BitGen g = BitGen.__new__(BitGen)
        g.rng = rng
        g.bg = NULL
        if type(rng) is GENERATOR:
            g.owner = rng.bit_generator  # keeps the state the pointer points into alive
            g.bg = <cfx_bitgen *>PyCapsule_GetPointer(g.owner.capsule, "BitGenerator")
        return g

    cdef int six(self, double *u) except -1:
        """``rng.random(6).tolist()``, into ``u``."""
        cdef int i
        if self.bg is not NULL:
            for i in range(6):
                u[i] = self.bg.next_double(self.bg.state)
            return 0
        u[0], u[1], u[2], u[3], u[4], u[5] = self.rng.random(6).tolist()
        return 0


# ----------------------------------------------------------------------------- helpers (cfx.agents.common)


cdef double activity(ctx, long long now, double amplitude, double decay_s) except? -1.0:
    """`cfx.agents.common.activity` (amplitude not 0)."""
    cdef long long open_ns, close_ns
    cdef double tau, since, until
    if direct(ctx):
        bounds = (<AgentCtx>ctx).session_c()
    else:
        session = getattr(ctx, "session", None)
        if session is None:
            return 1.0
        bounds = session()
    open_ns, close_ns = bounds
    if close_ns <= open_ns:
        return 1.0
    tau = decay_s * 1e9
    since = <double>(now - open_ns if now > open_ns else 0) / tau
    until = <double>(close_ns - now if close_ns > now else 0) / tau
    return 1.0 + amplitude * (exp(-since) + exp(-until))


cdef long long pareto_lots(double u, long long min_lots, double alpha, long long cap) except? -1:
    """`cfx.agents.common.pareto_lots`: where Python overflows (the power,
    or the size times it), the cap."""
    cdef double r = pow(1.0 - u, -1.0 / alpha)
    cdef double x
    cdef long long q
    if isinf(r):
        return cap
    x = <double>min_lots * r
    if not (x < <double>HUGE):  # int() of it is beyond any cap (or overflows, inf)
        return cap
    q = <long long>x
    if q < min_lots:
        q = min_lots
    return cap if cap < q else q


cdef bint reference_price(ctx, series, q, double *out) except -1:
    """`cfx.agents.common.reference_price` into ``out``; False where it is None."""
    bid = q.bid
    ask = q.ask
    if bid is not None and ask is not None:
        out[0] = <double>(<long long>bid + <long long>ask) / 2.0
        return True
    last = q.last
    if last is not None:
        out[0] = <double>last
        return True
    p = ctx_settlement(ctx, series)
    if p is None:
        p = ctx_expected_settlement(ctx, series)
        if p is None:
            p = ctx.index_ticks(series)
    if p is None:
        p = bid if bid is not None else ask
        if p is None:
            return False
    out[0] = <double>p
    return True


# ----------------------------------------------------------------------------- the executor


cdef class Executor:
    """`cfx.agents.execution.Executor`, compiled: the same attributes and
    methods (see its docstring), its hooks typed. Made by the compiled
    noise trader (`NoiseCore`) and the compiled value trader
    (cfx/core/_valuecore.pyx; fields in _noisecore.pxd)."""

    def __init__(
        self,
        series,
        side,
        long long qty,
        *,
        long long start_ns,
        long long end_ns,
        style="twap",
        double pov_rate=0.1,
        long long max_child_lots=10,
        limit_ticks=None,
        double urgency=0.5,
        long long pov_interval_ns=30 * SECOND,
    ):
        self.init_c(series, side, qty, start_ns, end_ns, style, pov_rate, max_child_lots, limit_ticks, urgency,
                    pov_interval_ns)

    cdef int init_c(
        self, series, side, long long qty, long long start_ns, long long end_ns, style, double pov_rate,
        long long max_child_lots, limit_ticks, double urgency, long long pov_interval_ns,
    ) except -1:
        cdef long long n
        if qty <= 0:
            raise ValueError("qty must be > 0")
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}")
        if max_child_lots <= 0:
            raise ValueError("max_child_lots must be > 0")
        if not 0.0 <= urgency <= 1.0:
            raise ValueError("urgency must be in [0, 1]")
        if not 0.0 < pov_rate <= 1.0:
            raise ValueError("pov_rate must be in (0, 1]")
        self.series = series
        self.side = side
        self.qty = qty
        self.start_ns = start_ns
        self.end_ns = end_ns if end_ns >= start_ns + 1 else start_ns + 1
        self.style = style
        self.pov_rate = pov_rate
        self.max_child_lots = max_child_lots
        self.limit_ticks = limit_ticks
        self.urgency = urgency
        self.filled = 0
        self.done = False
        self.children = {}  # order id -> [price, open qty, passive]
        n = <long long>ceil(<double>qty / <double>max_child_lots)  # math.ceil(qty / max_child_lots)
        self.slice_ns = (self.end_ns - start_ns) // n
        if self.slice_ns < 1:
            self.slice_ns = 1
        self.pov_interval_ns = pov_interval_ns
        self.grace_ns = (self.end_ns - start_ns) // 10
        if self.grace_ns < 60 * SECOND:
            self.grace_ns = 60 * SECOND
        self.market_volume = 0
        self._tape_since = start_ns
        self.crossed = 0
        self.sent = 0
        return 0

    # ------------------------------------------------------------------ state

    @property
    def remaining(self):
        return 0 if self.done else self.qty - self.filled

    @property
    def working(self):
        return sum(c[1] for c in self.children.values())

    def target(self, long long now):
        return self.target_c(now, self.style == POV)

    cdef long long target_c(self, long long now, bint pov) except? -1:
        cdef long long a, b, t
        cdef double frac
        if now >= self.end_ns:
            return self.qty
        if pov and self._tape_since is not None:
            t = <long long>(self.pov_rate * <double>self.market_volume)
            return self.qty if self.qty <= t else t
        a = now - self.start_ns
        b = self.end_ns - self.start_ns
        if -EXACT < a < EXACT and b < EXACT:
            frac = <double>a / <double>b
        else:  # Python's int / int, correctly rounded from the exact ints
            frac = (<object>a) / (<object>b)
        t = py_ceil(frac * <double>self.qty)
        if t < 0:
            t = 0
        return self.qty if self.qty <= t else t

    # ------------------------------------------------------------------ hooks

    def on_wakeup(self, ctx):
        cdef long long delay = self.on_wakeup_c(ctx, BitGen.of(ctx_rng(ctx)))
        return None if delay < 0 else delay

    cdef long long on_wakeup_c(self, ctx, BitGen rng) except -2:
        """`Executor.on_wakeup`: ns until the next wake-up, or -1 for None."""
        cdef long long now, left, behind, working, need, qty, step, d
        cdef bint pov, buy, late, capped, cross
        cdef list c
        if self.done:
            return -1
        now = ctx_now(ctx)
        if now < self.start_ns:
            return self.start_ns - now
        left = self.qty - self.filled
        if left <= 0 or now >= self.end_ns + self.grace_ns:
            self.cancel(ctx)
            return -1
        pov = self.style == POV
        if pov:
            self._read_tape(ctx, now)
        q = ctx_quote(ctx, self.series)
        buy = self.side is BUY
        if buy:
            own_best = q.bid
            other_best = q.ask
        else:
            own_best = q.ask
            other_best = q.bid
        behind = self.target_c(now if pov else now + self.slice_ns, pov) - self.filled
        late = now >= self.end_ns or self.target_c(now, pov) - self.filled > 2 * self.max_child_lots
        working = 0
        capped = self.limit_ticks is not None
        for oid, v in self.children.items():
            c = v
            working += <long long>c[1]
            if not c[2]:
                continue
            if late:
                ctx_cancel(ctx, oid)
                c[2] = False
                continue
            price = own_best if own_best is not None else c[0]
            if capped:
                price = self._capped(price)
            if price is not None and price != c[0]:
                ctx_modify(ctx, oid, price, c[1])
                c[0] = price
        need = (behind if behind <= left else left) - working
        if need > 0:
            qty = need if need <= self.max_child_lots else self.max_child_lots
            cross = late or rng.draw() < self.urgency
            if cross and other_best is not None:
                price = self._capped(other_best, True) if capped else other_best
                if price is not None:
                    self.child_c(ctx, qty, price, False)
                    self.crossed += 1
            elif own_best is not None or other_best is not None:
                if own_best is not None:
                    price = own_best
                else:
                    price = other_best - 1 if buy else other_best + 1
                if capped:
                    price = self._capped(price)
                if price is not None and price > 0:
                    self.child_c(ctx, qty, price, True)
        if late:
            return SECOND
        step = self.pov_interval_ns if pov else self.slice_ns
        d = trunc_ns(-log1p(-rng.draw()) * <double>step)
        return d if d > 1 else 1

    def on_order_event(self, ctx, event):
        self.on_order_event_c(event)

    cdef int on_order_event_c(self, event) except -1:
        cdef dict children = self.children
        cdef list c
        cdef long long q, eq
        t = type(event)
        if t is TRADE:
            eq = event.qty
            for oid in (event.maker_id, event.taker_id):
                v = children.get(oid)
                if v is not None:
                    c = v
                    q = c[1]
                    if eq < q:
                        q = eq
                    self.filled += q
                    c[1] = <long long>c[1] - q
                    if <long long>c[1] <= 0:
                        del children[oid]
            if self.filled >= self.qty:
                self.done = True
        elif t is CANCELLED or t is REJECTED:
            children.pop(event.order_id, None)
        return 0

    def owns(self, order_id):
        return order_id in self.children

    def cancel(self, ctx):
        for oid, c in self.children.items():
            if c[2]:
                ctx_cancel(ctx, oid)
        self.done = True

    # ------------------------------------------------------------------ internals

    def _capped(self, price, crossing=False):
        lim = self.limit_ticks
        if lim is None:
            return price
        if self.side is BUY:
            if price > lim:
                return None if crossing else lim
        elif price < lim:
            return None if crossing else lim
        return price

    def _child(self, ctx, long long qty, price, passive):
        self.child_c(ctx, qty, price, passive)

    cdef int child_c(self, ctx, long long qty, price, bint passive) except -1:
        if direct(ctx):
            oid = (<AgentCtx>ctx).submit_c(self.series, self.side, qty, price, LIMIT, DAY if passive else IOC, False)
        elif passive:
            oid = ctx.submit(self.series, self.side, qty, price, tif=DAY)
        else:
            oid = ctx.submit(self.series, self.side, qty, price, tif=IOC)
        self.children[oid] = [price, qty, passive]
        self.sent += 1
        return 0

    def _read_tape(self, ctx, now):
        trades = getattr(ctx, "trades", None)
        if trades is None:
            self._tape_since = None
            return
        since = self._tape_since
        for t in trades(self.series, since):
            self.market_volume += t.qty
            if t.ts + 1 > since:
                since = t.ts + 1
        self._tape_since = since


# ----------------------------------------------------------------------------- the noise trader


cdef class NoiseCore:
    """The hooks that run per wake-up and order event (`on_wakeup`,
    `on_order_event`) and what they call (`intensity`, `_next`, `_work`),
    over typed fields. A base of `CompiledNoiseTrader` (with `NoiseTrader`
    after it: its ``__init__`` fills the fields the reference has, `load`
    the typed copy of the spec, and its other methods run as they are)."""

    cdef public OwnOrders own
    cdef public list targets
    cdef public Alarms alarms
    cdef public Executor executor
    cdef public object _resting
    cdef public long long sent, cancels, _spell_end
    cdef public bint _busy
    cdef double _mid
    cdef bint _has_mid
    # the spec, typed (`load`)
    cdef long long mean_interval_ns, min_lots, max_lots, order_lifetime_ns, max_open_orders, max_position
    cdef long long child_lots, child_interval_ns
    cdef double market_prob, buy_prob, mean_offset_ticks, anchor_weight, size_alpha, urgency
    cdef double activity_amplitude, activity_decay_s, excitement, excitement_max_ticks
    cdef double busy_mult, busy_share, busy_mean_s

    def load(self, spec):
        """Copy the spec's numbers the hot path reads into typed fields."""
        self.mean_interval_ns = spec.mean_interval_ns
        self.min_lots = spec.min_lots
        self.max_lots = spec.max_lots
        self.order_lifetime_ns = spec.order_lifetime_ns
        self.max_open_orders = spec.max_open_orders
        self.max_position = spec.max_position
        self.child_lots = spec.child_lots
        self.child_interval_ns = spec.child_interval_ns
        self.market_prob = spec.market_prob
        self.buy_prob = spec.buy_prob
        self.mean_offset_ticks = spec.mean_offset_ticks
        self.anchor_weight = spec.anchor_weight
        self.size_alpha = spec.size_alpha
        self.urgency = spec.urgency
        self.activity_amplitude = spec.activity_amplitude
        self.activity_decay_s = spec.activity_decay_s
        self.excitement = spec.excitement
        self.excitement_max_ticks = spec.excitement_max_ticks
        self.busy_mult = spec.busy_mult
        self.busy_share = spec.busy_share
        self.busy_mean_s = spec.busy_mean_s

    @property
    def _last_mid(self):
        return self._mid if self._has_mid else None

    @_last_mid.setter
    def _last_mid(self, value):
        self._has_mid = value is not None
        self._mid = value if value is not None else 0.0

    # ------------------------------------------------------------------ hooks

    def on_wakeup(self, ctx):
        cdef BitGen rng = BitGen.of(ctx_rng(ctx))
        cdef double u[6]
        cdef double ref = 0.0, w, pace
        cdef long long now, oldest, pos, qty, n, k, price
        cdef Py_ssize_t keep, nt, i
        cdef dict orders
        cdef list targets
        cdef Executor ex
        if self.alarms is not None:
            fired = self.alarms.due_c(ctx)
            if EXEC in fired and self.executor is not None:
                self.work_c(ctx, rng)
            if ORDER not in fired:
                return
        rng.six(u)
        now = ctx_now(ctx)
        self.next_c(ctx, now, u[0], rng)
        if self.executor is not None:
            return
        targets = self.targets
        if not targets:
            return
        # stale and surplus orders go first
        resting = self._resting
        orders = self.own.orders
        oldest = now - self.order_lifetime_ns
        keep = self.max_open_orders - 1
        while resting and (<long long>resting[0][0] <= oldest or len(resting) > keep):
            oid = resting.popleft()[1]
            if oid in orders:
                ctx_cancel(ctx, oid)
                self.cancels += 1
        nt = len(targets)
        if nt == 1:
            series = targets[0]
        else:
            i = <Py_ssize_t>(u[5] * <double>nt)
            if i >= nt:
                raise IndexError("list index out of range")  # (as the reference's list would)
            series = targets[i]
        pos = ctx_position(ctx, series)
        if pos >= self.max_position:
            side = SELL
        elif pos <= -self.max_position:
            side = BUY
        else:
            side = BUY if u[1] < self.buy_prob else SELL
        if self.size_alpha != 0.0:
            qty = pareto_lots(u[2], self.min_lots, self.size_alpha, self.max_lots)
        else:
            qty = self.min_lots + <long long>(u[2] * <double>(self.max_lots - self.min_lots + 1))
            if qty > self.max_lots:
                qty = self.max_lots
        q = ctx_quote(ctx, series)
        if u[3] < self.market_prob and (q.ask if side is BUY else q.bid) is not None and in_continuous(ctx, now):
            if self.child_lots and qty > self.child_lots:
                n = (qty + self.child_lots - 1) // self.child_lots  # -(-qty // child_lots)
                pace = <double>self.child_interval_ns / self.intensity_c(ctx, now, rng)
                ex = Executor.__new__(Executor)
                ex.init_c(series, side, qty, now, now + trunc_ns(<double>n * pace), "twap", 0.1, self.child_lots,
                          None, self.urgency, 30 * SECOND)
                self.executor = ex
                self.work_c(ctx, rng)
                return
            self.own.submit(ctx, series, side, qty, 0, kind=MARKET, tif=IOC)
            self.sent += 1
            return
        if not reference_price(ctx, series, q, &ref):
            return
        w = self.anchor_weight
        if w != 0.0:
            anchor = ctx_expected_settlement(ctx, series)
            if anchor is None:
                anchor = ctx.index_ticks(series)
            if anchor is not None:
                ref = w * <double>anchor + (1.0 - w) * ref
        k = trunc_ns(-log1p(-u[4]) * self.mean_offset_ticks)
        if side is BUY:
            price = py_floor(ref) - k
        else:
            price = py_ceil(ref) + k
        if price <= 0:
            return
        oid = self.own.submit_c(ctx, series, side, qty, price)
        self.sent += 1
        resting.append((now, oid))

    def on_order_event(self, ctx, event):
        self.own.on_event_c(event)
        ex = self.executor
        if ex is not None:
            self.executor.on_order_event_c(event)

    # ------------------------------------------------------------------ what the reference's other methods call

    def intensity(self, ctx):
        # (the clock only for the time of day or the spells, as the reference reads it)
        return self.intensity_c(ctx, ctx_now(ctx) if self.activity_amplitude != 0.0 or self.busy_mult != 1.0 else 0, None)

    def _next(self, ctx, double u):
        self.next_c(ctx, ctx_now(ctx), u, BitGen.of(ctx_rng(ctx)))

    def _work(self, ctx):
        self.work_c(ctx, BitGen.of(ctx_rng(ctx)))

    # ------------------------------------------------------------------ the compiled path

    cdef double intensity_c(self, ctx, long long now, BitGen rng) except? -1.0:
        """`NoiseTrader.intensity` (``rng``: None to take ``ctx.rng``'s if a spell ends)."""
        cdef double k = 1.0, mean, mid, d
        cdef long long start
        if self.activity_amplitude != 0.0:
            k = activity(ctx, now, self.activity_amplitude, self.activity_decay_s)
        if self.busy_mult != 1.0:
            while now >= self._spell_end:  # alternate calm and busy spells (exponential lengths)
                if rng is None:
                    rng = BitGen.of(ctx_rng(ctx))
                self._busy = not self._busy
                mean = self.busy_mean_s if self._busy else self.busy_mean_s * (1.0 - self.busy_share) / self.busy_share
                start = self._spell_end if self._spell_end >= now else now
                self._spell_end = start + trunc_ns(-log1p(-rng.draw()) * mean * 1e9) + 1
            if self._busy:
                k *= self.busy_mult
        if self.excitement != 0.0 and self.targets:
            m = ctx_quote(ctx, self.targets[0]).mid
            if m is not None:
                mid = <double>m
                if self._has_mid:
                    d = fabs(mid - self._mid)
                    self._mid = mid
                    k *= 1.0 + self.excitement * (d if d < self.excitement_max_ticks else self.excitement_max_ticks)
                else:
                    self._mid = mid
                    self._has_mid = True
        return k

    cdef int next_c(self, ctx, long long now, double u, BitGen rng) except -1:
        """`NoiseTrader._next`."""
        cdef double mean = <double>self.mean_interval_ns / self.intensity_c(ctx, now, rng)
        cdef long long delay = trunc_ns(-log1p(-u) * mean) + 1
        if self.alarms is None:
            ctx_wake_after(ctx, delay)
        else:
            self.alarms.arm_c(ctx, ORDER, now + delay)
        return 0

    cdef int work_c(self, ctx, BitGen rng) except -1:
        """`NoiseTrader._work`: let the executor send what is due; drop it once done."""
        cdef Executor ex = self.executor
        cdef long long before = ex.sent
        cdef long long delay = ex.on_wakeup_c(ctx, rng)
        self.sent += ex.sent - before
        if delay < 0:
            self.executor = None
        else:
            self.alarms.arm_c(ctx, EXEC, <long long>ctx_now(ctx) + delay)
        return 0
