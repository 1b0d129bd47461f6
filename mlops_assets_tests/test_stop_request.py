"""The stop request: a signal during the block is held until a clean point, then raised."""

import os
import signal

import pytest

from mlops_assets.stop_request import StopRequested, stoppable


class Model:
    stop_training = False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_is_held_until_the_block_ends_then_raised(stop):
    before = signal.getsignal(stop)
    model = Model()
    with pytest.raises(StopRequested, match=f"stopped by {stop.name}"), stoppable() as request:
        os.kill(os.getpid(), stop)  # delivered here, raising nothing
        request.stop_if_requested(model)
        assert model.stop_training
    assert signal.getsignal(stop) is before


def test_a_second_signal_stops_at_once():
    with pytest.raises(KeyboardInterrupt) as raised, stoppable():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
    assert not isinstance(raised.value, StopRequested)


def test_no_signal_no_stop():
    model = Model()
    with stoppable() as request:
        request.stop_if_requested(model)
    assert not model.stop_training
