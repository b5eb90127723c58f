"""connectors/model_load.py: Rasa's TensorFlow models built eagerly at load, once per process."""

from __future__ import annotations

from rasa.utils.tensorflow.models import RasaModel

from connectors import model_load


def test_install_replaces_rasas_load_once() -> None:
    before = RasaModel.load.__func__  # type: ignore[attr-defined]
    model_load.install()
    installed = RasaModel.load.__func__  # type: ignore[attr-defined]
    model_load.install()
    assert getattr(installed, model_load._WRAPPED) is True
    assert RasaModel.load.__func__ is installed  # type: ignore[attr-defined]
    assert installed is not before or getattr(before, model_load._WRAPPED, False)
