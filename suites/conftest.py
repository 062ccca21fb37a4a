"""The permission suites. Setting KEYPROBE_SUITES arms the keyprobe plugin for this folder:
the run (target, keys, emulator) is started once, before any xdist worker."""

KEYPROBE_SUITES = True
