"""Per-epoch curves are batched: a few requests per training, not one per epoch."""

import pytest

from mlops_assets.tracking.epoch_metrics import EpochMetrics


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_epochs_are_held_until_the_interval_has_passed_then_sent_in_one_request():
    sent: list[list] = []
    clock = Clock()
    curves = EpochMetrics(sent.append, interval=10.0, clock=clock)

    for epoch in range(1, 6):  # 1 s an epoch
        clock.now += 1.0
        curves(epoch, {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch})
    assert sent == []

    clock.now += 5.0
    curves(6, {"loss": 0.1, "val_loss": 0.2})
    [points] = sent
    assert [(p.key, p.step) for p in points[:2]] == [("loss", 0), ("val_loss", 0)]
    assert len(points) == 12 and points[-1].step == 5

    clock.now += 1.0
    curves(7, {"loss": 0.05, "val_loss": 0.1})
    assert len(sent) == 1  # the interval starts again after each request


def test_flush_sends_the_rest_in_one_request():
    sent: list[list] = []
    clock = Clock()
    curves = EpochMetrics(sent.append, interval=10.0, clock=clock)
    for epoch in range(1, 101):
        clock.now += 0.02  # a small model: 100 epochs in 2 s
        curves(epoch, {"loss": 0.5, "mae": 0.4, "val_loss": 0.6, "val_mae": 0.5})

    curves.flush()

    [points] = sent
    assert len(points) == 400
    assert sorted({p.step for p in points}) == list(range(100))
    assert all(p.value in (0.5, 0.4, 0.6) for p in points)


def test_flush_with_nothing_pending_sends_nothing():
    sent: list[list] = []
    clock = Clock()
    curves = EpochMetrics(sent.append, interval=1.0, clock=clock)
    clock.now = 2.0
    curves(1, {"loss": 0.5})

    curves.flush()

    assert [len(points) for points in sent] == [1]


def test_a_failed_training_still_sends_its_curves_and_its_own_error_is_the_one_raised():
    sent: list[int] = []

    def send(points):
        sent.append(len(points))
        raise ConnectionError("tracking server gone")

    with pytest.raises(FloatingPointError, match="loss is NaN"), EpochMetrics(send) as curves:
        curves(1, {"loss": 0.5})
        raise FloatingPointError("loss is NaN")
    assert sent == [1]  # tried, and its failure did not hide the training's


def test_a_finished_training_sends_the_rest_when_the_block_ends():
    sent: list[list] = []
    with EpochMetrics(sent.append) as curves:
        curves(1, {"loss": 0.5, "val_loss": 0.6})
    assert [len(points) for points in sent] == [2]


def test_a_send_failing_mid_training_lets_the_block_finish_then_raises():
    attempts: list[int] = []
    clock = iter(range(100)).__next__  # every epoch is past the interval

    def send(points):
        attempts.append(len(points))
        raise ConnectionError("tracking server gone")

    finished = []
    with pytest.raises(ConnectionError, match="gone"), EpochMetrics(send, 1, clock) as curves:
        for epoch in range(1, 6):
            curves(epoch, {"loss": 1.0 / epoch})
        finished.append("model saved")
    assert finished == ["model saved"]  # the block ran to its end (the model is on disk)
    assert attempts == [1]  # nothing more was sent after the first failure
