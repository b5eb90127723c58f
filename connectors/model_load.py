"""Loading Rasa's TensorFlow models (TED, the response selectors) without tracing their training graph.

Rasa 3.6 (rasa/utils/tensorflow/models.py, `RasaModel.load`) builds an empty model, compiles it and runs one
training step on a one-example batch so that every variable, the optimizer's included, exists before the saved
weights are read back. Compiled in graph mode (run_eagerly unset), that step makes TensorFlow trace the whole
training function: ~40 s of the ~65 s a Rasa server takes to start on 2 cores (py-spy, docs/scaling.md), paid by
every server, test stack and `rasa test` run. `install()` makes that one step run eagerly instead: the same
variables are created and then overwritten by the saved weights, so the loaded model is the same. Prediction is
untouched: it goes through the model's own `_rasa_predict`, which traces its tf.function as before (unless the
component's config says run_eagerly). Loading for finetuning (`rasa train --finetune`) keeps Rasa's own load.
"""

from __future__ import annotations

from typing import Any

_WRAPPED = "_xiaozhi_eager_build"


def install() -> None:
    """Patch RasaModel.load once per process (a second call changes nothing)."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    original = RasaModel.load.__func__  # type: ignore[attr-defined]
    if getattr(original, _WRAPPED, False):
        return

    def load(cls: type[RasaModel], model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> RasaModel:
        if finetune_mode:
            return original(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                            *args, **kwargs)
        model = cls(*args, **kwargs)
        learning_rate = kwargs.get("config", {}).get(LEARNING_RATE, 0.001)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
        model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)  # variables, eagerly
        model.load_weights(model_file_name)
        if predict_data_example:
            model.run_inference(predict_data_example)  # traces the prediction function now, not on the first turn
        return model

    setattr(load, _WRAPPED, True)
    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]
