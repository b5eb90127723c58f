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


class FakeModel:
    """What the patched load asks of a Rasa TensorFlow model, noting in which mode each step ran."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.run_eagerly: bool | None = None
        self.steps: list[tuple[str, bool | None]] = []

    def compile(self, optimizer: object, run_eagerly: bool | None = None) -> None:
        self.run_eagerly = run_eagerly

    def fit(self, data: object, verbose: bool = False) -> None:
        self.steps.append(("build", self.run_eagerly))

    def load_weights(self, path: str) -> None:
        self.steps.append(("weights", self.run_eagerly))

    def run_inference(self, data: object) -> None:
        self.steps.append(("first prediction", self.run_eagerly))


def test_the_model_is_built_eagerly_and_then_predicts_as_its_config_says() -> None:
    from rasa.utils.tensorflow.model_data import RasaModelData

    model_load.install()
    load = RasaModel.load.__func__  # type: ignore[attr-defined]
    example = RasaModelData(label_key="label", label_sub_key="ids", data={})
    model = load(FakeModel, "weights.tf_model", example, predict_data_example=example, config={})
    # built eagerly (no traced training step), then predicting through the traced tf.function (run_eagerly unset):
    # an eager prediction gives the same answers ~10 ms slower per parse
    assert model.steps == [("build", True), ("weights", None), ("first prediction", None)]
    eager = load(FakeModel, "weights.tf_model", example, predict_data_example=example, config={"run_eagerly": True})
    assert eager.steps[-1] == ("first prediction", True)


class SlotsDoNotFit(FakeModel):
    """A checkpoint whose optimizer slots do not fit the eagerly built model's, as TED's do."""

    def load_weights(self, path: str) -> None:
        if self.steps == [("build", True)]:
            raise ValueError("Received incompatible tensor with shape (20, 50) when attempting to restore variable")
        super().load_weights(path)


def test_a_model_whose_checkpoint_does_not_fit_the_eager_build_is_loaded_rasas_way() -> None:
    # TEDPolicy.load takes a ValueError for "no model" and would predict nothing at all
    from rasa.utils.tensorflow.model_data import RasaModelData

    model_load.install()
    load = RasaModel.load.__func__  # type: ignore[attr-defined]
    example = RasaModelData(label_key="label", label_sub_key="ids", data={})
    model = load(SlotsDoNotFit, "weights.tf_model", example, predict_data_example=example, config={})
    assert model.steps == [("build", None), ("weights", None), ("first prediction", None)]  # Rasa's traced build
