# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded poll loop with backoff, reusable by any module that waits for the cluster.

Polls quickly while things move and slows down while nothing changes: the delay starts at ``initial``, grows by
``factor`` up to ``maximum`` and drops back to ``initial`` whenever the probe reports a change. The clock and the
sleep are injectable so that unit tests run instantly on simulated time.
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


class WaitResult(object):
    def __init__(self, done, value, elapsed):
        self.done = done
        self.value = value
        self.elapsed = elapsed

    @property
    def timed_out(self):
        return not self.done


def poll(probe, timeout, clock=time.monotonic, sleep=time.sleep, backoff=None):
    """Call ``probe(elapsed)`` until it reports done or ``timeout`` seconds have passed.

    ``probe`` returns ``(done, value, fingerprint)``; a fingerprint different from the previous one counts as a change
    and resets the backoff. The probe always runs once more at the deadline, so a result that arrived during the last
    sleep is not reported as a timeout. Returns a WaitResult with the last value.
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
        sleep(min(backoff.next(), remaining))
