"""The error every data problem raises, and the file line a data row came from."""


class DatasetError(ValueError):
    """The CSV cannot be used as it is; the message says where and why."""


def line_of(row_index: int) -> int:
    """The 1-based line of the file that holds data row ``row_index`` (line 1 is the header)."""
    return row_index + 2
