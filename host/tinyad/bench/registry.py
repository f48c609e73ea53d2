"""The list of benchmarks. One line each: register(name, module, description)."""

from tinyad.bench import register

register("selftest", "tinyad.bench.selftest", "Checks the benchmark machinery itself (seconds).")
register("bert_transfer", "tinyad.bench.bert_transfer",
         "Battery transformer: rack 1 -> 2 fine-tune vs scratch (~13 min).")
register("core_size", "tinyad.bench.core_size", "Firmware core code/static RAM on a Cortex-M4 (seconds).")
register("sil_parity", "tinyad.bench.sil_parity",
         "SIL device vs host TFLM, bit for bit, on 10k real IMU windows (~1 min).")
register("sil_stream", "tinyad.bench.sil_stream",
         "SIL streaming 6 ch at 1 kHz for 10 simulated min: loss, RTT, throughput (~12 min).")
register("skab", "tinyad.bench.skab",
         "SKAB protocol: LSTM-AE, Conv-AE (also SKAB's per-file recipe), forecaster, IF, PCA; "
         "label-free thresholds (~7 min).")
register("skab_round_4", "tinyad.bench.skab_round_4",
         "SKAB round 4: SKAB's per-file Conv-AE recipe on drift-robust channels (~4 min).")
register("default_speed_sweep", "tinyad.bench.default_speed_sweep",
         "The committed default model across shaft speed: share of windows per condition, 240-480 rpm (seconds).")
register("ble_latency", "tinyad.bench.ble_latency",
         "Alert latency in the SIL: threshold window -> BTHome ADV with the flag (hops; ~1 min).")
register("bert_transfer_bess", "tinyad.bench.bert_transfer_bess",
         "Battery transformer, another site: ess_lfp racks -> BESS log, fine-tune vs scratch (~6 min).")
register("bert_transfer_rack3", "tinyad.bench.bert_transfer_rack3",
         "Battery transformer, a fresh target: racks 1, 2, 4, 5 -> rack 3, 3 recipes chosen on validation (~20 min).")
register("bert_transfer_replicate", "tinyad.bench.bert_transfer_replicate",
         "Battery transformer: split 5's recipe on racks 1, 4, 5 as targets, one run each (~14 min).")
register("bert_transfer_seeds", "tinyad.bench.bert_transfer_seeds",
         "Battery transformer: split 6's rack 4 with 4 sets of training seeds, the spread (~20 min).")
register("bert_skab", "tinyad.bench.bert_skab", "SKAB: battery transformer method beside the LSTM-AE (~5 min).")
register("nab", "tinyad.bench.nab",
         "NAB per category: LSTM-AE and IF, event F1 and VUS-PR, label-free thresholds (~15 min).")
register("motor_mpu6050", "tinyad.bench.imu_supervised:run_motor",
         "CNN-GRU on motor_mpu6050 split by run: binary + 4-class, float vs int8, flash/arena (~2 min).")
register("ceiling_fan", "tinyad.bench.imu_supervised:run_fan", "CNN-GRU on ceiling_fan: F1 per fan speed (~3 min).")
register("model_zoo", "tinyad.bench.imu_supervised:run_zoo",
         "Four architectures on motor_mpu6050 4-class: F1, flash, arena, ops, MACs, latency (~5 min).")
register("imu_labelfree", "tinyad.bench.imu_labelfree",
         "motor_mpu6050: detectors fit on healthy runs only, ROC-AUC on faulty runs.")
