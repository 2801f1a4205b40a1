"""Rebuild the shipped demo files: ``python -m dtistat.datasets.build``."""

from dtistat.datasets.demo import build_files

if __name__ == "__main__":
    for key, path in build_files().items():
        print(f"{key}: {path} ({path.stat().st_size:,} bytes)")
