//! RADIUS wire codec and FreeRADIUS-format dictionaries (no I/O).
