"""The Avro contract: schemas loaded from schemas/, the records as types, the
single-object codec and the port it asks for writer schemas it does not ship."""

from ostock.contract.codec import Codec
from ostock.contract.records import Record, UndecodableRecord
from ostock.contract.registry import SchemaLookup
from ostock.contract.schemas import SchemaSet, load_schemas

__all__ = ["Codec", "Record", "SchemaLookup", "SchemaSet", "UndecodableRecord", "load_schemas"]
