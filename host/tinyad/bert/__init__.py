"""AnomalyBERT-style detector for multichannel telemetry: a patch transformer trained to find synthetic outliers.

model.py builds the Keras model, outliers.py injects synthetic outliers (pure functions), train.py runs the
training loop with checkpoints and rack-to-rack transfer, evaluate.py scores checkpoints.
"""
