"""Qt item models over service data: they hold ids and cached rows, never business state."""
