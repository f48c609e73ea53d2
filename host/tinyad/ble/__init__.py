"""BLE alerts: the project's BTHome v2 decoder (bthome), the source-agnostic receiver (receiver) and the
advertisement sources (sources: bleak scanner, SIL device over serial)."""
