"""Artifacts, dataset versions and the model registry: the bytes and the records about them.

- :mod:`mled.artifacts.entities`: the domain objects (``Artifact``, ``DatasetVersion``,
  ``ModelVersion``, ``LineageNode``, ``IntegrityReport`` ...).
- :mod:`mled.artifacts.blobstore`: the content-addressed blob store over fsspec (a local
  folder or S3), where bytes are stored once per SHA-256 digest.
- :mod:`mled.artifacts.config`: where the blob store is (``MLED_ARTIFACTS_URI``,
  ``MLED_S3_ENDPOINT_URL``).
- :mod:`mled.artifacts.files`: client-side reading of files and folders (chunks, hashing,
  manifests, symlink refusal).
- :mod:`mled.artifacts.transfer`: the SDK side of uploads and downloads over a backend.

Logical paths are normalized and confined by :mod:`mled.paths`.

Importing this package is cheap; fsspec and s3fs are imported only when a store is opened.
"""
