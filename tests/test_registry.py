import pytest

from bench.registry import Registry, RegistryError


def test_duplicate_name_rejected():
    registry: Registry[int] = Registry("task")
    registry.add("sst5", 1)
    with pytest.raises(RegistryError, match="duplicate task name 'sst5'"):
        registry.add("sst5", 2)
    assert registry.get("sst5") == 1


def test_unknown_name_suggests_close_matches():
    registry: Registry[int] = Registry("task")
    for name in ("banking77", "clinc150", "hwu64"):
        registry.add(name, 0)
    with pytest.raises(RegistryError) as caught:
        registry.get("bankin77")
    message = str(caught.value)
    assert "unknown task 'bankin77'" in message
    assert "did you mean 'banking77'" in message
    assert "python -m bench list" in message


def test_unknown_name_without_close_match_has_no_suggestion():
    registry: Registry[int] = Registry("method")
    registry.add("finetune", 0)
    with pytest.raises(RegistryError) as caught:
        registry.get("zzz")
    assert "did you mean" not in str(caught.value)


def test_decorator_registers_and_names_sorted():
    registry: Registry[type] = Registry("method")

    @registry.register("b")
    class B:
        pass

    @registry.register("a")
    class A:
        pass

    assert registry.names() == ["a", "b"]
    assert registry.get("b") is B
    assert "a" in registry
    assert len(registry) == 2
