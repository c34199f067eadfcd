"""Migration files, one per schema change, applied in order; never edit an applied one."""
