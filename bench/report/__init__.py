"""Statistics, tables, plots and the reproduction table, all computed from run records alone."""
