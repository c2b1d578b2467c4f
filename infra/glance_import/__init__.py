"""`catalog import-glance`: a Glance database's images brought into the catalog."""
