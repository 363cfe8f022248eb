"""Where the blob store lives, and opening it.

The location is a local folder (a path or ``file://`` URI; the default is
``$MLED_HOME/artifacts``) or an S3 bucket and prefix (``s3://bucket/prefix``). S3-compatible
servers (MinIO, Ceph, moto) are reached through ``endpoint_url`` (``MLED_S3_ENDPOINT_URL``);
credentials come from the usual AWS sources (``AWS_ACCESS_KEY_ID`` ..., ``~/.aws``) unless given
in ``storage_options``. The location is configuration of whoever runs the store (the SDK in
embedded mode, the server in team mode); it is never taken from a request.

Example:
    >>> ArtifactConfig.default(Path("/tmp/mled-home")).uri
    '/tmp/mled-home/artifacts'
    >>> ArtifactConfig("s3://team-bucket/mled", endpoint_url="http://127.0.0.1:9000").scheme
    's3'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mled.errors import InvalidInput, StoreUnavailable

if TYPE_CHECKING:
    from mled.artifacts.blobstore import BlobStore

SUPPORTED_SCHEMES = ("file", "s3")


@dataclass(frozen=True)
class ArtifactConfig:
    """The blob store's URI and how to reach it.

    ``storage_options`` are passed to the fsspec file system (for S3: ``key``, ``secret``,
    ``token``, ``client_kwargs`` ...); ``endpoint_url`` is a shortcut for S3-compatible
    servers.
    """

    uri: str
    endpoint_url: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def default(cls, home: Path) -> ArtifactConfig:
        """The embedded default: the folder ``artifacts`` under the MLED home."""
        return cls(str(home / "artifacts"))

    @property
    def scheme(self) -> str:
        if "://" not in self.uri:
            return "file"
        return self.uri.split("://", 1)[0].lower()

    def open(self) -> BlobStore:
        """Open the blob store (creating a local folder on first use)."""
        from mled.artifacts.blobstore import BlobStore

        scheme = self.scheme
        if scheme not in SUPPORTED_SCHEMES:
            raise InvalidInput(
                f"artifact store URI {self.uri!r} has the unsupported scheme {scheme!r}",
                hint="Use a local folder, file:///path, or s3://bucket/prefix.",
            )
        if scheme == "file":
            return BlobStore.local(Path(self.uri.removeprefix("file://")).expanduser())
        return self._open_s3()

    def _open_s3(self) -> BlobStore:
        from mled.artifacts.blobstore import BlobStore

        bucket_path = self.uri.split("://", 1)[1].strip("/")
        if not bucket_path:
            raise InvalidInput(f"artifact store URI {self.uri!r} names no bucket")
        options = dict(self.storage_options)
        if self.endpoint_url:
            client_kwargs = dict(options.get("client_kwargs") or {})
            client_kwargs.setdefault("endpoint_url", self.endpoint_url)
            options["client_kwargs"] = client_kwargs
        try:
            import s3fs

            fs = s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True, **options)
        except Exception as err:  # missing package, malformed options
            raise StoreUnavailable(
                f"the S3 artifact store {self.uri!r} could not be configured: {err}",
                hint="Check MLED_ARTIFACTS_URI, MLED_S3_ENDPOINT_URL and the AWS credentials.",
            ) from err
        return BlobStore(fs, bucket_path, uri=self.uri, local=False)
