"""The descriptor pool flagd's generated messages are built in.

OpenFeature's flagd providers ship their own generated ``flagd.*`` messages, registered in protobuf's
default pool under other file names; a second copy there fails to load ("duplicate symbol"). Kept apart
here, the daemon's copy and a provider's live in one process (a test, or an application embedding both).
``google.protobuf.Struct`` is the only dependency the schemas import.
"""

from __future__ import annotations

from google.protobuf import descriptor_pool, struct_pb2

POOL = descriptor_pool.DescriptorPool()
POOL.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
