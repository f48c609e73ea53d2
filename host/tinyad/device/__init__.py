"""Talking to a board or the SIL device over serial: transport, client, recorder, monitor, parity."""
