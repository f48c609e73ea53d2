"""AnomalyBERT-style detector for multichannel telemetry: a patch transformer trained to find synthetic outliers.

model.py builds the Keras model, outliers.py injects synthetic outliers (pure functions), train.py runs the
training loop with checkpoints and rack-to-rack transfer, evaluate.py scores checkpoints, notes.py says what a run,
a cut or a set of scores means.
"""
