import pytest

from handzoo import errors


def test_every_error_is_a_handzoo_error():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.HandzooError), name


def test_message_and_hint_are_rendered():
    exc = errors.WeightsNotAvailableError("no weights for x", hint="run `handzoo convert x FILE`")
    text = str(exc)
    assert "no weights for x" in text and "handzoo convert x FILE" in text
    assert exc.hint.startswith("run")


def test_builtin_bases_keep_working():
    with pytest.raises(ValueError):
        raise errors.InputError("bad image")
    with pytest.raises(FileNotFoundError):
        raise errors.AssetError("MANO_RIGHT.pkl missing")
    with pytest.raises(KeyError):
        raise errors.ModelNotFoundError("unknown")


def test_registry_error_is_not_quoted_like_keyerror():
    assert str(errors.ModelNotFoundError("unknown model 'x'")) == "unknown model 'x'"
