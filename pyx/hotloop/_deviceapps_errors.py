"""The exceptions of hotloop.deviceapps (documented there), under hotloop.HotloopError."""

from hotloop._errors import HotloopError

__all__ = [
    "DamagedFileError",
    "DeviceAppsError",
    "FramingError",
    "GzipStreamError",
    "MessageDecodeError",
    "RecordError",
    "RecordTypeError",
    "RecordValueError",
]


class DeviceAppsError(HotloopError):
    """Base class of the errors of hotloop.deviceapps."""

    __module__ = "hotloop.deviceapps"


class RecordError(DeviceAppsError):
    """A record that cannot be written. ``index`` is its position in ``records``, ``key`` the
    offending key (``"device.id"`` for nested ones) or None."""

    __module__ = "hotloop.deviceapps"

    def __init__(self, message, *, index=None, key=None):
        super().__init__(message)
        self.index = index
        self.key = key


class RecordTypeError(RecordError, TypeError):
    """A record or one of its fields has the wrong type."""

    __module__ = "hotloop.deviceapps"


class RecordValueError(RecordError, ValueError):
    """A field's value cannot be stored: an app id outside uint32, an unknown key, text that is
    not valid Unicode, or a message longer than 65535 bytes."""

    __module__ = "hotloop.deviceapps"


class DamagedFileError(DeviceAppsError):
    """The file is damaged. ``record_index``: the number of records (of any type) read before
    the damaged one; ``offset``: the uncompressed byte offset of that record's header;
    ``file_offset``: the file offset of the gzip member being read; ``path``: the file."""

    __module__ = "hotloop.deviceapps"

    def __init__(self, message, *, record_index=None, offset=None, file_offset=None, path=None):
        super().__init__(message)
        self.record_index = record_index
        self.offset = offset
        self.file_offset = file_offset
        self.path = path


class GzipStreamError(DamagedFileError):
    """Not gzip, a truncated or corrupt gzip stream, a bad CRC or length, junk after it."""

    __module__ = "hotloop.deviceapps"


class FramingError(DamagedFileError):
    """A bad record magic, or a record header or message cut short by the end of the stream."""

    __module__ = "hotloop.deviceapps"


class MessageDecodeError(DamagedFileError):
    """A DeviceApps message that is malformed protobuf, has a field of the wrong wire type, or
    (when reading text) an id or type that is not valid UTF-8."""

    __module__ = "hotloop.deviceapps"
