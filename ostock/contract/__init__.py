"""The Avro contract: schemas loaded from schemas/ and the single-object codec."""

from ostock.contract.codec import Codec, Record, UndecodableRecord
from ostock.contract.schemas import SchemaSet, load_schemas

__all__ = ["Codec", "Record", "SchemaSet", "UndecodableRecord", "load_schemas"]
