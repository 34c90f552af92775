import sys
import types

from ktdemo.serving.hosting import GPU_SECONDS, on_gpu


def test_without_spaces_the_function_is_unchanged():
    def train():
        return 1

    assert on_gpu(train) is train


def test_with_spaces_the_function_asks_for_a_gpu(monkeypatch):
    calls = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda duration: (calls.append(duration), lambda function: ("on gpu", function))[1]
    fake.__spec__ = types.SimpleNamespace(name="spaces")
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if name == "spaces" else None)

    def train():
        return 1

    assert on_gpu(train) == ("on gpu", train) and calls == [GPU_SECONDS]
