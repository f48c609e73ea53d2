"""Software-in-the-loop device: the firmware core on a pseudo-terminal (see tinyad.sil.device)."""
