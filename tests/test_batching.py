"""The page's batching (nn/web/batching.py): the drawings that arrive together are read in one forward
pass, and each request gets back exactly what a pass of its own would have given."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nn.web.batching import Batcher


class SlowNet:
    """A 'network' whose answer for a row is a function of that row alone, and which takes its time,
    so that many requests pile up behind a pass; it records the size of every pass."""

    def __init__(self, seconds: float = 0.02, tag: float = 0.0):
        self.seconds, self.tag, self.passes = seconds, tag, []

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.passes.append(len(X))
        time.sleep(self.seconds)
        return rows(X, self.tag)


def rows(X: np.ndarray, tag: float = 0.0) -> np.ndarray:
    return np.stack([X.sum(axis=1) + tag, X[:, 0], X[:, -1]], axis=1)


def ask_at_once(batcher: Batcher, requests: list) -> list:
    """Every (net, X) asked from its own thread, all released together; their answers, in order."""
    answers = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def ask(k: int) -> None:
        start.wait()
        answers[k] = batcher.probabilities(*requests[k])

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


class HeldNet(SlowNet):
    """A network whose passes last until every row asked for has arrived (queued, or in a pass):
    the order of events a slow pass and a crowd of phones make, without depending on how long
    anything takes."""

    def __init__(self, batcher: Batcher, rows: int):
        super().__init__(0.0)
        self.batcher, self.rows, self.entered = batcher, rows, 0

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.entered += len(X)
        deadline = time.monotonic() + 30  # a guard against a hang, not a measurement
        while sum(len(w.X) for w in list(self.batcher._queue)) + self.entered < self.rows:
            assert time.monotonic() < deadline, "the requests never all arrived"
            time.sleep(0.001)
        return super().predict_proba(X)


def test_answers_are_each_request_s_own_rows_however_they_were_batched():
    rng = np.random.default_rng(0)
    requests = [rng.random((int(rng.integers(1, 4)), 784)).astype(np.float32) for _ in range(40)]
    batcher = Batcher()
    net = HeldNet(batcher, sum(len(X) for X in requests))
    answers = ask_at_once(batcher, [(net, X) for X in requests])
    batcher.close()
    for X, answer in zip(requests, answers):
        np.testing.assert_array_equal(answer, rows(X))
    assert sum(net.passes) == sum(len(X) for X in requests)
    # the first alone, the batching thread's first, then the rest together, 64 rows at most a pass
    assert len(net.passes) <= 2 + -(-sum(net.passes) // 64) and max(net.passes) > 1, net.passes


def test_a_real_network_gives_what_single_passes_give(pretrained_cnn, mnist_test):
    X = (mnist_test.images[:48] / 255.0).astype(np.float32)
    single = np.concatenate([pretrained_cnn.predict_proba(X[k:k + 1]) for k in range(48)])
    batcher = Batcher(max_batch=16)
    answers = ask_at_once(batcher, [(pretrained_cnn, X[k:k + 1]) for k in range(48)])
    batcher.close()
    np.testing.assert_allclose(np.concatenate(answers), single, rtol=1e-5, atol=1e-6)
    assert batcher.drawings == 48 and batcher.passes < 48


def test_a_batch_never_passes_its_size():
    net = SlowNet()
    batcher = Batcher(max_batch=8)
    ask_at_once(batcher, [(net, np.ones((3, 784), np.float32))] * 12)
    batcher.close()
    assert max(net.passes) <= 8 and sum(net.passes) == 36


def test_two_networks_are_never_mixed_in_one_pass():
    """The teacher switched models while drawings were waiting: each is read by its own network."""
    old, new = SlowNet(tag=0.0), SlowNet(tag=1000.0)
    requests = [(old if k % 2 else new, np.full((1, 784), k, np.float32)) for k in range(30)]
    batcher = Batcher()
    answers = ask_at_once(batcher, requests)
    batcher.close()
    for k, answer in enumerate(answers):
        assert answer[0, 0] == 784 * k + (0.0 if k % 2 else 1000.0)


def test_an_error_reaches_every_request_of_its_pass_and_the_next_ones_work():
    class Broken(SlowNet):
        def predict_proba(self, X):
            super().predict_proba(X)
            raise MemoryError("no room")

    batcher = Batcher()
    errors = []

    def ask() -> None:
        try:
            batcher.probabilities(Broken(0.01), np.ones((1, 784), np.float32))
        except MemoryError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["no room"] * 5
    good = SlowNet(0.0)
    assert batcher.probabilities(good, np.ones((2, 784), np.float32)).shape == (2, 3)
    batcher.close()


def test_after_close_a_request_is_read_on_its_own_thread():
    batcher = Batcher()
    net = SlowNet(0.0)
    batcher.probabilities(net, np.ones((1, 784), np.float32))
    batcher.close()
    assert batcher.probabilities(net, np.ones((1, 784), np.float32)).shape == (1, 3)
    assert len(net.passes) == 2


@pytest.mark.parametrize("count", [1, 2])
def test_a_lone_drawing_goes_through_at_once(count):
    """Nothing waits on a timer for company: a drawing that arrives alone is read on its own
    request's thread, at once, and no batching thread is even started."""
    batcher = Batcher()
    net = SlowNet(0.0)
    readers = []
    net.predict_proba = lambda X, read=net.predict_proba: (readers.append(threading.current_thread()), read(X))[1]
    for _ in range(20):
        batcher.probabilities(net, np.ones((count, 784), np.float32))
    assert readers == [threading.current_thread()] * 20 and batcher._thread is None
    batcher.close()
