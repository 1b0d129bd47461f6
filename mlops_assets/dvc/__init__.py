"""DVC: data files tracked by .dvc pointers, pulled from a remote when absent."""
