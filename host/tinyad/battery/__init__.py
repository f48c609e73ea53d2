"""Battery telemetry: loaders that turn BMS logs into a tidy, fixed-rate Parquet table (see bms.py)."""
