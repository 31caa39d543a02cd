# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded poll loop with backoff, reusable by any module that waits for the cluster.

Polls quickly while things move and slows down while nothing changes: the delay starts at ``initial``, grows by
``factor`` up to ``maximum`` and drops back to ``initial`` whenever the probe reports a change. An optional ``pace``
can only lengthen a delay (``Budget`` keeps API requests to a rate). The clock and the sleep are injectable so that
unit tests run instantly on simulated time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


class Backoff(object):
    def __init__(self, initial=0.5, maximum=5.0, factor=1.6):
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    def reset(self):
        self._next = self.initial

    def next(self):
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        return delay


class Budget(object):
    """Keeps requests to ``rate`` per second on average while allowing a burst of ``burst`` (a token bucket).

    Quick polls right after a change stay quick; a long run of changes (many installs moving at different moments)
    is spread out instead of multiplying the request rate. ``spend`` records requests as they are made; ``delay``
    says how long to wait before a round that will cost ``cost`` requests.
    """

    def __init__(self, rate=2.0, burst=6.0, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self):
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def spend(self, count=1):
        self._refill()
        self._tokens -= count

    def delay(self, cost):
        if self.rate <= 0:
            return 0.0
        self._refill()
        return max(0.0, (cost - self._tokens) / self.rate)


class WaitResult(object):
    def __init__(self, done, value, elapsed):
        self.done = done
        self.value = value
        self.elapsed = elapsed

    @property
    def timed_out(self):
        return not self.done


def poll(probe, timeout, clock=time.monotonic, sleep=time.sleep, backoff=None, *, pace=None):
    """Call ``probe(elapsed)`` until it reports done or ``timeout`` seconds have passed.

    ``probe`` returns ``(done, value, fingerprint)``; a fingerprint different from the previous one counts as a change
    and resets the backoff. ``pace()``, when given, is the least delay before the next probe. The probe always runs
    once more at the deadline, so a result that arrived during the last sleep is not reported as a timeout. Returns
    a WaitResult with the last value.
    """
    backoff = backoff or Backoff()
    start = clock()
    deadline = start + max(0, timeout)
    last = object()
    while True:
        done, value, fingerprint = probe(clock() - start)
        if done:
            return WaitResult(True, value, clock() - start)
        if fingerprint != last:
            backoff.reset()
            last = fingerprint
        remaining = deadline - clock()
        if remaining <= 0:
            return WaitResult(False, value, clock() - start)
        delay = backoff.next()
        if pace is not None:
            delay = max(delay, pace())
        sleep(min(delay, remaining))


# No single API request of a wait runs longer than this, nor past the wait's deadline.
REQUEST_TIMEOUT = 30


class Api(object):
    """The client as one wait uses it: counts requests, paces them, and keeps each within the overall deadline."""

    def __init__(self, k8s, deadline, clock=time.monotonic, budget=None):
        self.k8s = k8s
        self.deadline = deadline
        self.clock = clock
        self.budget = budget
        self.requests = 0

    def call(self, method, *args, **kwargs):
        self.requests += 1
        if self.budget:
            self.budget.spend()
        self.k8s.request_timeout = max(1.0, min(REQUEST_TIMEOUT, self.deadline - self.clock()))
        return getattr(self.k8s, method)(*args, **kwargs)
