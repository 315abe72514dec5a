"""Files the tool reads and writes, below every other layer.

* :mod:`sim.files.outputs`: output folders (what a command may write, replace and
  remove, and how it does so without losing anything);
* :mod:`sim.files.seen`: the input files a command has read, so it never writes
  over one of them;
* :mod:`sim.files.csv_safe`: CSV files whose cells a spreadsheet will not run as
  formulas.

It imports nothing else of the project, so every layer may use it.
"""
