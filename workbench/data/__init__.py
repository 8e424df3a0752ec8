"""Reading spreadsheet exports (CSV/TSV/TXT and Excel .xlsx/.xlsm) into numeric columns.

Provides ``load_dataset(cfg, columns) -> Dataset`` (the columns a model needs, as float64 arrays,
with the spreadsheet row of every used row and the reason for every dropped one), ``read_table``
(all columns as raw cells in a pandas DataFrame), ``read_columns`` (the column names),
``numeric_columns(path, sheet)`` (for ``workbench init``) and ``DataConfig``.

``cfg`` is the config module's data section, any object with the same attributes, or a dict:
path, sheet, header_row, decimal and thousands (None: decided from the file's values), delimiter,
columns (rename old -> new), where (a row filter in the formula language), dates (column -> ISO
origin, None, or {origin, format}), missing (empty cells: drop | error), unreadable (not a number
or date, NaN text, overflow: error | drop), max_dropped (a share of rows), limits (file_mb, unzipped_mb).

Modules: ``files`` (regular files within size limits), ``source`` (sheets, header, renaming),
``cells`` (numbers as people type them), ``separators`` (the file's decimal mark), ``dates`` (one
format per column), ``columns`` (converting what a dataset needs), ``drops`` and ``summary``
(dropped rows, policies, the account), ``dataset`` (the whole load), ``arrow`` (pyarrow without
pandas). pandas and pyarrow are imported only inside functions, so importing this package costs
the CLI nothing at start-up.
"""

from workbench.data.dataset import Dataset, load_dataset, numeric_columns, read_columns, read_table
from workbench.data.source import DataConfig

__all__ = ["DataConfig", "Dataset", "load_dataset", "read_table", "read_columns", "numeric_columns"]
