"""harness.backends.fdwait: waiting on descriptors that select(2) refuses."""

import os

from harness.backends.fdwait import readable


def test_waiting_on_descriptors_past_1023_works():
    low_read, low_write = os.pipe()
    high_read, high_write = os.dup2(low_read, 1500), os.dup2(low_write, 1501)  # select(2) refuses these
    try:
        assert readable([high_read], 0.01) == []
        os.write(high_write, b"x")
        assert readable([high_read], 1.0) == [high_read]
    finally:
        for fd in (low_read, low_write, high_read, high_write):
            os.close(fd)
