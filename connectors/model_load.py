"""Loading Rasa's TensorFlow models (TED, the response selectors) without tracing their training graph.

Rasa 3.6 (rasa/utils/tensorflow/models.py, `RasaModel.load`) builds an empty model, compiles it and runs one
training step on a one-example batch so that every variable, the optimizer's included, exists before the saved
weights are read back. Compiled in graph mode (run_eagerly unset), that step makes TensorFlow trace the whole
training function: ~40 s of the ~65 s a Rasa server takes to start on 2 cores (py-spy, docs/scaling.md), paid by
every server, test stack and `rasa test` run. `install()` makes that one step run eagerly instead: the model's
variables are created and then overwritten by the saved weights, so the loaded model is the same. The optimizer's
slot variables are created in another order, though: where the checkpoint's slots then do not fit, restoring
fails, and that model is loaded Rasa's own way (TED's does: until 2026-12-03 this module let the error through,
and TEDPolicy.load, taking any ValueError for "no model", left TED predicting nothing). Prediction is
untouched: the model's run_eagerly is set back to what the component's config says before its first prediction,
so `_rasa_predict` traces its tf.function as in Rasa's own load. Loading for finetuning (`rasa train --finetune`)
keeps Rasa's own load. What it saves now (2026-12-03, Agent.load of the trained model, two runs each): 31–33 s
without, 26–28 s with, TED's eager attempt that then falls back included.
"""

from __future__ import annotations

import logging
from typing import Any

from service.logs import log_event

logger = logging.getLogger(__name__)

_WRAPPED = "_xiaozhi_eager_build"


def install() -> None:
    """Patch RasaModel.load once per process (a second call changes nothing)."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
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
        # compile(run_eagerly=True) stays on the model, and _rasa_predict would then predict eagerly too: the same
        # answers, ~10 ms slower per parse (12 → 22 ms p50 on 2026-12-03). Prediction runs as the config says.
        model.run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
        try:
            model.load_weights(model_file_name)
        except ValueError as error:
            # The eager step creates the optimizer's slot variables in another order than Rasa's traced one, and a
            # checkpoint whose slots then do not fit (TED's: "incompatible tensor with shape (20, 50) … (292, 50)")
            # fails here; TEDPolicy.load would take that ValueError for "no model" and predict nothing at all.
            # Such a model is loaded Rasa's own way.
            log_event(logger, "model_load_traced", logging.INFO, model=cls.__name__, error=type(error).__name__)
            return original(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                            *args, **kwargs)
        if predict_data_example:
            model.run_inference(predict_data_example)  # traces the prediction function now, not on the first turn
        return model

    setattr(load, _WRAPPED, True)
    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]
