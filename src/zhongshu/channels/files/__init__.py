"""Platform seller-centre order exports (CSV/XLSX as merchants download them) into the hub."""

from zhongshu.channels.files.importer import (
    FORMATS,
    UnknownFormat,
    WrongPlatform,
    detect,
    import_export_file,
)
from zhongshu.channels.files.read import UnreadableFile

__all__ = ["FORMATS", "UnknownFormat", "UnreadableFile", "WrongPlatform", "detect", "import_export_file"]
